package testenv

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// VictoriaLogsVersion is the peer the log benchmarks measure Paymon
// against (DESIGN.md, "Performance targets").
const VictoriaLogsVersion = "v1.52.1"

// VictoriaLogs starts ./bin/victoria-logs (built by scripts/deps.sh from
// the Go module proxy) on a free port of 127.0.0.1 with its storage in
// t.TempDir(), and waits until /health answers. URL is http://127.0.0.1:PORT.
// It is for benchmarks: nothing in Paymon talks to it.
func VictoriaLogs(t testing.TB) *Server {
	t.Helper()
	bin := repoBin(t, "victoria-logs", "victorialogs")
	s := &Server{
		name: "victoria-logs",
		dep:  "victorialogs",
		bin:  bin,
		args: func(addr, dir string) []string {
			return []string{"-httpListenAddr=" + addr, "-storageDataPath=" + dir, "-loggerLevel=ERROR", "-retentionPeriod=100y"}
		},
		probe: func(ctx context.Context, addr string) error {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/health", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("victoria-logs /health: %s", resp.Status)
			}
			return nil
		},
	}
	s.launch(t, func(addr string) string { return "http://" + addr })
	return s
}
