package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/apitest"
)

// TestSimulateCountsACreateInFlightAtTheDeadline: a payment whose create is
// still in flight when -duration ends is made by the server all the same,
// so simulate must wait for the answer and count it. A proxy in front of a
// real Paymon forwards each create at once and holds the answer until past
// the deadline.
func TestSimulateCountsACreateInFlightAtTheDeadline(t *testing.T) {
	e := apitest.New(t)
	const duration = time.Second
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		out, _ := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, e.URL+r.URL.RequestURI(), bytes.NewReader(body))
		out.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		if r.URL.Path == "/api/v1/payments" {
			time.Sleep(2 * duration) // the deadline passes while the client waits
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(answer)
	}))
	t.Cleanup(proxy.Close)

	var stdout, stderr bytes.Buffer
	args := []string{"-url", proxy.URL, "-email", apitest.AdminEmail, "-password", apitest.AdminPassword, "-rate", "10", "-duration", duration.String()}
	if err := simulate(context.Background(), args, nil, &stdout, &stderr); err != nil {
		t.Fatalf("simulate: %v\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`sent (\d+) payments`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("simulate output: %s", stdout.String())
	}
	st, body := e.Do("GET", "/api/v1/payments?limit=100", e.AdminToken, nil)
	var l struct{ Data []json.RawMessage }
	if err := json.Unmarshal(body, &l); st != 200 || err != nil {
		t.Fatalf("list: %d %s", st, body)
	}
	if len(l.Data) == 0 || m[1] != fmt.Sprint(len(l.Data)) {
		t.Fatalf("simulate said %s payments, the server made %d", m[1], len(l.Data))
	}
}
