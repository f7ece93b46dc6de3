package httpapi

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/logbook"
)

// bodyPool recycles ingest buffers: decoded entries copy what they keep,
// so a buffer is free again once Decode returns.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ingestLogs stores what a shipper sends and answers once the stored
// entries are durable. By default it is lenient (logbook.DecodeLines):
// good lines are stored and bad ones reported, 200
// {"accepted","rejected","errors"}, since shippers drop a whole batch
// answered with a 4xx and winston warns on anything but 200. A request
// where nothing could be stored is an error. ?strict=true is the
// all-or-nothing decoder that refuses unknown fields; its success is the
// same 200 answer with nothing rejected.
func (s *server) ingestLogs(w http.ResponseWriter, r *http.Request) {
	if !s.logsEnabled(w, r) {
		return
	}
	lim := s.Logs.Limits()
	opt, strict, err := ingestOptions(r, lim)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	buf, err := s.readLogBody(w, r, lim)
	if buf != nil {
		defer func() {
			if buf.Cap() <= 2*int(lim.MaxBody) {
				buf.Reset()
				bodyPool.Put(buf)
			}
		}()
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if strict {
		entries, err := logbook.Decode(buf.Bytes(), s.Logs.Now(), lim)
		if err != nil {
			s.writeError(w, r, decodeErr(err))
			return
		}
		if err := s.Logs.IngestFrom(r.Context(), logbook.FormatJSON, entrySource(principal(r.Context())), entries); err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, ingestAnswer{Accepted: len(entries), Errors: []lineError{}})
		return
	}
	b, err := logbook.DecodeLines(buf.Bytes(), s.Logs.Now(), lim, opt)
	if err != nil {
		s.writeError(w, r, decodeErr(err))
		return
	}
	if len(b.Entries) == 0 && b.Rejected > 0 {
		s.writeError(w, r, batchErr(b))
		return
	}
	if err := s.Logs.IngestFrom(r.Context(), logbook.FormatJSON, entrySource(principal(r.Context())), b.Entries); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ingestAnswer{Accepted: len(b.Entries), Rejected: b.Rejected, Errors: lineErrors(b)})
}

type lineError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

type ingestAnswer struct {
	Accepted int         `json:"accepted"`
	Rejected int         `json:"rejected"`
	Errors   []lineError `json:"errors"`
}

func lineErrors(b *logbook.Batch) []lineError {
	out := make([]lineError, len(b.Errors))
	for i, e := range b.Errors {
		out[i] = lineError{Line: e.Line, Reason: e.Reason}
	}
	return out
}

// batchErr is the answer when no entry of a lenient batch could be
// stored: 400 when none was JSON, 413 when every one was too large, 422
// otherwise; details name the first refused line, as strict errors do,
// and list the first ones.
func batchErr(b *logbook.Batch) error {
	first := b.Errors[0]
	ae := &apiError{Message: fmt.Sprintf("no entry could be stored (%d refused); line %d (entry %d): %s", b.Rejected, first.Line, first.Entry, first.Reason)}
	switch b.Kind() {
	case logbook.Malformed:
		ae.Status, ae.Code = http.StatusBadRequest, "malformed_log"
	case logbook.TooLarge:
		ae.Status, ae.Code = http.StatusRequestEntityTooLarge, "too_large"
	default:
		ae.Status, ae.Code = http.StatusUnprocessableEntity, "invalid_log"
	}
	d := map[string]any{"line": first.Line, "entry": first.Entry, "rejected": b.Rejected, "errors": lineErrors(b)}
	if first.Field != "" {
		d["field"] = first.Field
	}
	ae.Details = d
	return ae
}

// maxFieldNames bounds each *_field parameter's list of names.
const maxFieldNames = 8

// ingestOptions reads the query parameters of POST /api/v1/logs: strict,
// and the lenient decoder's overrides (message_field, time_field,
// level_field, service_field: comma-separated names, the first present
// wins; service: the service of entries that name none).
func ingestOptions(r *http.Request, lim logbook.Limits) (logbook.DecodeOptions, bool, error) {
	q := r.URL.Query()
	var opt logbook.DecodeOptions
	strict := false
	if v := q.Get("strict"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return opt, false, errBadRequest("invalid_parameter", "strict must be true or false")
		}
		strict = b
	}
	for _, f := range []struct {
		name string
		dst  *[]string
	}{{"message_field", &opt.MessageFields}, {"time_field", &opt.TimeFields}, {"level_field", &opt.LevelFields}, {"service_field", &opt.ServiceFields}} {
		v := q.Get(f.name)
		if v == "" {
			continue
		}
		for _, n := range strings.Split(v, ",") {
			n = strings.TrimSpace(n)
			if n == "" || len(n) > lim.MaxField || len(*f.dst) == maxFieldNames {
				return opt, false, errBadRequest("invalid_parameter", fmt.Sprintf("%s must be up to %d comma-separated field names of 1 to %d bytes", f.name, maxFieldNames, lim.MaxField))
			}
			*f.dst = append(*f.dst, n)
		}
	}
	if v := q.Get("service"); v != "" {
		if len(v) > lim.MaxField || strings.ContainsFunc(v, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			return opt, false, errBadRequest("invalid_parameter", fmt.Sprintf("service must be printable text of at most %d bytes", lim.MaxField))
		}
		opt.Service = v
	}
	if strict && (opt.MessageFields != nil || opt.TimeFields != nil || opt.LevelFields != nil || opt.ServiceFields != nil || opt.Service != "") {
		return opt, false, errBadRequest("invalid_parameter", "strict=true reads only the documented fields; drop message_field, time_field, level_field, service_field and service, or strict")
	}
	return opt, strict, nil
}

// readLogBody reads the (possibly gzip) body into a pooled buffer, within
// the decompressed size limit. The buffer, when not nil, is the caller's
// to return to the pool.
func (s *server) readLogBody(w http.ResponseWriter, r *http.Request, lim logbook.Limits) (*bytes.Buffer, error) {
	// The compressed body may not exceed the decompressed limit either.
	r.Body = http.MaxBytesReader(w, r.Body, lim.MaxBody)
	var src io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, bodyErr(err, "the body is not valid gzip")
		}
		defer zr.Close()
		src = zr
	default:
		return nil, &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_encoding",
			Message: "Content-Encoding must be gzip or absent, got " + enc}
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	if r.ContentLength > 0 && r.ContentLength <= lim.MaxBody {
		buf.Grow(int(r.ContentLength))
	}
	// Read one byte past the limit to tell "exactly at" from "over": a
	// zip bomb stops here, after MaxBody+1 decompressed bytes.
	if _, err := buf.ReadFrom(io.LimitReader(src, lim.MaxBody+1)); err != nil {
		return buf, bodyErr(err, "cannot read the request body")
	}
	if int64(buf.Len()) > lim.MaxBody {
		return buf, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
			Message: fmt.Sprintf("the decompressed body exceeds %d bytes; split the batch", lim.MaxBody)}
	}
	return buf, nil
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
