// Command slog-to-paymon logs with Go's log/slog JSON handler and ships
// the lines to Paymon's native endpoint, unchanged: slog's "time", "level"
// and "msg" are aliases Paymon knows, every other attribute is kept.
// PAYMON_URL and PAYMON_API_KEY (an ingest key) say where.
package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"
)

// shipper buffers slog's NDJSON lines and posts them in batches.
type shipper struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	url  string
	key  string
	http *http.Client
}

func (s *shipper) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p) // slog writes one whole line per call
	if s.buf.Len() >= 1<<20 {
		return len(p), s.flushLocked()
	}
	return len(p), nil
}

func (s *shipper) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

func (s *shipper) flushLocked() error {
	if s.buf.Len() == 0 {
		return nil
	}
	req, err := http.NewRequest("POST", s.url+"/api/v1/logs?service=checkout", bytes.NewReader(s.buf.Bytes()))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot post logs: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cannot post logs: %s", resp.Status)
	}
	s.buf.Reset()
	return nil
}

func main() {
	sh := &shipper{url: os.Getenv("PAYMON_URL"), key: os.Getenv("PAYMON_API_KEY"), http: &http.Client{Timeout: 10 * time.Second}}
	log := slog.New(slog.NewJSONHandler(sh, &slog.HandlerOptions{Level: slog.LevelDebug}))
	log.Debug("cart loaded", "items", 3)
	log.Info("payment started", "order_id", "A-1001", "amount", 1050)
	log.Warn("slow provider", slog.Duration("latency", 1500*time.Millisecond))
	log.Error("payment declined", "order_id", "A-1002", slog.Group("card", "brand", "visa"))
	if err := sh.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
