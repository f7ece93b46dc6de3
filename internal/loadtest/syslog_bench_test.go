package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/store/sqlite"
	"github.com/paymon/paymon/internal/syslog"
)

// syslogSeverity is the syslog severity of each of benchLevels.
var syslogSeverity = map[string]int{"debug": 7, "info": 6, "warn": 4, "error": 3, "fatal": 2}

// syslogBatch is n RFC 5424 messages, octet-counted, with the services,
// levels, messages and attributes (as structured data) of ndjsonBatch, so
// the figures compare with BenchmarkLogIngest's.
func syslogBatch(n, seed int) []byte {
	var b bytes.Buffer
	now := time.Now().UTC()
	for i := range n {
		k := seed*n + i
		msg := fmt.Sprintf(`<%d>1 %s web-%d %s - - [req@32473 trace_id="tr-%08x" region="eu-west-1" http.status="%d" duration_ms="%d"] %s`,
			8+syslogSeverity[benchLevels[k%len(benchLevels)]], now.Add(-time.Duration(k%600)*time.Second).Format("2006-01-02T15:04:05.000000Z07:00"), // RFC 5424 allows 6 fraction digits
			k%16, benchServices[k%len(benchServices)], k, 200+k%5*100, k%1500, fmt.Sprintf(benchMessages[k%len(benchMessages)], k, k%997))
		fmt.Fprintf(&b, "%d %s", len(msg), msg)
	}
	return b.Bytes()
}

// BenchmarkSyslogIngest measures the syslog listener over loopback TCP:
// 4 senders each writing octet-counted RFC 5424 lines as fast as the
// listener reads them, into the real log service on SQLite. Syslog has no
// acknowledgement, so a line counts once it is stored: the run ends by
// closing the listener, which writes what it has read, and lines/s is
// stored lines over the time until then.
func BenchmarkSyslogIngest(b *testing.B) {
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "paymon.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	logs := logbook.NewService(db, nil, logbook.Options{})
	defer logs.Close()
	const senders, lines = 4, 5000
	batches := make([][]byte, 8)
	for i := range batches {
		batches[i] = syslogBatch(lines, i)
	}
	dur := Duration(15 * time.Second)
	var stored, skipped atomic.Int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, err := syslog.Listen("127.0.0.1:0", logs, syslog.Options{})
		if err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(dur)
		start := time.Now()
		cpu0 := cpuTime()
		var wg sync.WaitGroup
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.Dial("tcp", l.Addr().String())
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				for n := 0; time.Now().Before(deadline); n++ {
					if _, err := c.Write(batches[(s+n)%len(batches)]); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := l.Close(ctx); err != nil {
			b.Fatal(err)
		}
		cancel()
		st := l.Stats()
		stored.Add(st.Stored)
		skipped.Add(st.Skipped + st.Failed)
		b.ReportMetric(float64(st.Stored)/time.Since(start).Seconds(), "lines/s")
		if st.Stored > 0 {
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(st.Stored), "cpu_us/line")
		}
	}
	b.ReportMetric(float64(skipped.Load()), "errors")
	if stored.Load() == 0 {
		b.Fatal("no line stored")
	}
}
