package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/paymon/paymon/internal/apitest"
	"github.com/paymon/paymon/internal/realtime"
)

// BenchmarkStreamSubscribers holds 1,000 WebSocket subscribers to the
// payments topic on one instance (the whole app behind a real loopback
// listener) while 200 events/s are published for PAYMON_BENCH_DURATION
// (20 s by default; the memory check uses 60s). It reports the
// event-to-client latency (publish call to the client holding the frame)
// and the Go heap after a GC: before publishing (clients connected) and
// after. Clients run in the same process, so the heap includes theirs.
func BenchmarkStreamSubscribers(b *testing.B) {
	const (
		clients = 1000
		rate    = 200 // events per second
	)
	raiseFileLimit(b, 4*clients+1000)
	e := apitest.New(b)
	hub := e.App.Streams
	dur := Duration(20 * time.Second)
	url := "ws" + strings.TrimPrefix(e.URL, "http") + "/api/v1/stream"
	hdr := http.Header{"Authorization": {"Bearer " + e.AdminToken}}
	// A payment-sized payload, like the real payment.updated data.
	pad := strings.Repeat("x", 500)

	for i := 0; i < b.N; i++ {
		var hist histogram
		var received, broken atomic.Int64
		ctx, cancel := context.WithCancel(context.Background())
		conns := make([]*websocket.Conn, clients)
		var ready, done sync.WaitGroup
		dialErr := make(chan error, clients)
		sem := make(chan struct{}, 50) // dial 50 at a time
		for c := range clients {
			ready.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				// Its own context: coder/websocket registers a callback
				// on the context at every read, and one context shared
				// by 1,000 readers becomes a lock they all fight over.
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				sem <- struct{}{}
				conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
				if err == nil {
					err = conn.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","topic":"payments"}`))
				}
				var buf []byte
				if err == nil {
					buf, err = readFrame(ctx, conn, buf)
					if err == nil && !bytes.Contains(buf, []byte(`"subscribed"`)) {
						err = fmt.Errorf("unexpected first frame %s", buf)
					}
				}
				<-sem
				if err != nil {
					dialErr <- err
					ready.Done()
					return
				}
				conns[c] = conn
				ready.Done()
				for {
					// No deadline on the hot path (the library would arm a
					// timer per read); CloseNow at the end stops the loop.
					buf, err = readFrame(context.Background(), conn, buf)
					if err != nil {
						if ctx.Err() == nil {
							broken.Add(1)
						}
						return
					}
					if t, ok := sentAt(buf); ok {
						hist.add(time.Duration(time.Now().UnixNano() - t))
						received.Add(1)
					}
				}
			}()
		}
		ready.Wait()
		select {
		case err := <-dialErr:
			b.Fatalf("subscriber: %v", err)
		default:
		}
		heapBefore := heapMiB()

		b.ResetTimer()
		tick := time.NewTicker(time.Second / rate)
		stop := time.After(dur)
		published := 0
		var pubTime time.Duration
		start := time.Now()
	publish:
		for {
			select {
			case <-stop:
				break publish
			case <-tick.C:
				data := fmt.Sprintf(`{"t":%d,"status":"succeeded","provider":"simulator","pad":%q}`, time.Now().UnixNano(), pad)
				t0 := time.Now()
				if err := hub.Publish(context.Background(), realtime.TopicPayments, realtime.PaymentUpdated, []byte(data), realtime.Attrs{Status: "succeeded", Provider: "simulator"}); err != nil {
					b.Fatal(err)
				}
				pubTime += time.Since(t0)
				published++
			}
		}
		tick.Stop()
		elapsed := time.Since(start)
		// Let the last events arrive.
		want := int64(published * clients)
		for deadline := time.Now().Add(10 * time.Second); received.Load()+broken.Load()*int64(published) < want && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		b.StopTimer()
		heapAfter := heapMiB()

		b.ReportMetric(float64(published)/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(received.Load())/elapsed.Seconds(), "deliveries/s")
		b.ReportMetric(hist.percentile(50), "p50_ms")
		b.ReportMetric(hist.percentile(99), "p99_ms")
		b.ReportMetric(hist.percentile(100), "max_ms")
		b.ReportMetric(float64(want-received.Load()), "undelivered")
		b.ReportMetric(float64(broken.Load()), "dropped_clients")
		b.ReportMetric(heapBefore, "heap_before_MiB")
		b.ReportMetric(heapAfter, "heap_after_MiB")
		b.ReportMetric(elapsed.Seconds(), "seconds")
		b.ReportMetric(float64(pubTime.Microseconds())/float64(published), "publish_us")

		cancel()
		for _, c := range conns {
			if c != nil {
				_ = c.CloseNow()
			}
		}
		done.Wait()
	}
}

// readFrame reads one message into buf (reused between calls, so the
// clients themselves do not churn the heap being measured).
func readFrame(ctx context.Context, c *websocket.Conn, buf []byte) ([]byte, error) {
	_, r, err := c.Reader(ctx)
	if err != nil {
		return buf, err
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// sentAt finds data.t, the publish time, without decoding the frame.
func sentAt(frame []byte) (int64, bool) {
	i := bytes.Index(frame, []byte(`{"t":`))
	if i < 0 {
		return 0, false
	}
	rest := frame[i+5:]
	j := bytes.IndexByte(rest, ',')
	if j < 0 {
		return 0, false
	}
	t, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return t, err == nil
}

// histogram counts latencies in 20 µs buckets up to 5 s, with atomics:
// fixed memory and no lock shared by 1,000 readers.
type histogram struct {
	b [250_000]atomic.Int64
}

const bucket = 20 * time.Microsecond

func (h *histogram) add(d time.Duration) {
	i := int(d / bucket)
	if i < 0 {
		i = 0
	}
	if i >= len(h.b) {
		i = len(h.b) - 1
	}
	h.b[i].Add(1)
}

// percentile returns the p-th percentile (0–100) in milliseconds, at the
// upper edge of its bucket.
func (h *histogram) percentile(p float64) float64 {
	var total int64
	for i := range h.b {
		total += h.b[i].Load()
	}
	if total == 0 {
		return 0
	}
	rank := int64(float64(total-1)*p/100) + 1
	var seen int64
	for i := range h.b {
		seen += h.b[i].Load()
		if seen >= rank {
			return float64(time.Duration(i+1)*bucket) / float64(time.Millisecond)
		}
	}
	return float64(time.Duration(len(h.b))*bucket) / float64(time.Millisecond)
}

func heapMiB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// raiseFileLimit lifts the soft open-files limit towards n (each
// subscriber holds two descriptors here: its end and the server's).
func raiseFileLimit(b *testing.B, n uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Logf("cannot read the open-files limit: %v", err)
		return
	}
	if lim.Cur >= n {
		return
	}
	lim.Cur = min(n, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < n {
		b.Logf("open-files limit %d may be too low for %d (%v)", lim.Cur, n, err)
	}
}
