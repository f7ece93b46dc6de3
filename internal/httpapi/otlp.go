package httpapi

import (
	"net/http"
	"strconv"

	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/logproto"
)

// otlpLogs takes OTLP/HTTP logs in protobuf or JSON and answers an
// ExportLogsServiceResponse in the request's encoding, with
// partial_success when some records were refused. A request where every
// record was refused is a 400.
func (s *server) otlpLogs(w http.ResponseWriter, r *http.Request) {
	if !s.logsEnabled(w, r) {
		return
	}
	mt := mediaType(r)
	asJSON := mt == "application/json"
	if !asJSON && mt != "application/x-protobuf" && mt != "" {
		s.writeError(w, r, &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "Content-Type must be application/x-protobuf or application/json, got " + mt})
		return
	}
	body, release, err := s.readIngestBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer release()
	var res *logproto.Result
	if asJSON {
		res, err = logproto.DecodeOTLPJSON(body, s.pushOptions())
	} else {
		res, err = logproto.DecodeOTLPProtobuf(body, s.pushOptions())
	}
	if err != nil {
		s.writeError(w, r, pushDecodeErr(err))
		return
	}
	if err := s.ingestPushed(r.Context(), logbook.FormatOTLP, res); err != nil {
		s.writeError(w, r, err)
		return
	}
	out := logproto.OTLPResponse(res, asJSON)
	if asJSON {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "application/x-protobuf")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}
