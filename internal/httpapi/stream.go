package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/metrics"
	"github.com/paymon/paymon/internal/realtime"
)

// StreamConfig is what the stream routes need. The per-client send queue
// is the hub's subscriber queue (realtime.Options.QueueSize).
type StreamConfig struct {
	Hub *realtime.Hub
	// PingInterval is how often the server pings a WebSocket client and
	// sends an SSE comment, so proxies keep the connection open (20s).
	PingInterval time.Duration
	// FlushInterval is the least time between two socket writes to one
	// WebSocket client (20ms). An event that finds the client idle goes
	// out at once; under a steady stream, events gather for up to this
	// long and leave in one write, which is what lets one instance feed a
	// thousand clients. Negative: no gathering.
	FlushInterval time.Duration
}

func (s *server) flushInterval() time.Duration {
	if s.Streams.FlushInterval == 0 {
		return 20 * time.Millisecond
	}
	return max(s.Streams.FlushInterval, 0)
}

const (
	// streamReadLimit caps one client frame; subscribe frames are tiny.
	streamReadLimit = 16 << 10
	// streamWriteTimeout bounds one SSE write; a WebSocket write is
	// bounded by the ping (a peer that does not answer is cut).
	streamWriteTimeout = 10 * time.Second
)

// topicPerm is the permission each topic needs: a role may only stream
// what it may read.
var topicPerm = map[realtime.Topic]auth.Permission{
	realtime.TopicPayments: auth.PaymentsRead,
	realtime.TopicLogs:     auth.LogsRead,
	realtime.TopicAlerts:   auth.AlertsRead,
}

func (s *server) pingInterval() time.Duration {
	if s.Streams.PingInterval > 0 {
		return s.Streams.PingInterval
	}
	return 20 * time.Second
}

// streamPrincipal authenticates a stream request like require does, but
// checks no permission: each topic is checked on its own.
func (s *server) streamPrincipal(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	tok := bearer(r)
	if tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="paymon"`)
		s.writeError(w, r, errUnauthenticated)
		return auth.Principal{}, false
	}
	p, err := s.Auth.Authenticate(r.Context(), tok)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="paymon", error="invalid_token"`)
		if ae := toAPIError(err); ae.Status >= 500 {
			s.writeError(w, r, err)
			return auth.Principal{}, false
		}
		s.writeError(w, r, errUnauthenticated)
		return auth.Principal{}, false
	}
	if s.Streams.Hub == nil {
		s.writeError(w, r, &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "streaming is not enabled on this server", RetryAfter: 30})
		return auth.Principal{}, false
	}
	return p, true
}

// errCredentialExpired ends a stream whose access token has expired: the
// token was checked once, at the upgrade, and must not keep a connection
// open past its lifetime. Clients reconnect with a fresh token.
var errCredentialExpired = errors.New("access token expired")

// errCredentialRevoked ends a stream whose credential was revoked (API
// key revoked; user disabled, deleted or given another role) on any
// instance.
var errCredentialRevoked = errors.New("credential revoked")

// credentialExpiry fires when p's credential stops being accepted; never
// for credentials without an expiry (API keys). Call stop when done.
func credentialExpiry(p auth.Principal) (expired <-chan time.Time, stop func()) {
	if p.Expires.IsZero() {
		return nil, func() {}
	}
	t := time.NewTimer(time.Until(p.Expires))
	return t.C, func() { t.Stop() }
}

// subscriberError answers a stream the hub would not take.
func subscriberError(err error) *apiError {
	if errors.Is(err, realtime.ErrFull) {
		return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "this instance has as many open streams as it accepts; retry later or on another instance", RetryAfter: 5}
	}
	return errStreamShuttingDown
}

var errStreamShuttingDown = &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the server is shutting down; reconnect", RetryAfter: 1}

// sameOrigin accepts requests without an Origin (non-browser clients) and
// browser requests whose Origin host is the host they called: the
// dashboard is served from the same origin, and no other site's page may
// open a stream with a token it got hold of.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// streamWS serves GET /api/v1/stream (DESIGN.md "Streaming protocol").
func (s *server) streamWS(w http.ResponseWriter, r *http.Request) {
	p, ok := s.streamPrincipal(w, r)
	if !ok {
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Upgrade", "websocket")
		s.writeError(w, r, &apiError{Status: http.StatusUpgradeRequired, Code: "upgrade_required", Message: "this endpoint speaks WebSocket; use /api/v1/stream/sse for Server-Sent Events"})
		return
	}
	if !sameOrigin(r) {
		s.writeError(w, r, &apiError{Status: http.StatusForbidden, Code: "forbidden_origin", Message: "cross-origin WebSocket connections are not allowed"})
		return
	}
	sub, err := s.Streams.Hub.NewSubscriber()
	if err != nil {
		s.writeError(w, r, subscriberError(err))
		return
	}
	defer sub.Close()
	// The origin was checked above with the error envelope.
	cw := &corkingWriter{ResponseWriter: w}
	conn, err := websocket.Accept(cw, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered the bad handshake
	}
	conn.SetReadLimit(streamReadLimit)
	metrics.StreamClients.WithLabelValues("ws").Inc()
	defer metrics.StreamClients.WithLabelValues("ws").Dec()

	c := &wsClient{s: s, conn: conn, cork: cw.conn, sub: sub, who: p, cmds: make(chan wsCmd, 8), requestID: requestID(r.Context())}
	c.run(r.Context())
}

// wsClient is one WebSocket connection: the handler goroutine reads
// frames, one writer goroutine owns every write (so acks, replays and live
// events keep their order) and one goroutine pings.
type wsClient struct {
	s         *server
	conn      *websocket.Conn
	cork      *corkConn
	sub       *realtime.Subscriber
	who       auth.Principal
	cmds      chan wsCmd
	requestID string
	lastFlush time.Time   // writer goroutine only
	timer     *time.Timer // writer goroutine only
}

// wsCmd is a parsed client frame handed to the writer: a subscribe, an
// unsubscribe, or an error frame to send back.
type wsCmd struct {
	op     string
	topic  realtime.Topic
	filter realtime.Filter
	since  string
	err    *frameError
}

type frameError struct {
	Type    string         `json:"type"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Topic   realtime.Topic `json:"topic,omitempty"`
}

func newFrameError(code string, topic realtime.Topic, format string, a ...any) *frameError {
	return &frameError{Type: "error", Code: code, Message: fmt.Sprintf(format, a...), Topic: topic}
}

type ackFrame struct {
	Type  string         `json:"type"`
	Topic realtime.Topic `json:"topic"`
}

func (c *wsClient) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { c.write(ctx, cancel) })
	wg.Go(func() { defer cancel(); c.keepAlive(ctx) })
	// When the hub ends the subscriber, say goodbye at once, even while
	// the writer is stuck on a client that stopped reading: Close gives
	// the close frame 5 s to get through, then drops the TCP connection,
	// which unblocks the writer. The reader then sees the connection end.
	wg.Go(func() {
		expired, stop := credentialExpiry(c.who)
		defer stop()
		revoked, stopRevoked := c.s.Auth.WatchRevocation(c.who)
		defer stopRevoked()
		select {
		case <-ctx.Done():
		case <-c.sub.Done():
			c.goodbye(c.sub.Err())
			cancel() // the handshake is over; free a reader waiting on cmds
		case <-expired:
			c.goodbye(errCredentialExpired)
			cancel()
		case <-revoked:
			c.goodbye(errCredentialRevoked)
			cancel()
		}
	})
	c.read(ctx)
	cancel()
	wg.Wait()
	_ = c.conn.CloseNow()
}

func (c *wsClient) read(ctx context.Context) {
	for {
		typ, data, err := c.conn.Read(ctx)
		if err != nil {
			return // the peer left, or we are closing
		}
		cmd := c.parse(typ, data)
		select {
		case c.cmds <- cmd:
		case <-ctx.Done():
			return
		}
	}
}

type clientFrame struct {
	Type   string          `json:"type"`
	Topic  string          `json:"topic"`
	Filter json.RawMessage `json:"filter"`
	Since  string          `json:"since"`
}

// parse turns one client frame into a command; bad input becomes an error
// frame and the connection carries on.
func (c *wsClient) parse(typ websocket.MessageType, data []byte) wsCmd {
	fail := func(code string, topic realtime.Topic, format string, a ...any) wsCmd {
		return wsCmd{op: "error", err: newFrameError(code, topic, format, a...)}
	}
	if typ != websocket.MessageText {
		return fail("bad_frame", "", "frames must be JSON text")
	}
	var f clientFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return fail("bad_frame", "", "frame is not a JSON object: %v", err)
	}
	if f.Type != "subscribe" && f.Type != "unsubscribe" {
		return fail("bad_frame", "", "unknown frame type %q (want subscribe or unsubscribe)", f.Type)
	}
	topic, err := realtime.ParseTopic(f.Topic)
	if err != nil {
		return fail("unknown_topic", "", "%v", err)
	}
	if f.Type == "unsubscribe" {
		return wsCmd{op: "unsubscribe", topic: topic}
	}
	if !c.who.Role.Can(topicPerm[topic]) {
		return fail("forbidden", topic, "your role may not read %s", topic)
	}
	cmd := wsCmd{op: "subscribe", topic: topic, since: f.Since}
	if len(f.Filter) > 0 && !bytes.Equal(f.Filter, []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(f.Filter))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cmd.filter); err != nil {
			return fail("invalid_filter", topic, "filter: %v", err)
		}
	}
	return cmd
}

// write owns the connection's data frames. A write error ends the
// connection (cancel); when the hub ends the subscriber it only stops, and
// leaves the closing handshake to goodbye (cancelling would cut it short).
func (c *wsClient) write(ctx context.Context, cancel context.CancelFunc) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.sub.Done():
			return
		case cmd := <-c.cmds:
			if err := c.do(ctx, cmd); err != nil {
				c.failed(ctx, err)
				cancel()
				return
			}
		case d := <-c.sub.Queue():
			if !c.gather(ctx) {
				return
			}
			if err := c.writeEvents(d); err != nil {
				c.failed(ctx, err)
				cancel()
				return
			}
			c.lastFlush = time.Now()
		}
	}
}

// gather waits until FlushInterval has passed since the last write, so
// that events arriving meanwhile share one write; false if the
// connection is ending.
func (c *wsClient) gather(ctx context.Context) bool {
	wait := time.Until(c.lastFlush.Add(c.s.flushInterval()))
	if wait <= 0 {
		return true
	}
	if c.timer == nil {
		c.timer = time.NewTimer(wait)
	} else {
		c.timer.Reset(wait)
	}
	select {
	case <-c.timer.C:
		return true
	case <-ctx.Done():
	case <-c.sub.Done():
	}
	c.timer.Stop()
	return false
}

// writeEvents sends d and whatever else is already queued in one socket
// write: one syscall per client per burst instead of one per event. Event writes use a
// context without deadline (no per-write timer); a stuck peer is cut by
// goodbye or the ping, which close the connection under the write.
func (c *wsClient) writeEvents(d realtime.Delivery) error {
	c.cork.cork()
	var err error
	// At most what the queue can hold, so commands are not starved.
	maxBatch := cap(c.sub.Queue())
	for n := 0; ; n++ {
		if c.sub.Current(d) { // else queued before an unsubscribe or a filter change
			for _, e := range d.Events {
				if !d.Wants(e) {
					continue
				}
				if err = c.conn.Write(context.Background(), websocket.MessageText, e.Frame()); err != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		if n+1 == maxBatch {
			break
		}
		var ok bool
		select {
		case d = <-c.sub.Queue():
			ok = true
		default:
		}
		if !ok {
			break
		}
	}
	if uerr := c.cork.uncork(); err == nil {
		err = uerr
	}
	return err
}

// goodbye closes the connection the way the hub ended the subscriber.
func (c *wsClient) goodbye(why error) {
	switch {
	case errors.Is(why, realtime.ErrSlow):
		metrics.StreamDropped.WithLabelValues("slow").Inc()
		c.s.log.Info("stream client too slow; disconnected", "request_id", c.requestID, "principal", c.who.ID)
		_ = c.conn.Close(websocket.StatusPolicyViolation, "too slow: send queue full")
	case errors.Is(why, realtime.ErrShutdown):
		_ = c.conn.Close(websocket.StatusGoingAway, "server shutting down")
	case errors.Is(why, errCredentialExpired), errors.Is(why, errCredentialRevoked):
		_ = c.conn.Close(websocket.StatusPolicyViolation, why.Error())
	default:
		_ = c.conn.CloseNow()
	}
}

// failed records a write or ping failure that was not our own closing.
func (c *wsClient) failed(ctx context.Context, err error) {
	if ctx.Err() != nil || c.sub.Err() != nil {
		return // we are closing it ourselves
	}
	if s := websocket.CloseStatus(err); s == websocket.StatusNormalClosure || s == websocket.StatusGoingAway {
		return
	}
	metrics.StreamDropped.WithLabelValues("error").Inc()
	c.s.log.Debug("stream client failed", "request_id", c.requestID, "err", err)
}

func (c *wsClient) send(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cannot encode frame: %w", err)
	}
	return c.conn.Write(ctx, websocket.MessageText, b)
}

func (c *wsClient) do(ctx context.Context, cmd wsCmd) error {
	switch cmd.op {
	case "error":
		return c.send(ctx, cmd.err)
	case "unsubscribe":
		c.sub.Unsubscribe(cmd.topic)
		return c.send(ctx, ackFrame{Type: "unsubscribed", Topic: cmd.topic})
	}
	rep, err := c.sub.Subscribe(cmd.topic, cmd.filter, cmd.since)
	switch {
	case errors.Is(err, realtime.ErrInvalidFilter):
		return c.send(ctx, newFrameError("invalid_filter", cmd.topic, "%v", err))
	case errors.Is(err, realtime.ErrBadSince):
		return c.send(ctx, newFrameError("invalid_since", cmd.topic, "since must be an event id from this stream"))
	case err != nil:
		return nil // the subscriber has ended; write sees Done next
	}
	if err := c.send(ctx, ackFrame{Type: "subscribed", Topic: cmd.topic}); err != nil {
		return err
	}
	if rep.Gap {
		if err := c.send(ctx, newFrameError("replay_gap", cmd.topic, "event %s is no longer in the replay buffer; replaying the %d buffered events after it, some may be missing", cmd.since, len(rep.Events))); err != nil {
			return err
		}
	}
	for _, e := range rep.Events {
		if err := c.conn.Write(ctx, websocket.MessageText, e.Frame()); err != nil {
			return err
		}
	}
	return nil
}

// keepAlive pings every PingInterval; a peer that does not answer within
// half of it is cut.
func (c *wsClient) keepAlive(ctx context.Context) {
	t := time.NewTicker(c.s.pingInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, c.s.pingInterval()/2)
			err := c.conn.Ping(pctx)
			cancel()
			if err != nil {
				c.failed(ctx, err)
				return
			}
		}
	}
}

// streamSSE serves GET /api/v1/stream/sse: the same feed as Server-Sent
// Events, for clients behind proxies that refuse WebSocket upgrades.
// Topics and filters come from the query; `since` (or the Last-Event-ID
// header an EventSource sends when it reconnects) resumes.
func (s *server) streamSSE(w http.ResponseWriter, r *http.Request) {
	p, ok := s.streamPrincipal(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	filters := map[realtime.Topic]realtime.Filter{}
	for _, name := range strings.Split(q.Get("topics"), ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		t, err := realtime.ParseTopic(name)
		if err != nil {
			s.writeError(w, r, errInvalid("topics", err.Error()))
			return
		}
		if !p.Role.Can(topicPerm[t]) {
			s.writeError(w, r, &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "your role may not read " + name})
			return
		}
		var f realtime.Filter
		switch t {
		case realtime.TopicLogs:
			if l := q.Get("levels"); l != "" {
				f.Levels = strings.Split(l, ",")
			}
			f.Service = q.Get("service")
		case realtime.TopicPayments:
			f.Status, f.Provider = q.Get("status"), q.Get("provider")
		}
		if err := f.Validate(t); err != nil {
			s.writeError(w, r, errInvalid("filter", err.Error()))
			return
		}
		filters[t] = f
	}
	if len(filters) == 0 {
		s.writeError(w, r, errInvalid("topics", "name at least one topic: payments, logs, alerts"))
		return
	}
	since := r.Header.Get("Last-Event-ID")
	if since == "" {
		since = q.Get("since")
	}
	if since != "" && !realtime.ValidEventID(since) {
		s.writeError(w, r, errInvalid("since", "since must be an event id from this stream"))
		return
	}
	sub, err := s.Streams.Hub.NewSubscriber()
	if err != nil {
		s.writeError(w, r, subscriberError(err))
		return
	}
	defer sub.Close()
	rep, err := sub.SubscribeAll(filters, since)
	if err != nil {
		s.writeError(w, r, errStreamShuttingDown)
		return
	}
	metrics.StreamClients.WithLabelValues("sse").Inc()
	defer metrics.StreamClients.WithLabelValues("sse").Dec()

	rc := http.NewResponseController(w)
	// A stream outlives the server's ReadTimeout, whose expiry would
	// cancel the request; there is no body to read anyway.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)

	var buf bytes.Buffer
	buf.WriteString("retry: 3000\n\n")
	if rep.Gap {
		writeSSEError(&buf, newFrameError("replay_gap", "", "event %s is no longer in the replay buffer; replaying the %d buffered events after it, some may be missing", since, len(rep.Events)))
	}
	for _, e := range rep.Events {
		writeSSEEvent(&buf, e)
	}
	flush := func() bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := w.Write(buf.Bytes()); err != nil {
			return false
		}
		buf.Reset()
		return rc.Flush() == nil
	}
	if !flush() {
		return
	}
	ping := time.NewTicker(s.pingInterval())
	defer ping.Stop()
	expired, stopExpiry := credentialExpiry(p)
	defer stopExpiry()
	revoked, stopRevoked := s.Auth.WatchRevocation(p)
	defer stopRevoked()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-expired:
			writeSSEError(&buf, newFrameError("token_expired", "", "%v; reconnect with a fresh token and Last-Event-ID", errCredentialExpired))
			flush()
			return
		case <-revoked:
			writeSSEError(&buf, newFrameError("credential_revoked", "", "%v; this credential no longer gives access", errCredentialRevoked))
			flush()
			return
		case <-sub.Done():
			if errors.Is(sub.Err(), realtime.ErrSlow) {
				metrics.StreamDropped.WithLabelValues("slow").Inc()
				writeSSEError(&buf, newFrameError("too_slow", "", "too slow: send queue full"))
				flush()
			}
			return
		case <-ping.C:
			buf.WriteString(": ping\n\n")
		case d := <-sub.Queue():
			if !writeSSEDelivery(&buf, sub, d, flush) {
				return
			}
			// Send what else is already queued in the same write.
			for more := true; more && buf.Len() < 64<<10; {
				select {
				case d := <-sub.Queue():
					if !writeSSEDelivery(&buf, sub, d, flush) {
						return
					}
				default:
					more = false
				}
			}
		}
		if buf.Len() > 0 && !flush() {
			if r.Context().Err() == nil {
				metrics.StreamDropped.WithLabelValues("error").Inc()
			}
			return
		}
	}
}

// writeSSEDelivery adds d's events to buf, flushing every 64 KiB so a
// large batch does not pile up in memory; false if a flush failed.
func writeSSEDelivery(buf *bytes.Buffer, sub *realtime.Subscriber, d realtime.Delivery, flush func() bool) bool {
	if !sub.Current(d) {
		return true
	}
	for _, e := range d.Events {
		if !d.Wants(e) {
			continue
		}
		writeSSEEvent(buf, e)
		if buf.Len() >= 64<<10 && !flush() {
			return false
		}
	}
	return true
}

// writeSSEEvent writes one event: id and event name for EventSource,
// data = the same JSON frame the WebSocket sends (one line: JSON encoding
// never emits a raw newline).
func writeSSEEvent(buf *bytes.Buffer, e *realtime.Event) {
	buf.WriteString("id: ")
	buf.WriteString(e.ID)
	buf.WriteString("\nevent: ")
	buf.WriteString(e.Type)
	buf.WriteString("\ndata: ")
	buf.Write(e.Frame())
	buf.WriteString("\n\n")
}

func writeSSEError(buf *bytes.Buffer, fe *frameError) {
	b, _ := json.Marshal(fe)
	buf.WriteString("event: error\ndata: ")
	buf.Write(b)
	buf.WriteString("\n\n")
}

// corkingWriter hands the WebSocket library a connection that can be
// corked, so that several frames leave in one write (see writeEvents).
type corkingWriter struct {
	http.ResponseWriter
	conn *corkConn
}

func (w *corkingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: nc}
	// The library writes through its bufio.Writer to the returned conn
	// (it resets the writer to it); nothing is buffered yet after Hijack.
	return w.conn, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(w.conn, brw.Writer.Size())), nil
}

// corkConn holds writes back while corked and sends them in one write on
// uncork. The lock is held across that write so that frames written by
// other goroutines meanwhile (pong, close) keep their order; a stuck write
// ends when the connection is closed.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    *[]byte // from corkBufs while corked
}

// corkBufs are shared by all connections, so memory follows the number
// of bursts being written at once, not the number of clients.
var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// corkLimit is the most a corked connection holds before writing, so a
// large batch (a log burst) sent to many clients at once stays bounded.
const corkLimit = 64 << 10

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	if len(*c.buf)+len(p) > corkLimit {
		if len(*c.buf) > 0 {
			if _, err := c.Conn.Write(*c.buf); err != nil {
				return 0, err
			}
			*c.buf = (*c.buf)[:0]
		}
		if len(p) > corkLimit {
			return c.Conn.Write(p)
		}
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.buf = corkBufs.Get().(*[]byte)
	c.mu.Unlock()
}

func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	b := c.buf
	c.buf = nil
	var err error
	if len(*b) > 0 {
		_, err = c.Conn.Write(*b)
	}
	*b = (*b)[:0]
	corkBufs.Put(b)
	return err
}
