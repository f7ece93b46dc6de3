package httpapi

import (
	"bytes"
	"net/http"

	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/logproto"
)

// lokiPush takes Loki's push API: protobuf + snappy (the default of every
// Loki client) or JSON. Good lines are stored; 204 when all were, else 400
// naming the refused ones (as Loki does: clients do not retry a 400, and
// the good lines are already in).
func (s *server) lokiPush(w http.ResponseWriter, r *http.Request) {
	if !s.logsEnabled(w, r) {
		return
	}
	body, release, err := s.readIngestBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer release()
	o := logproto.LokiOptions{Options: s.pushOptions(), Tenant: r.Header.Get("X-Scope-OrgID")}
	var res *logproto.Result
	switch mt := mediaType(r); {
	case mt == "application/json", mt == "" && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")):
		res, err = logproto.DecodeLokiJSON(body, o)
	case mt == "" || mt == "application/x-protobuf" || mt == "application/octet-stream":
		res, err = logproto.DecodeLokiProtobuf(body, o)
	default:
		err = &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "Content-Type must be application/x-protobuf (snappy-compressed) or application/json, got " + mt}
	}
	if err != nil {
		s.writeError(w, r, pushDecodeErr(err))
		return
	}
	if err := s.ingestPushed(r.Context(), logbook.FormatLoki, res); err != nil {
		s.writeError(w, r, err)
		return
	}
	if res.Rejected > 0 {
		s.writeError(w, r, rejectedErr(res))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
