package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/logproto"
)

// esVersion is the Elasticsearch version Paymon claims: 8.x, so that
// Beats, Logstash, Fluent Bit and Vector use the typeless bulk API.
const esVersion = "8.9.0"

// esHeaders marks a response as Elasticsearch's: official clients (and
// Logstash) refuse a server without X-Elastic-Product.
func esHeaders(w http.ResponseWriter) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
}

// wantsESInfo says whether a request for / comes from an Elasticsearch
// client rather than a browser: every browser page load asks for
// text/html, no Elasticsearch client does.
func wantsESInfo(r *http.Request) bool {
	return r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		!strings.Contains(r.Header.Get("Accept"), "text/html")
}

// esRoot is the ping and version check shippers make first.
func (s *server) esRoot(w http.ResponseWriter, r *http.Request) {
	esHeaders(w)
	writeJSON(w, http.StatusOK, map[string]any{
		"name": "paymon", "cluster_name": "paymon", "cluster_uuid": "paymon",
		"version": map[string]any{"number": esVersion, "build_flavor": "default", "lucene_version": "9.7.0",
			"minimum_wire_compatibility_version": "7.17.0", "minimum_index_compatibility_version": "7.0.0"},
		"tagline": "You Know, for Search",
	})
}

// esLicense answers Beats' license check (they skip ILM setup on "basic").
func (s *server) esLicense(w http.ResponseWriter, r *http.Request) {
	esHeaders(w)
	writeJSON(w, http.StatusOK, map[string]any{"license": map[string]any{
		"uid": "paymon", "type": "basic", "status": "active", "expiry_date_in_millis": int64(4_000_000_000_000)}})
}

// esNodes answers node discovery with no nodes to sniff: clients keep
// the address they were given.
func (s *server) esNodes(w http.ResponseWriter, r *http.Request) {
	esHeaders(w)
	writeJSON(w, http.StatusOK, map[string]any{"_nodes": map[string]int{"total": 0, "successful": 0, "failed": 0},
		"cluster_name": "paymon", "nodes": map[string]any{}})
}

// esHealth answers rsyslog omelasticsearch's health check.
func (s *server) esHealth(w http.ResponseWriter, r *http.Request) {
	esHeaders(w)
	if r.URL.Query().Get("format") == "json" {
		writeJSON(w, http.StatusOK, []map[string]string{{"cluster": "paymon", "status": "green"}})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	_, _ = w.Write([]byte("paymon green\n"))
}

// esSetup answers index-template, ILM-policy and ingest-pipeline calls
// harmlessly: Paymon has no indices to configure. A read says the thing
// exists (so shippers do not try to create it), a write is acknowledged.
func (s *server) esSetup(w http.ResponseWriter, r *http.Request) {
	esHeaders(w)
	if r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"acknowledged": true})
}

type esItemResult struct {
	Index   string         `json:"_index"`
	ID      string         `json:"_id,omitempty"`
	Version int            `json:"_version,omitempty"`
	Result  string         `json:"result,omitempty"`
	Shards  map[string]int `json:"_shards,omitempty"`
	Status  int            `json:"status"`
	Error   *esError       `json:"error,omitempty"`
}

type esError struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// esBulk takes the bulk API (POST /_bulk, POST /{index}/_bulk) and answers
// per item in Elasticsearch's shape: 201 for each stored document, 400
// with the reason for each refused one.
func (s *server) esBulk(w http.ResponseWriter, r *http.Request) {
	esHeaders(w)
	if !s.logsEnabled(w, r) {
		return
	}
	start := time.Now()
	body, release, err := s.readIngestBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer release()
	o := s.esOptions(r)
	res, err := logproto.DecodeBulk(body, o)
	if err != nil {
		s.writeError(w, r, pushDecodeErr(err))
		return
	}
	if err := s.Logs.IngestFrom(r.Context(), logbook.FormatElastic, entrySource(principal(r.Context())), res.Entries); err != nil {
		s.writeError(w, r, err)
		return
	}
	items := make([]map[string]esItemResult, len(res.Items))
	for i, it := range res.Items {
		out := esItemResult{Index: it.Index, Status: it.Status}
		if it.Entry >= 0 {
			out.ID, out.Version, out.Result = res.Entries[it.Entry].ID, 1, "created"
			out.Shards = map[string]int{"total": 1, "successful": 1, "failed": 0}
		} else {
			out.Error = &esError{Type: it.ErrType, Reason: it.Reason}
		}
		items[i] = map[string]esItemResult{it.Action: out}
	}
	b, err := json.Marshal(map[string]any{"took": time.Since(start).Milliseconds(), "errors": res.Rejected > 0, "items": items})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, b)
}

// esOptions are the conversion options of a bulk or document request:
// the URL's index and the field overrides of its query.
func (s *server) esOptions(r *http.Request) logproto.ESOptions {
	q := r.URL.Query()
	return logproto.ESOptions{Options: s.pushOptions(), Index: r.PathValue("index"), Fields: logproto.ESFields{
		MessageFields: fieldsParam(q["_msg_field"], q["message_field"]),
		TimeFields:    fieldsParam(q["_time_field"], q["time_field"]),
		LevelFields:   fieldsParam(q["level_field"]),
		ServiceFields: fieldsParam(q["service_field"]),
		Service:       q.Get("service"),
	}}
}

// fieldsParam reads field-name overrides: repeated or comma-separated.
func fieldsParam(lists ...[]string) []string {
	var out []string
	for _, vs := range lists {
		for _, v := range vs {
			for _, f := range strings.Split(v, ",") {
				if f = strings.TrimSpace(f); f != "" {
					out = append(out, f)
				}
			}
		}
	}
	return out
}

// esDoc takes one document (POST /{index}/_doc), what omelasticsearch
// sends when bulk mode is off; it answers as Elasticsearch's index API.
func (s *server) esDoc(w http.ResponseWriter, r *http.Request) {
	esHeaders(w)
	if !s.logsEnabled(w, r) {
		return
	}
	body, release, err := s.readIngestBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer release()
	doc := bytes.TrimSpace(body)
	if bytes.IndexByte(doc, '\n') >= 0 {
		// Compact it: a bulk document is one line.
		var buf bytes.Buffer
		if err := json.Compact(&buf, doc); err != nil {
			s.writeError(w, r, errBadRequest("malformed_log", "the document is not JSON"))
			return
		}
		doc = buf.Bytes()
	}
	o := s.esOptions(r)
	res, err := logproto.DecodeBulk(append([]byte("{\"index\":{}}\n"), doc...), o)
	if err != nil {
		s.writeError(w, r, pushDecodeErr(err))
		return
	}
	if err := s.Logs.IngestFrom(r.Context(), logbook.FormatElastic, entrySource(principal(r.Context())), res.Entries); err != nil {
		s.writeError(w, r, err)
		return
	}
	it := res.Items[0]
	if it.Entry < 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": esError{Type: it.ErrType, Reason: it.Reason}, "status": http.StatusBadRequest})
		return
	}
	writeJSON(w, http.StatusCreated, esItemResult{Index: it.Index, ID: res.Entries[it.Entry].ID, Version: 1, Result: "created",
		Shards: map[string]int{"total": 1, "successful": 1, "failed": 0}, Status: http.StatusCreated})
}
