// Package syslog is Paymon's syslog listener: RFC 5424 and RFC 3164
// messages over TCP (octet-counted or newline-framed, detected per frame)
// and UDP, on one address, turned into log entries and stored through the
// logbook like every other ingest path. Syslog has no credentials: the
// listener trusts every peer that can reach it, so bind it to loopback or
// a private network (docs/operations.md).
package syslog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paymon/paymon/internal/logbook"
)

// Source is the source of every entry the listener stores: syslog has no
// credentials, so this says only that it came through the listener.
const Source = "syslog"

// Ingester is the part of the log service the listener uses.
type Ingester interface {
	IngestFrom(ctx context.Context, format, source string, entries []logbook.Entry) error
	Limits() logbook.Limits
	Now() time.Time
}

// Options bound the listener; zero values take the documented defaults
// (docs/logs.md, "Syslog").
type Options struct {
	MaxMessage int // bytes of one frame or datagram (default 64 KiB); longer ones are skipped
	MaxConns   int // concurrent TCP connections (default 256); more are closed at once
	// IdleTimeout closes a TCP connection silent this long (default 1 h).
	// Long, because a sender writing into a connection the receiver just
	// closed may lose that message; dead peers are found sooner by TCP
	// keep-alive, which Go turns on for accepted connections.
	IdleTimeout time.Duration
	BatchLines  int // entries per store write (default 1000)
	BatchBytes  int // message bytes per store write (default 256 KiB)
	// UDPDelay is how long datagrams wait for more to share a store write
	// (default 5 ms); TCP needs no timer, see serveConn.
	UDPDelay time.Duration
	Logger   *slog.Logger
}

// Stats count messages since the listener started.
type Stats struct {
	Received int64 // frames and datagrams read
	Stored   int64 // entries stored
	Skipped  int64 // messages that could not be read as syslog or broke a limit
	Failed   int64 // entries the store refused (logged)
}

// Listener receives syslog on one TCP and one UDP socket of the same
// address. Close stops it.
type Listener struct {
	logs Ingester
	opt  Options
	log  *slog.Logger
	tcp  net.Listener
	udp  *net.UDPConn

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closing bool
	wg      sync.WaitGroup

	received, stored, skipped, failed atomic.Int64

	warnMu   sync.Mutex
	lastWarn time.Time
	unwarned int64
}

// Listen binds TCP and UDP on addr (host:port; port 0 picks one free for
// both) and starts serving.
func Listen(addr string, logs Ingester, opt Options) (*Listener, error) {
	if opt.MaxMessage <= 0 {
		opt.MaxMessage = 64 << 10
	}
	if opt.MaxConns <= 0 {
		opt.MaxConns = 256
	}
	if opt.IdleTimeout <= 0 {
		opt.IdleTimeout = time.Hour
	}
	if opt.BatchLines <= 0 {
		opt.BatchLines = 1000
	}
	if opt.BatchBytes <= 0 {
		opt.BatchBytes = 256 << 10
	}
	if opt.UDPDelay <= 0 {
		opt.UDPDelay = 5 * time.Millisecond
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	l := &Listener{logs: logs, opt: opt, log: opt.Logger, conns: map[net.Conn]struct{}{}}
	if err := l.bind(addr); err != nil {
		return nil, err
	}
	l.wg.Add(2)
	go l.acceptLoop()
	go l.serveUDP()
	return l, nil
}

func (l *Listener) bind(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("cannot listen for syslog on %q: must be host:port: %w", addr, err)
	}
	// With port 0 the UDP socket takes the port TCP was given, which
	// another program may hold on UDP: try a few.
	tries := 1
	if port == "0" {
		tries = 10
	}
	for i := 0; ; i++ {
		tl, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("cannot listen for syslog on tcp %s: %w", addr, err)
		}
		_, p, _ := net.SplitHostPort(tl.Addr().String())
		ua, err := net.ResolveUDPAddr("udp", net.JoinHostPort(host, p))
		if err == nil {
			var uc *net.UDPConn
			if uc, err = net.ListenUDP("udp", ua); err == nil {
				// A large receive buffer absorbs bursts while a batch is
				// written; the kernel may cap it (net.core.rmem_max).
				_ = uc.SetReadBuffer(4 << 20)
				l.tcp, l.udp = tl, uc
				return nil
			}
		}
		tl.Close()
		if i+1 >= tries {
			return fmt.Errorf("cannot listen for syslog on udp %s: %w", net.JoinHostPort(host, p), err)
		}
	}
}

// Addr is the TCP address (the UDP socket has the same host and port).
func (l *Listener) Addr() net.Addr { return l.tcp.Addr() }

// Stats returns the counters so far.
func (l *Listener) Stats() Stats {
	return Stats{Received: l.received.Load(), Stored: l.stored.Load(), Skipped: l.skipped.Load(), Failed: l.failed.Load()}
}

// Close stops accepting, closes every connection and the UDP socket, and
// writes what was already read (complete frames only) before returning,
// or gives up when ctx ends. Call it before closing the log service.
func (l *Listener) Close(ctx context.Context) error {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return nil
	}
	l.closing = true
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.tcp.Close()
	l.udp.Close()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cannot finish writing syslog messages: %w", ctx.Err())
	}
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		c, err := l.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, do not spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.log.Warn("syslog: cannot accept a connection", "err", err)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		l.mu.Lock()
		switch {
		case l.closing:
			l.mu.Unlock()
			c.Close()
			return
		case len(l.conns) >= l.opt.MaxConns:
			l.mu.Unlock()
			c.Close()
			l.warn("syslog: too many connections; closed a new one", "from", c.RemoteAddr().String(), "max_connections", l.opt.MaxConns)
			continue
		}
		l.conns[c] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go l.serveConn(c)
	}
}

// idleReader renews the idle deadline before each read of the socket.
type idleReader struct {
	c    net.Conn
	idle time.Duration
}

func (r idleReader) Read(p []byte) (int, error) {
	if err := r.c.SetReadDeadline(time.Now().Add(r.idle)); err != nil {
		return 0, err
	}
	return r.c.Read(p)
}

// serveConn reads one TCP connection. A batch is handed to the store when
// it is full or when every byte received so far is parsed, so a quiet
// sender's line is written at once and a busy one's lines share writes;
// the writes run beside the reading (see batcher).
func (l *Listener) serveConn(c net.Conn) {
	defer l.wg.Done()
	from := c.RemoteAddr().String()
	b := l.newBatcher()
	defer func() {
		b.close()
		c.Close()
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
	}()
	p := newParser(l.logs.Now, l.logs.Limits())
	f := newFrames(idleReader{c, l.opt.IdleTimeout}, l.opt.MaxMessage)
	for {
		frame, err := f.next()
		if err != nil {
			var long errTooLong
			if errors.As(err, &long) {
				l.skip(from, err)
				continue
			}
			l.connEnded(from, err)
			return
		}
		l.received.Add(1)
		e, err := p.parse(frame)
		if err != nil {
			l.skip(from, err)
		} else {
			b.add(e, len(frame))
		}
		if !f.buffered() {
			b.flush()
		}
	}
}

func (l *Listener) connEnded(from string, err error) {
	l.mu.Lock()
	closing := l.closing
	l.mu.Unlock()
	var ne net.Error
	switch {
	case closing, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		l.log.Debug("syslog: closed an idle connection", "from", from, "idle_timeout", l.opt.IdleTimeout.String())
	case errors.Is(err, io.ErrUnexpectedEOF):
		l.skip(from, errors.New("the connection ended inside a frame"))
	default:
		l.warn("syslog: connection ended", "from", from, "err", err)
	}
}

func (l *Listener) serveUDP() {
	defer l.wg.Done()
	b := l.newBatcher()
	defer b.close()
	p := newParser(l.logs.Now, l.logs.Limits())
	buf := make([]byte, l.opt.MaxMessage+1)
	waiting := false // a deadline is set for the batch being filled
	for {
		n, from, err := l.udp.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				b.flush()
				waiting = false
				_ = l.udp.SetReadDeadline(time.Time{})
				continue
			}
			if !errors.Is(err, net.ErrClosed) {
				l.log.Error("syslog: UDP socket failed; UDP syslog is stopped", "err", err)
			}
			return
		}
		l.received.Add(1)
		if n > l.opt.MaxMessage {
			l.skip(from.String(), errTooLong{-1, l.opt.MaxMessage})
			continue
		}
		e, err := p.parse(buf[:n])
		if err != nil {
			l.skip(from.String(), err)
			continue
		}
		b.add(e, n)
		if len(b.cur) == 0 {
			waiting = false // add flushed a full batch
			_ = l.udp.SetReadDeadline(time.Time{})
		} else if !waiting {
			waiting = true
			_ = l.udp.SetReadDeadline(time.Now().Add(l.opt.UDPDelay))
		}
	}
}

// batcher gathers entries and writes them from a goroutine of its own,
// so reading goes on while a batch is committed. At most one batch waits
// behind the one being written; then the reader waits too, and the
// sender feels the store's pace through TCP flow control.
type batcher struct {
	l     *Listener
	cur   []logbook.Entry
	bytes int
	ch    chan []logbook.Entry
	done  chan struct{}
}

func (l *Listener) newBatcher() *batcher {
	b := &batcher{l: l, ch: make(chan []logbook.Entry, 1), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		for batch := range b.ch {
			l.write(batch)
		}
	}()
	return b
}

func (b *batcher) add(e logbook.Entry, n int) {
	b.cur = append(b.cur, e)
	b.bytes += n
	if len(b.cur) >= b.l.opt.BatchLines || b.bytes >= b.l.opt.BatchBytes {
		b.flush()
	}
}

func (b *batcher) flush() {
	if len(b.cur) == 0 {
		return
	}
	// A new slice each time: the log service keeps the stored entries
	// (live feed, cache) after IngestFormat returns.
	b.ch <- b.cur
	b.cur, b.bytes = nil, 0
}

// close writes what is left and waits for the writes to finish.
func (b *batcher) close() {
	b.flush()
	close(b.ch)
	<-b.done
}

func (l *Listener) write(batch []logbook.Entry) {
	// Not cancelled by Close: what was read is written before the log
	// service closes (the app closes the listener first).
	if err := l.logs.IngestFrom(context.Background(), logbook.FormatSyslog, Source, batch); err != nil {
		l.failed.Add(int64(len(batch)))
		l.warn("syslog: cannot store messages", "entries", len(batch), "err", err)
		return
	}
	l.stored.Add(int64(len(batch)))
}

// skip counts a message that cannot be stored; the warnings about them
// are rate limited, so a flood of bad lines cannot flood Paymon's log.
func (l *Listener) skip(from string, reason error) {
	n := l.skipped.Add(1)
	l.warn("syslog: skipped a message", "from", from, "reason", reason.Error(), "skipped_total", strconv.FormatInt(n, 10))
}

// warn logs at most one warning per 10 s, counting those left out.
func (l *Listener) warn(msg string, args ...any) {
	l.warnMu.Lock()
	now := time.Now()
	if !l.lastWarn.IsZero() && now.Sub(l.lastWarn) < 10*time.Second {
		l.unwarned++
		l.warnMu.Unlock()
		return
	}
	left := l.unwarned
	l.lastWarn, l.unwarned = now, 0
	l.warnMu.Unlock()
	l.log.Warn(msg, append(args, "warnings_left_out", left)...)
}
