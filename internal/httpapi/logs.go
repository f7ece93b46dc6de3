package httpapi

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/logbook"
)

// bodyPool recycles ingest buffers: decoded entries copy what they keep,
// so a buffer is free again once Decode returns.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ingestLogs answers 201 {"accepted":N} once every entry is durably
// stored (201, not 202: nothing is left to do when it answers). A batch
// is all-or-nothing: the first bad entry refuses it, naming its line.
func (s *server) ingestLogs(w http.ResponseWriter, r *http.Request) {
	if !s.logsEnabled(w, r) {
		return
	}
	lim := s.Logs.Limits()
	// The compressed body may not exceed the decompressed limit either.
	r.Body = http.MaxBytesReader(w, r.Body, lim.MaxBody)
	var src io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			s.writeError(w, r, bodyErr(err, "the body is not valid gzip"))
			return
		}
		defer zr.Close()
		src = zr
	default:
		s.writeError(w, r, &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_encoding",
			Message: "Content-Encoding must be gzip or absent, got " + enc})
		return
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 2*int(lim.MaxBody) {
			buf.Reset()
			bodyPool.Put(buf)
		}
	}()
	buf.Reset()
	if r.ContentLength > 0 && r.ContentLength <= lim.MaxBody {
		buf.Grow(int(r.ContentLength))
	}
	// Read one byte past the limit to tell "exactly at" from "over": a
	// zip bomb stops here, after MaxBody+1 decompressed bytes.
	if _, err := buf.ReadFrom(io.LimitReader(src, lim.MaxBody+1)); err != nil {
		s.writeError(w, r, bodyErr(err, "cannot read the request body"))
		return
	}
	if int64(buf.Len()) > lim.MaxBody {
		s.writeError(w, r, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
			Message: fmt.Sprintf("the decompressed body exceeds %d bytes; split the batch", lim.MaxBody)})
		return
	}
	entries, err := logbook.Decode(buf.Bytes(), s.Logs.Now(), lim)
	if err != nil {
		s.writeError(w, r, decodeErr(err))
		return
	}
	if err := s.Logs.IngestFrom(r.Context(), logbook.FormatJSON, entrySource(principal(r.Context())), entries); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int{"accepted": len(entries)})
}

func bodyErr(err error, msg string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return errBadRequest("unreadable_body", msg)
}

func decodeErr(err error) error {
	var de *logbook.DecodeError
	if !errors.As(err, &de) {
		return err
	}
	ae := &apiError{Message: de.Error()}
	switch de.Kind {
	case logbook.Malformed:
		ae.Status, ae.Code = http.StatusBadRequest, "malformed_log"
	case logbook.TooLarge:
		ae.Status, ae.Code = http.StatusRequestEntityTooLarge, "too_large"
	default:
		ae.Status, ae.Code = http.StatusUnprocessableEntity, "invalid_log"
	}
	if de.Line > 0 {
		d := map[string]any{"line": de.Line, "entry": de.Entry}
		if de.Field != "" {
			d["field"] = de.Field
		}
		ae.Details = d
	}
	return ae
}

func levelsParam(r *http.Request) ([]logbook.Level, error) {
	var out []logbook.Level
	for _, v := range r.URL.Query()["level"] {
		for _, l := range strings.Split(v, ",") {
			lv := logbook.Level(strings.TrimSpace(l))
			if lv == "" {
				continue
			}
			if !lv.Valid() {
				return nil, errBadRequest("invalid_parameter", "level must be debug, info, warn, error or fatal (comma-separated for several)")
			}
			out = append(out, lv)
		}
	}
	return out, nil
}

func writeEntries(w http.ResponseWriter, es []logbook.Entry, hasMore bool) {
	if es == nil {
		es = []logbook.Entry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": es, "has_more": hasMore})
}

// logsEnabled answers 404 when this server was built without a log
// service (handler tests of other resources), instead of panicking.
func (s *server) logsEnabled(w http.ResponseWriter, r *http.Request) bool {
	if s.Logs == nil {
		s.writeError(w, r, &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "log collection is not enabled on this server"})
		return false
	}
	return true
}

func (s *server) recentLogs(w http.ResponseWriter, r *http.Request) {
	if !s.logsEnabled(w, r) {
		return
	}
	n, err := intParam(r, "limit", 50, 1, logbook.MaxSearchLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	levels, err := levelsParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	es, source, err := s.Logs.Recent(r.Context(), n, levels)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("X-Paymon-Source", source)
	writeEntries(w, es, false)
}

func (s *server) searchLogs(w http.ResponseWriter, r *http.Request) {
	if !s.logsEnabled(w, r) {
		return
	}
	q := r.URL.Query()
	var f logbook.Filter
	var err error
	if f.Limit, err = intParam(r, "limit", 50, 1, logbook.MaxSearchLimit); err != nil {
		s.writeError(w, r, err)
		return
	}
	if f.Levels, err = levelsParam(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if f.From, err = timeParam(r, "from"); err != nil {
		s.writeError(w, r, err)
		return
	}
	if f.To, err = timeParam(r, "to"); err != nil {
		s.writeError(w, r, err)
		return
	}
	f.Service, f.Query, f.PaymentID, f.TraceID = q.Get("service"), q.Get("q"), q.Get("payment_id"), q.Get("trace_id")
	if len(f.Query) > 200 {
		s.writeError(w, r, errBadRequest("invalid_parameter", "q must be at most 200 characters"))
		return
	}
	if v := q.Get("starting_after"); v != "" {
		if !id.Valid("log", v) {
			s.writeError(w, r, errBadRequest("invalid_parameter", "starting_after must be a log entry id"))
			return
		}
		f.StartingAfter = v
	}
	es, more, err := s.Logs.Search(r.Context(), f)
	if err != nil {
		s.writeError(w, r, logsErr(err))
		return
	}
	writeEntries(w, es, more)
}

func (s *server) logStats(w http.ResponseWriter, r *http.Request) {
	if !s.logsEnabled(w, r) {
		return
	}
	var q logbook.StatsQuery
	var err error
	if q.From, err = timeParam(r, "from"); err != nil {
		s.writeError(w, r, err)
		return
	}
	if q.To, err = timeParam(r, "to"); err != nil {
		s.writeError(w, r, err)
		return
	}
	q.Service = r.URL.Query().Get("service")
	if v := r.URL.Query().Get("step"); v != "" {
		if q.Step, err = time.ParseDuration(v); err != nil {
			s.writeError(w, r, errBadRequest("invalid_parameter", "step must be a duration like 1m, 5m or 1h"))
			return
		}
	}
	st, err := s.Logs.Stats(r.Context(), q)
	if err != nil {
		s.writeError(w, r, logsErr(err))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func logsErr(err error) error {
	if errors.Is(err, logbook.ErrInvalidFilter) {
		return errBadRequest("invalid_parameter", strings.TrimPrefix(err.Error(), logbook.ErrInvalidFilter.Error()+": "))
	}
	return err
}
