package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/httpapi"
	"github.com/paymon/paymon/internal/metrics"
	"github.com/paymon/paymon/internal/realtime"
	"github.com/paymon/paymon/internal/store/sqlite"
)

// streamEnv is the real HTTP handler over a real SQLite store, with a hub
// on an in-process bus, served on loopback.
type streamEnv struct {
	t    *testing.T
	srv  *httptest.Server
	hub  *realtime.Hub
	db   *sqlite.DB
	keys map[auth.Role]string
}

// streamSecret signs the stream tests' access tokens.
const streamSecret = "test-secret-test-secret-test-secret"

func newStreamEnv(t *testing.T, opt realtime.Options) *streamEnv {
	t.Helper()
	return newStreamEnvWith(t, opt, httpapi.StreamConfig{})
}

// newStreamEnvWith sets the transport's knobs too (Hub is filled in).
func newStreamEnvWith(t *testing.T, opt realtime.Options, cfg httpapi.StreamConfig) *streamEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "paymon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	authSvc, err := auth.NewService(ctx, db, streamSecret, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bus := realtime.NewLocalBus()
	hub, err := realtime.NewHub(ctx, bus, opt)
	if err != nil {
		t.Fatal(err)
	}
	e := &streamEnv{t: t, hub: hub, db: db, keys: map[auth.Role]string{}}
	for _, role := range []auth.Role{auth.RoleAdmin, auth.RoleViewer, auth.RoleIngest} {
		_, secret, err := authSvc.CreateAPIKey(ctx, "test "+string(role), role, "test")
		if err != nil {
			t.Fatal(err)
		}
		e.keys[role] = secret
	}
	cfg.Hub = hub
	e.srv = httptest.NewServer(httpapi.New(httpapi.Deps{Auth: authSvc, Streams: cfg}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
		e.srv.CloseClientConnections()
		e.srv.Close()
		_ = bus.Close()
	})
	return e
}

func (e *streamEnv) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/api/v1/stream" + query
}

// dial opens a WebSocket with the role's token in the header.
func (e *streamEnv) dial(role auth.Role) *wsConn {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, e.wsURL(""), &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + e.keys[role]}}})
	if err != nil {
		e.t.Fatalf("dial as %s: %v (%v)", role, err, resp)
	}
	c.SetReadLimit(1 << 20)
	e.t.Cleanup(func() { _ = c.CloseNow() })
	return &wsConn{t: e.t, c: c}
}

// dialSmallBuffer dials with a 4 KiB socket receive buffer, which turns
// off the kernel's receive autotuning (up to 32 MiB here) so that a
// client that stops reading backs the server up quickly.
func (e *streamEnv) dialSmallBuffer(role auth.Role) *wsConn {
	e.t.Helper()
	dialer := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	var slowConn atomic.Int64
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		slowConn.Add(1)
		return dialer.DialContext(ctx, network, addr)
	}}
	e.t.Cleanup(tr.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, e.wsURL(""), &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: tr},
		HTTPHeader: http.Header{"Authorization": {"Bearer " + e.keys[role]}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if slowConn.Load() != 1 {
		e.t.Fatal("the small-buffer dialer was not used")
	}
	c.SetReadLimit(1 << 20)
	e.t.Cleanup(func() { _ = c.CloseNow() })
	return &wsConn{t: e.t, c: c}
}

func (e *streamEnv) publishLog(level, service, msg string) string {
	e.t.Helper()
	if err := e.hub.PublishLog(context.Background(), level, service, map[string]string{"level": level, "service": service, "message": msg}); err != nil {
		e.t.Fatal(err)
	}
	return msg
}

type wsConn struct {
	t *testing.T
	c *websocket.Conn
}

type frame struct {
	Type    string          `json:"type"`
	Topic   string          `json:"topic"`
	ID      string          `json:"id"`
	Event   string          `json:"event"`
	Data    json.RawMessage `json:"data"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
}

func (w *wsConn) send(v any) {
	w.t.Helper()
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	default:
		b, _ = json.Marshal(v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatalf("send: %v", err)
	}
}

func (w *wsConn) next() frame {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := w.c.Read(ctx)
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		w.t.Fatalf("frame %s: %v", b, err)
	}
	return f
}

func (w *wsConn) expect(typ, code string) frame {
	w.t.Helper()
	f := w.next()
	if f.Type != typ || f.Code != code {
		w.t.Fatalf("got frame %+v, want type %q code %q", f, typ, code)
	}
	return f
}

func (w *wsConn) subscribe(topic string, extra map[string]any) {
	w.t.Helper()
	m := map[string]any{"type": "subscribe", "topic": topic}
	for k, v := range extra {
		m[k] = v
	}
	w.send(m)
	if f := w.expect("subscribed", ""); f.Topic != topic {
		w.t.Fatalf("subscribed to %q, want %q", f.Topic, topic)
	}
}

// messages reads events until the one whose data.message is stop.
func (w *wsConn) messagesUntil(stop string) []string {
	w.t.Helper()
	var out []string
	for {
		f := w.expect("event", "")
		var d struct{ Message string }
		_ = json.Unmarshal(f.Data, &d)
		if d.Message == stop {
			return out
		}
		out = append(out, d.Message)
	}
}

func TestStreamAuth(t *testing.T) {
	e := newStreamEnv(t, realtime.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		url  string
		hdr  http.Header
		want int
	}{
		{"no token", e.wsURL(""), nil, 401},
		{"bad token", e.wsURL(""), http.Header{"Authorization": {"Bearer nope"}}, 401},
		{"bad query token", e.wsURL("?access_token=nope"), nil, 401},
		{"foreign origin", e.wsURL("?access_token=" + e.keys[auth.RoleViewer]), http.Header{"Origin": {"https://evil.example"}}, 403},
	} {
		_, resp, err := websocket.Dial(ctx, tc.url, &websocket.DialOptions{HTTPHeader: tc.hdr})
		if err == nil || resp == nil || resp.StatusCode != tc.want {
			t.Errorf("%s: err %v, resp %v; want HTTP %d", tc.name, err, resp, tc.want)
		}
	}

	// A browser passes the token in the query; a viewer reads payments.
	c, _, err := websocket.Dial(ctx, e.wsURL("?access_token="+e.keys[auth.RoleViewer]), &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {e.srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	viewer := &wsConn{t: t, c: c}
	viewer.subscribe("payments", nil)

	// The ingest role reads nothing: every subscribe is refused, and the
	// connection stays usable.
	ingest := e.dial(auth.RoleIngest)
	for _, topic := range []string{"payments", "logs", "alerts"} {
		ingest.send(map[string]string{"type": "subscribe", "topic": topic})
		if f := ingest.expect("error", "forbidden"); f.Topic != topic {
			t.Errorf("forbidden frame names topic %q, want %q", f.Topic, topic)
		}
	}
	ingest.send(map[string]string{"type": "unsubscribe", "topic": "logs"})
	ingest.expect("unsubscribed", "")

	// Not an upgrade: the error envelope, not a bare text.
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+e.keys[auth.RoleViewer])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired || !strings.Contains(string(body), `"upgrade_required"`) {
		t.Errorf("plain GET: %d %s", resp.StatusCode, body)
	}
}

func TestStreamFilters(t *testing.T) {
	e := newStreamEnv(t, realtime.Options{})
	errs := e.dial(auth.RoleViewer)
	errs.subscribe("logs", map[string]any{"filter": map[string]any{"levels": []string{"error", "fatal"}, "service": "checkout"}})
	all := e.dial(auth.RoleViewer)
	all.subscribe("logs", nil)
	failed := e.dial(auth.RoleAdmin)
	failed.subscribe("payments", map[string]any{"filter": map[string]any{"status": "failed"}})

	e.publishLog("error", "checkout", "e1")
	e.publishLog("info", "checkout", "i1")
	e.publishLog("error", "billing", "e2")
	e.publishLog("fatal", "checkout", "f1")
	e.publishLog("warn", "checkout", "w1")
	e.publishLog("fatal", "checkout", "stop")
	for _, st := range []string{"succeeded", "failed", "pending"} {
		if err := e.hub.Publish(context.Background(), realtime.TopicPayments, realtime.PaymentUpdated, map[string]string{"status": st}, realtime.Attrs{Status: st, Provider: "simulator"}); err != nil {
			t.Fatal(err)
		}
	}

	if got := strings.Join(errs.messagesUntil("stop"), ","); got != "e1,f1" {
		t.Errorf("error/fatal of checkout: got %s, want e1,f1", got)
	}
	if got := strings.Join(all.messagesUntil("stop"), ","); got != "e1,i1,e2,f1,w1" {
		t.Errorf("all logs: got %s", got)
	}
	f := failed.expect("event", "")
	if f.Event != "payment.updated" || !strings.Contains(string(f.Data), `"failed"`) {
		t.Errorf("failed-payments subscriber got %+v", f)
	}
	// The next thing it sees is not a payment of another status.
	e.publishLog("info", "x", "nothing for payments")
	if err := e.hub.Publish(context.Background(), realtime.TopicPayments, realtime.PaymentUpdated, map[string]string{"status": "failed", "n": "2"}, realtime.Attrs{Status: "failed"}); err != nil {
		t.Fatal(err)
	}
	if f := failed.expect("event", ""); !strings.Contains(string(f.Data), `"n":"2"`) {
		t.Errorf("expected the second failed payment, got %s", f.Data)
	}
}

func TestStreamReplaySince(t *testing.T) {
	e := newStreamEnv(t, realtime.Options{})
	first := e.dial(auth.RoleViewer)
	first.subscribe("logs", nil)
	for i := range 5 {
		e.publishLog("info", "svc", fmt.Sprint(i))
	}
	var ids []string
	for range 5 {
		ids = append(ids, first.expect("event", "").ID)
	}
	_ = first.c.Close(websocket.StatusNormalClosure, "bye")

	// Missed while disconnected.
	e.publishLog("info", "svc", "5")
	e.publishLog("info", "svc", "6")

	again := e.dial(auth.RoleViewer)
	again.subscribe("logs", map[string]any{"since": ids[2]})
	e.publishLog("info", "svc", "7")
	e.publishLog("info", "svc", "stop")
	if got := strings.Join(again.messagesUntil("stop"), ","); got != "3,4,5,6,7" {
		t.Errorf("after since=event 2: got %s, want 3,4,5,6,7 (no gap, no duplicate)", got)
	}
}

func TestStreamReplayGap(t *testing.T) {
	e := newStreamEnv(t, realtime.Options{ReplaySize: 3})
	c := e.dial(auth.RoleViewer)
	c.subscribe("logs", nil)
	for i := range 6 {
		e.publishLog("info", "svc", fmt.Sprint(i))
	}
	old := c.expect("event", "").ID
	c.messagesUntil("5") // the rest of the first subscription
	c.send(map[string]any{"type": "subscribe", "topic": "logs", "since": old})
	c.expect("subscribed", "")
	if f := c.expect("error", "replay_gap"); f.Topic != "logs" {
		t.Errorf("replay_gap for topic %q", f.Topic)
	}
	e.publishLog("info", "svc", "live")
	e.publishLog("info", "svc", "stop")
	if got := strings.Join(c.messagesUntil("stop"), ","); got != "3,4,5,live" {
		t.Errorf("after the gap: got %s, want the buffered 3,4,5 then live", got)
	}
}

func TestStreamBadFramesKeepConnection(t *testing.T) {
	e := newStreamEnv(t, realtime.Options{})
	c := e.dial(auth.RoleViewer)
	for _, tc := range []struct {
		frame any
		code  string
	}{
		{"not json", "bad_frame"},
		{`{"type":"dance"}`, "bad_frame"},
		{`["subscribe"]`, "bad_frame"},
		{`{"type":"subscribe","topic":"weather"}`, "unknown_topic"},
		{`{"type":"subscribe","topic":"logs","filter":{"levels":["loud"]}}`, "invalid_filter"},
		{`{"type":"subscribe","topic":"logs","filter":{"level":"error"}}`, "invalid_filter"},
		{`{"type":"subscribe","topic":"payments","filter":{"levels":["error"]}}`, "invalid_filter"},
		{`{"type":"subscribe","topic":"logs","since":"evt_nope"}`, "invalid_since"},
	} {
		c.send(tc.frame)
		c.expect("error", tc.code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	c.expect("error", "bad_frame")

	c.subscribe("logs", nil)
	e.publishLog("info", "svc", "still alive")
	if got := c.messagesUntil("still alive"); len(got) != 0 {
		t.Errorf("unexpected events %v", got)
	}
	c.send(map[string]string{"type": "unsubscribe", "topic": "logs"})
	c.expect("unsubscribed", "")
	c.subscribe("alerts", nil)
	e.publishLog("info", "svc", "not for me")
	if err := e.hub.PublishAlert(context.Background(), realtime.AlertFired, map[string]string{"rule": "ErrorLogSpike"}); err != nil {
		t.Fatal(err)
	}
	if f := c.expect("event", ""); f.Event != "alert.fired" {
		t.Errorf("after unsubscribing logs got %+v", f)
	}
}

func TestStreamSlowClientCutOthersUnaffected(t *testing.T) {
	e := newStreamEnv(t, realtime.Options{QueueSize: 4})
	slow := e.dialSmallBuffer(auth.RoleViewer)
	slow.subscribe("logs", nil)
	fast := e.dial(auth.RoleViewer)
	fast.subscribe("logs", nil)
	dropped := metricValue(metrics.StreamDropped.WithLabelValues("slow"))

	// Events of 64 KiB, each read by the fast client before the next is
	// published, until the server cuts the client that reads nothing
	// (its socket buffers and its queue of 4 are full).
	big := strings.Repeat("x", 64<<10)
	cut := false
	for i := 0; i < 1000 && !cut; i++ {
		msg := fmt.Sprint(i)
		if err := e.hub.PublishLog(context.Background(), "info", "svc", map[string]string{"message": msg, "pad": big}); err != nil {
			t.Fatal(err)
		}
		f := fast.expect("event", "")
		var d struct{ Message string }
		if err := json.Unmarshal(f.Data, &d); err != nil || d.Message != msg {
			t.Fatalf("fast client got %q (%v), want %q", d.Message, err, msg)
		}
		cut = metricValue(metrics.StreamDropped.WithLabelValues("slow")) > dropped
	}
	if !cut {
		t.Fatal("the client that reads nothing was never cut")
	}
	// The slow client now reads: what was buffered, then the close frame.
	var err error
	for err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, _, err = slow.c.Read(ctx)
		cancel()
	}
	if s := websocket.CloseStatus(err); s != websocket.StatusPolicyViolation {
		t.Errorf("slow client closed with %v (%v), want 1008", s, err)
	}
	if d := metricValue(metrics.StreamDropped.WithLabelValues("slow")) - dropped; d != 1 {
		t.Errorf("paymon_stream_clients_dropped_total{reason=slow} grew by %v, want 1", d)
	}
	// The fast client carries on.
	e.publishLog("info", "svc", "after")
	if got := fast.messagesUntil("after"); len(got) != 0 {
		t.Errorf("fast client got %v", got)
	}
}

func TestStreamShutdownClosesOpenStreams(t *testing.T) {
	e := newStreamEnv(t, realtime.Options{})
	var clients []*wsConn
	for range 3 {
		c := e.dial(auth.RoleViewer)
		c.subscribe("payments", nil)
		clients = append(clients, c)
	}
	resp := e.sse("?topics=payments", "")
	defer resp.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := e.hub.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown did not finish: %v", err)
	}
	for i, c := range clients {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _, err := c.c.Read(ctx)
		cancel()
		if s := websocket.CloseStatus(err); s != websocket.StatusGoingAway {
			t.Errorf("client %d: %v, want close 1001", i, err)
		}
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Errorf("SSE body did not end cleanly: %v", err)
	}
	// New streams are refused while shutting down.
	r := e.sse("?topics=payments", "")
	r.Body.Close()
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("SSE after shutdown: %d", r.StatusCode)
	}
	// The HTTP server can now stop without waiting on streams.
	done := make(chan struct{})
	go func() { e.srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("httptest server Close hung on open streams")
	}
}

func (e *streamEnv) sse(query, lastEventID string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/stream/sse"+query, nil)
	req.Header.Set("Authorization", "Bearer "+e.keys[auth.RoleViewer])
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

type sseEvent struct{ id, event, data string }

// readSSE parses events from r onto a channel.
func readSSE(r io.Reader) <-chan sseEvent {
	ch := make(chan sseEvent, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.data != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return ch
}

func nextSSE(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("SSE stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no SSE event")
	}
	return sseEvent{}
}

func TestStreamSSE(t *testing.T) {
	e := newStreamEnv(t, realtime.Options{})
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"", 422},
		{"?topics=weather", 422},
		{"?topics=logs&levels=loud", 422},
		{"?topics=logs&since=nope", 422},
	} {
		r := e.sse(tc.query, "")
		r.Body.Close()
		if r.StatusCode != tc.want {
			t.Errorf("%q: %d, want %d", tc.query, r.StatusCode, tc.want)
		}
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/stream/sse?topics=logs", nil)
	req.Header.Set("Authorization", "Bearer "+e.keys[auth.RoleIngest])
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 403 {
		t.Errorf("ingest SSE: %v %v", r, err)
	} else {
		r.Body.Close()
	}

	before := metricValue(metrics.StreamClients.WithLabelValues("sse"))
	resp := e.sse("?topics=logs,alerts&levels=error,fatal&service=checkout", "")
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("SSE: %d %s", resp.StatusCode, ct)
	}
	events := readSSE(resp.Body)
	waitSubscribed(t, before)
	e.publishLog("info", "checkout", "skip")
	e.publishLog("error", "checkout", "e1")
	if err := e.hub.PublishAlert(context.Background(), realtime.AlertFired, map[string]string{"rule": "ErrorLogSpike"}); err != nil {
		t.Fatal(err)
	}
	e.publishLog("fatal", "checkout", "f1")

	first := nextSSE(t, events)
	var fr frame
	if err := json.Unmarshal([]byte(first.data), &fr); err != nil || first.event != "log.created" || fr.ID != first.id || !strings.Contains(string(fr.Data), `"e1"`) {
		t.Fatalf("first SSE event %+v (%v)", first, err)
	}
	if ev := nextSSE(t, events); ev.event != "alert.fired" {
		t.Errorf("second SSE event %+v", ev)
	}
	if ev := nextSSE(t, events); ev.event != "log.created" || !strings.Contains(ev.data, `"f1"`) {
		t.Errorf("third SSE event %+v", ev)
	}

	// An EventSource reconnecting sends Last-Event-ID: resume after e1.
	again := e.sse("?topics=logs,alerts&levels=error,fatal&service=checkout&since="+first.id, first.id)
	defer again.Body.Close()
	replayed := readSSE(again.Body)
	if ev := nextSSE(t, replayed); ev.event != "alert.fired" {
		t.Errorf("replay 1: %+v", ev)
	}
	if ev := nextSSE(t, replayed); !strings.Contains(ev.data, `"f1"`) {
		t.Errorf("replay 2: %+v", ev)
	}
}

// waitSubscribed waits until an SSE client is registered: SSE has no ack
// frame, and its first bytes are written once it is subscribed, but the
// response headers arrive before this test can tell. The stream_clients
// gauge is set after the subscription.
func waitSubscribed(t *testing.T, before float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for metricValue(metrics.StreamClients.WithLabelValues("sse")) < before+1 {
		if time.Now().After(deadline) {
			t.Fatal("SSE client never registered")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func metricValue(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

// TestStreamPingCutsUnresponsiveClient: a client that stops answering
// pings (it no longer reads, so it sends no pong) is disconnected, while
// one that reads stays.
func TestStreamPingCutsUnresponsiveClient(t *testing.T) {
	e := newStreamEnvWith(t, realtime.Options{}, httpapi.StreamConfig{PingInterval: 200 * time.Millisecond})
	before := metricValue(metrics.StreamDropped.WithLabelValues("error"))
	mute := e.dial(auth.RoleViewer)
	mute.subscribe("alerts", nil)
	live := e.dial(auth.RoleViewer)
	live.subscribe("alerts", nil)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _, err := live.c.Read(ctx) // answers pings while it waits
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for metricValue(metrics.StreamDropped.WithLabelValues("error")) < before+1 {
		if time.Now().After(deadline) {
			t.Fatal("the client that answers no ping was never cut")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := e.hub.PublishAlert(context.Background(), realtime.AlertFired, map[string]string{"rule": "X"}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("the responsive client lost its stream: %v", err)
	}
	// The mute client finds its connection gone once it reads again.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	for err == nil {
		_, _, err = mute.c.Read(ctx)
	}
	if ctx.Err() != nil {
		t.Errorf("the mute client's connection is still open: %v", err)
	}
}
