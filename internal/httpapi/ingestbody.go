package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/logproto"
)

// ingestBufPool recycles push-body buffers: decoders copy what they keep,
// so a buffer is free again once decoding returns.
var ingestBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// isIngestRequest says whether r is a push route that set their own body limit
// (Limits.MaxBody, larger than the API's): limitBody leaves them alone.
func isIngestRequest(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	switch p := r.URL.Path; p {
	case "/api/v1/logs", "/loki/api/v1/push", "/v1/logs", "/_bulk":
		return true
	default:
		return strings.HasSuffix(p, "/_bulk") || strings.HasSuffix(p, "/_doc")
	}
}

// readIngestBody reads a push request's body, decompressed (gzip or zstd
// Content-Encoding), into a pooled buffer, refusing more than
// Limits.MaxBody bytes compressed or decompressed. The bytes are valid
// until release is called; decoders copy what they keep.
func (s *server) readIngestBody(w http.ResponseWriter, r *http.Request) (body []byte, release func(), err error) {
	lim := s.Logs.Limits()
	r.Body = http.MaxBytesReader(w, r.Body, lim.MaxBody)
	var src io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, nil, bodyReadErr(err, "the body is not valid gzip")
		}
		defer zr.Close()
		src = zr
	case "zstd":
		zr, err := zstd.NewReader(r.Body, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(lim.MaxBody)))
		if err != nil {
			return nil, nil, bodyReadErr(err, "the body is not valid zstd")
		}
		defer zr.Close()
		src = zr
	default:
		return nil, nil, &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_encoding",
			Message: "Content-Encoding must be gzip, zstd or absent, got " + enc}
	}
	buf := ingestBufPool.Get().(*bytes.Buffer)
	release = func() {
		if buf.Cap() <= 2*int(lim.MaxBody) {
			buf.Reset()
			ingestBufPool.Put(buf)
		}
	}
	buf.Reset()
	if r.ContentLength > 0 && r.ContentLength <= lim.MaxBody {
		buf.Grow(int(r.ContentLength))
	}
	// One byte past the limit tells "exactly at" from "over": a zip bomb
	// stops after MaxBody+1 decompressed bytes.
	if _, err := buf.ReadFrom(io.LimitReader(src, lim.MaxBody+1)); err != nil {
		release()
		return nil, nil, bodyReadErr(err, "cannot read the request body")
	}
	if int64(buf.Len()) > lim.MaxBody {
		release()
		return nil, nil, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
			Message: fmt.Sprintf("the decompressed body exceeds %d bytes; split the batch", lim.MaxBody)}
	}
	return buf.Bytes(), release, nil
}

func bodyReadErr(err error, msg string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return errBadRequest("unreadable_body", msg)
}

// pushOptions are the conversion options of a request received now.
func (s *server) pushOptions() logproto.Options {
	return logproto.Options{Now: s.Logs.Now(), Limits: s.Logs.Limits()}
}

// pushDecodeErr turns a body-level decode failure into the envelope.
func pushDecodeErr(err error) error {
	var de *logbook.DecodeError
	if !errors.As(err, &de) {
		return err
	}
	if de.Kind == logbook.TooLarge {
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: de.Error()}
	}
	return errBadRequest("malformed_log", de.Error())
}

// ingestPushed stores the accepted entries of a push. It returns an
// error for the client when nothing could be stored although items were
// sent, so that a request of only bad items is not answered as a success.
func (s *server) ingestPushed(ctx context.Context, format string, res *logproto.Result) error {
	if len(res.Entries) == 0 && res.Rejected > 0 {
		return rejectedErr(res)
	}
	return s.Logs.IngestFrom(ctx, format, entrySource(principal(ctx)), res.Entries)
}

// rejectedErr is the 400 for a push whose items were (all or partly)
// refused; details say how many were stored.
func rejectedErr(res *logproto.Result) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "invalid_log", Message: res.Summary(),
		Details: map[string]any{"accepted": len(res.Entries), "rejected": res.Rejected, "errors": res.Errors}}
}

// mediaType is the request's Content-Type without parameters, lowercased.
func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Type")))
	}
	return mt
}
