package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/testenv"
)

// requestTimeout is the bound on any one answer: a request still waiting
// after it counts as a hang. It is far above every timeout Paymon applies
// to its dependencies (Redis 1–2 s, MongoDB server selection 3 s), so only
// a real hang reaches it.
const requestTimeout = 20 * time.Second

// reply is one answer, or the transport error that took its place.
type reply struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func (r reply) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	b := r.body
	if len(b) > 300 {
		b = b[:300]
	}
	return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(b))
}

// api sends requests to one Paymon from any goroutine (testenv.Paymon.Do
// fails the test on a transport error, which only the test's goroutine may
// do, and a refused connection is an expected answer right after kill -9).
type api struct {
	p  *testenv.Paymon
	hc *http.Client
}

func newAPI(p *testenv.Paymon) *api {
	// Enough idle connections for every client: the load measures
	// Paymon, not connection set-up.
	return &api{p: p, hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
}

// do sends one request; hdr is pairs of header name and value.
func (a *api) do(method, path, token string, body []byte, hdr ...string) reply {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.p.URL+path, rd)
	if err != nil {
		return reply{err: err}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s (a hang): %w", requestTimeout, err)
		}
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{err: fmt.Errorf("cannot read the answer to %s %s: %w", method, path, err)}
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// unavailableOK reports whether r is the documented answer of a route
// whose dependency is down: 503, Retry-After, the error envelope with code
// "unavailable".
func unavailableOK(r reply) error {
	if r.err != nil {
		return r.err
	}
	if r.status != http.StatusServiceUnavailable {
		return fmt.Errorf("want 503, got %s", r)
	}
	if r.header.Get("Retry-After") == "" {
		return fmt.Errorf("503 without Retry-After: %s", r)
	}
	var env struct {
		Error struct {
			Code      string `json:"code"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if json.Unmarshal(r.body, &env) != nil || env.Error.Code != "unavailable" || env.Error.RequestID == "" {
		return fmt.Errorf("503 without the error envelope (code unavailable, request id): %s", r)
	}
	return nil
}

// successOrUnavailable is what any request may get while a dependency
// goes down or comes back: an answer, either a success or the documented
// 503. A 500, another 5xx, a transport error or a hang never is.
func successOrUnavailable(r reply) error {
	if r.err == nil && r.status/100 == 2 {
		return nil
	}
	return unavailableOK(r)
}

// paymentBody is the create request of payment n: simulate=succeed makes
// the outcome known, so the stored status can be checked too.
func paymentBody(n int) []byte {
	return fmt.Appendf(nil, `{"amount":%d,"currency":"EUR","description":"fault suite","metadata":{"simulate":"succeed"}}`, 1000+n)
}

// createdPayment is a create that got a 2xx.
type createdPayment struct {
	key    string
	body   []byte // the request
	id     string
	status string
	amount int64
	answer []byte // the response, which a replay must repeat byte for byte
}

// create posts payment n under key; ok is false when the answer was not
// a 2xx.
func (a *api) create(token, key string, n int) (createdPayment, reply, bool) {
	body := paymentBody(n)
	r := a.do("POST", "/api/v1/payments", token, body, "Idempotency-Key", key)
	if r.err != nil || r.status/100 != 2 {
		return createdPayment{}, r, false
	}
	var p struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Amount int64  `json:"amount"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil || p.ID == "" {
		r.err = fmt.Errorf("a 2xx create without a payment id: %q", r.body)
		return createdPayment{}, r, false
	}
	return createdPayment{key: key, body: body, id: p.ID, status: p.Status, amount: p.Amount, answer: r.body}, r, true
}

// logService names the entries of one test, so a search by service finds
// exactly the lines that test sent.
func logService(test string) string { return "fault-" + strings.ToLower(test) }

// batch is one NDJSON request of lines, each with a marker no other line
// of the test run has: "<token> line <i>", where token is unique per batch
// and of fixed width, so searching for it finds this batch's lines only.
type batch struct {
	token string
	lines int
}

func (b batch) message(i int) string { return fmt.Sprintf("fault %s line %02d", b.token, i) }

func (b batch) ndjson(service string) []byte {
	var buf bytes.Buffer
	for i := range b.lines {
		fmt.Fprintf(&buf, `{"service":%q,"level":"info","message":%q,"attributes":{"marker":"%s-%02d"}}`+"\n", service, b.message(i), b.token, i)
	}
	return buf.Bytes()
}

// ingest posts b; ok is true when every line was accepted.
func (a *api) ingest(key, service string, b batch) (reply, bool) {
	r := a.do("POST", "/api/v1/logs", key, b.ndjson(service), "Content-Type", "application/x-ndjson")
	if r.err != nil || r.status/100 != 2 {
		return r, false
	}
	var out struct {
		Accepted int `json:"accepted"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil || out.Accepted != b.lines {
		r.err = fmt.Errorf("a 2xx ingest that did not accept all %d lines: %q", b.lines, r.body)
		return r, false
	}
	return r, true
}

// checkPayments fails the test for every acknowledged payment that is not
// found with the status and amount its 2xx announced.
func checkPayments(t *testing.T, a *api, token string, acked []createdPayment) {
	t.Helper()
	lost := 0
	for _, c := range acked {
		r := a.do("GET", "/api/v1/payments/"+c.id, token, nil)
		var p struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Amount int64  `json:"amount"`
		}
		if r.err != nil || r.status != http.StatusOK || json.Unmarshal(r.body, &p) != nil {
			lost++
			if lost <= 10 {
				t.Errorf("acknowledged payment %s (key %s) not found: %s", c.id, c.key, r)
			}
			continue
		}
		if p.ID != c.id || p.Status != c.status || p.Amount != c.amount {
			t.Errorf("payment %s: stored as %s %d, acknowledged as %s %d", c.id, p.Status, p.Amount, c.status, c.amount)
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged payments lost", lost, len(acked))
	}
}

// checkLines fails the test for every line of an acknowledged batch that a
// search by the test's service does not find, or finds twice (nothing
// retries an acknowledged batch, so each line is stored once). It returns
// how many times each message was found, for the callers' own checks.
func checkLines(t *testing.T, p *testenv.Paymon, token, service string, acked []batch) map[string]int {
	t.Helper()
	found := map[string]int{}
	for _, e := range p.SearchLogs(token, "service="+service) {
		msg, _ := e["message"].(string)
		found[msg]++
	}
	missing := 0
	for _, b := range acked {
		for i := range b.lines {
			switch n := found[b.message(i)]; {
			case n == 0:
				missing++
				if missing <= 10 {
					t.Errorf("line %q of an acknowledged batch not found", b.message(i))
				}
			case n > 1:
				t.Errorf("line %q stored %d times", b.message(i), n)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d lines of %d acknowledged batches lost", missing, len(acked))
	}
	return found
}

// sse is one open GET /api/v1/stream/sse, remembering the payment ids of
// the events it received.
type sse struct {
	mu     sync.Mutex
	ids    map[string]bool
	err    error
	cancel context.CancelFunc
	done   chan struct{}
}

// openSSE subscribes to the payments topic and returns once the stream
// answered 200; it is closed when the test ends.
func openSSE(t *testing.T, a *api, token string) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &sse{ids: map[string]bool{}, cancel: cancel, done: make(chan struct{})}
	req, err := http.NewRequestWithContext(ctx, "GET", a.p.URL+"/api/v1/stream/sse?topics=payments", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		cancel()
		t.Fatalf("cannot open the SSE stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("SSE stream: %d %s", resp.StatusCode, b)
	}
	go func() {
		defer close(s.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var f struct {
				Type string `json:"type"`
				Data struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			if json.Unmarshal([]byte(data), &f) == nil && f.Type == "event" && f.Data.ID != "" {
				s.mu.Lock()
				s.ids[f.Data.ID] = true
				s.mu.Unlock()
			}
		}
		s.mu.Lock()
		s.err = sc.Err()
		if s.err == nil {
			s.err = io.EOF
		}
		s.mu.Unlock()
	}()
	t.Cleanup(func() { cancel(); <-s.done })
	return s
}

// has reports whether the stream delivered an event of payment id, and
// why the stream ended if it did.
func (s *sse) has(id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id], s.err
}

// waitSSE waits up to d for the event of payment id.
func (s *sse) wait(id string, d time.Duration) (bool, error) {
	deadline := time.Now().Add(d)
	for {
		ok, err := s.has(id)
		if ok || err != nil || time.Now().After(deadline) {
			return ok, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// retryCreates retries, at once, the creates numbered ns under key(n):
// requests that got no 2xx, which may or may not have claimed their key.
// Each retry must succeed (and its payment is returned, to be checked
// with the others), or answer 409 with Retry-After while the first
// attempt's lease (30 s) runs; a duplicate waits up to 10 s for the first
// attempt before that 409, hence the retries in parallel.
func retryCreates(t *testing.T, a *api, token string, ns []int, key func(int) string) []createdPayment {
	t.Helper()
	var mu sync.Mutex
	var out []createdPayment
	inFlight := 0
	var wg sync.WaitGroup
	start := time.Now()
	for _, n := range ns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, r, ok := a.create(token, key(n), n)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case ok:
				out = append(out, c)
			case r.err == nil && r.status == http.StatusConflict && r.header.Get("Retry-After") != "":
				inFlight++
			default:
				t.Errorf("retry of key %s, which got no 2xx before: %s", key(n), r)
			}
		}()
	}
	wg.Wait()
	t.Logf("retried %d creates in %s: %d succeeded, %d still leased (409)", len(ns), time.Since(start).Round(time.Millisecond), len(out), inFlight)
	return out
}

// noPanic fails the test if Paymon's output so far shows a panic (a
// handler's panic is recovered into a 500, which the checks would see,
// but one in a background goroutine only shows here).
func noPanic(t *testing.T, p *testenv.Paymon) {
	t.Helper()
	if out := p.Output(); strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") && strings.Contains(out, "[running]") {
		t.Errorf("paymon panicked; output:\n%s", out)
	}
}
