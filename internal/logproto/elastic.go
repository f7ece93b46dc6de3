package logproto

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/paymon/paymon/internal/logbook"
)

// ESFields override the field lookups per request (query parameters),
// as for POST /api/v1/logs.
type ESFields = logbook.DecodeOptions

// ESOptions are Options plus the per-request field overrides and the
// index named in the URL (/{index}/_bulk), the default of each action.
type ESOptions struct {
	Options
	Fields ESFields
	Index  string
}

// BulkItem is the outcome of one bulk action, in request order.
type BulkItem struct {
	Action string // index, create, delete, update
	Index  string
	// Entry is the position of its entry in Result.Entries, or -1 when
	// the item was refused (Status 400, ErrType and Reason set).
	Entry   int
	Status  int
	ErrType string
	Reason  string
}

// BulkResult is a Result plus the per-action outcomes.
type BulkResult struct {
	Result
	Items []BulkItem
}

// DecodeBulk reads an Elasticsearch bulk body: NDJSON pairs of an action
// line ({"index":{…}} or {"create":{…}}) and a document. delete and update
// are answered as per-item errors (Paymon takes new documents only). An
// action line that is not JSON stops the request, as in Elasticsearch,
// since what follows it cannot be paired reliably.
func DecodeBulk(body []byte, o ESOptions) (*BulkResult, error) {
	res := &BulkResult{}
	lineNo := 0
	next := func() ([]byte, bool) {
		for len(body) > 0 {
			var line []byte
			if i := bytes.IndexByte(body, '\n'); i >= 0 {
				line, body = body[:i], body[i+1:]
			} else {
				line, body = body, nil
			}
			lineNo++
			if line = bytes.TrimSpace(line); len(line) > 0 {
				return line, true
			}
		}
		return nil, false
	}
	// Documents are decoded together by the lenient decoder of
	// POST /api/v1/logs (the same aliases: @timestamp, message, log.level,
	// service.name…), one per line; docItem maps each back to its item.
	var docs []byte
	var docItem []int
	for {
		line, ok := next()
		if !ok {
			break
		}
		action, meta, err := bulkAction(line)
		if err != nil {
			return nil, malformed("line %d: %v", lineNo, err)
		}
		if len(res.Items) >= o.Limits.MaxEntries {
			return nil, tooMany(len(res.Items)+1, o.Limits)
		}
		it := BulkItem{Action: action, Index: meta.Index, Entry: -1, Status: 400}
		if it.Index == "" {
			it.Index = o.Index
		}
		var src []byte
		if action != "delete" {
			if src, ok = next(); !ok {
				return nil, malformed("line %d: the %s action has no document after it", lineNo, action)
			}
		}
		switch {
		case action == "delete" || action == "update":
			it.ErrType, it.Reason = "illegal_argument_exception", "Paymon stores new log documents only; "+action+" is not supported"
		case len(src) > o.Limits.MaxEntryBytes:
			it.ErrType, it.Reason = "document_too_large_exception", fmt.Sprintf("the document is larger than %d bytes", o.Limits.MaxEntryBytes)
		case src[0] != '{':
			it.ErrType, it.Reason = "mapper_parsing_exception", "the document must be a JSON object"
		default:
			docs = append(append(docs, src...), '\n')
			docItem = append(docItem, len(res.Items))
			it.Status = 0 // decided below
		}
		res.Items = append(res.Items, it)
	}
	if err := decodeDocs(res, docs, docItem, &o); err != nil {
		return nil, err
	}
	for i := range res.Items {
		if it := &res.Items[i]; it.Status != 201 {
			res.reject(i+1, it.Reason)
		}
	}
	return res, nil
}

// decodeDocs decodes the documents and settles their items. When more
// were refused than a batch lists, which ones is not known, so the
// documents are decoded again one by one.
func decodeDocs(res *BulkResult, docs []byte, docItem []int, o *ESOptions) error {
	if len(docItem) == 0 {
		return nil
	}
	b, err := logbook.DecodeLines(docs, o.Now, o.Limits, o.Fields)
	if err != nil {
		return err
	}
	if b.Rejected > len(b.Errors) {
		return decodeDocsOneByOne(res, docs, docItem, o)
	}
	refused := make(map[int]string, len(b.Errors))
	for _, rj := range b.Errors {
		refused[rj.Entry] = rj.Reason
	}
	next := 0
	for n, idx := range docItem {
		it := &res.Items[idx]
		if reason, bad := refused[n+1]; bad {
			it.Status, it.ErrType, it.Reason = 400, "mapper_parsing_exception", reason
			continue
		}
		if next >= len(b.Entries) {
			return fmt.Errorf("cannot pair bulk documents with decoded entries: %d documents, %d entries, %d refused", len(docItem), len(b.Entries), b.Rejected)
		}
		it.Status, it.Entry = 201, len(res.Entries)
		res.Entries = append(res.Entries, b.Entries[next])
		next++
	}
	return nil
}

func decodeDocsOneByOne(res *BulkResult, docs []byte, docItem []int, o *ESOptions) error {
	for _, idx := range docItem {
		i := bytes.IndexByte(docs, '\n')
		doc := docs[:i]
		docs = docs[i+1:]
		it := &res.Items[idx]
		b, err := logbook.DecodeLines(doc, o.Now, o.Limits, o.Fields)
		switch {
		case err != nil:
			it.Status, it.ErrType, it.Reason = 400, "mapper_parsing_exception", err.Error()
		case len(b.Entries) == 1:
			it.Status, it.Entry = 201, len(res.Entries)
			res.Entries = append(res.Entries, b.Entries[0])
		case len(b.Errors) > 0:
			it.Status, it.ErrType, it.Reason = 400, "mapper_parsing_exception", b.Errors[0].Reason
		default:
			it.Status, it.ErrType, it.Reason = 400, "mapper_parsing_exception", "the document holds no log entry"
		}
	}
	return nil
}

type bulkMeta struct {
	Index string `json:"_index"`
}

func bulkAction(line []byte) (string, bulkMeta, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil || len(m) != 1 {
		return "", bulkMeta{}, fmt.Errorf(`malformed action line; expected {"index":{…}} or {"create":{…}}`)
	}
	for action, raw := range m {
		var meta bulkMeta
		switch action {
		case "index", "create", "delete", "update":
		default:
			return "", meta, fmt.Errorf("unknown bulk action %q; expected index, create, delete or update", clip(action))
		}
		if err := json.Unmarshal(raw, &meta); err != nil {
			return "", meta, fmt.Errorf("the %s action's metadata must be an object", action)
		}
		return action, meta, nil
	}
	panic("unreachable")
}
