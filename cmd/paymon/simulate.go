package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// simulate drives a running Paymon with demo traffic — payments with mixed
// outcomes and the logs a shop would send — so the dashboard has something
// to show. It talks to the public API only, like any client.
func simulate(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("paymon simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	base := fs.String("url", "http://127.0.0.1:8080", "Paymon to drive")
	email := fs.String("email", firstNonEmpty(env["PAYMON_ADMIN_EMAIL"], "admin@paymon.local"), "user to log in as")
	password := fs.String("password", env["PAYMON_ADMIN_PASSWORD"], "password (default: PAYMON_ADMIN_PASSWORD, else the initial-admin-password file in -data-dir)")
	// The same default as serve's, so that `paymon simulate` next to a
	// `paymon serve` started with the same environment or flag finds the
	// password serve wrote.
	dataDir := fs.String("data-dir", firstNonEmpty(env["PAYMON_DATA_DIR"], "./data"), "serve's data dir, where it wrote the initial admin password (default: PAYMON_DATA_DIR)")
	rate := fs.Float64("rate", 2, "payments per second")
	failShare := fs.Float64("fail", 0.1, "share of payments forced to fail")
	duration := fs.Duration("duration", 0, "stop after this long (0: until interrupted)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rate <= 0 || *failShare < 0 || *failShare > 1 {
		return errors.New("-rate must be positive and -fail between 0 and 1")
	}
	if *password == "" {
		pwFile := filepath.Join(*dataDir, "initial-admin-password")
		b, err := os.ReadFile(pwFile)
		if err != nil {
			return fmt.Errorf("no password: pass -password, set PAYMON_ADMIN_PASSWORD, or point -data-dir (PAYMON_DATA_DIR) at serve's data dir: cannot read %s: %w", pwFile, err)
		}
		*password = strings.TrimSpace(string(b))
	}
	c := &simClient{base: strings.TrimRight(*base, "/"), http: &http.Client{Timeout: 10 * time.Second}}
	if err := c.login(ctx, *email, *password); err != nil {
		return err
	}
	// -duration is how long payments are sent; the login (a slow password
	// hash on a busy server) does not eat into it.
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	fmt.Fprintf(stdout, "simulating %.1f payments/s against %s (Ctrl-C to stop)\n", *rate, c.base)
	tick := time.NewTicker(time.Duration(float64(time.Second) / *rate))
	defer tick.Stop()
	currencies := []string{"EUR", "EUR", "USD", "GBP", "JPY", "CHF"}
	services := []string{"checkout", "cart", "shipping", "auth"}
	var n, failed int
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintf(stdout, "sent %d payments (%d forced to fail)\n", n, failed)
			return nil
		case <-tick.C:
		}
		outcome := "succeed"
		switch r := rand.Float64(); {
		case r < *failShare:
			outcome, failed = "fail", failed+1
		case r < *failShare+0.05:
			outcome = "pending"
		}
		cur := currencies[rand.IntN(len(currencies))]
		amount := int64(500 + rand.IntN(20000))
		if cur == "JPY" {
			amount /= 10
		}
		body := map[string]any{"amount": amount, "currency": cur, "description": fmt.Sprintf("order %d", 1000+n),
			"metadata": map[string]string{"simulate": outcome, "order": fmt.Sprint(1000 + n)}}
		var p struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		// The deadline or Ctrl-C stops new payments, not one in flight: the
		// server makes it anyway, so wait for its answer (the client's
		// timeout still bounds the wait) and count it.
		reqCtx := context.WithoutCancel(ctx)
		if err := c.post(reqCtx, "/api/v1/payments", body, &p, "Idempotency-Key", fmt.Sprintf("sim-%d-%d", time.Now().UnixNano(), n)); err != nil {
			return err
		}
		n++
		svc := services[rand.IntN(len(services))]
		level, msg := "info", "order placed"
		if p.Status == "failed" {
			level, msg = "error", "payment declined for order"
		}
		entry := map[string]any{"level": level, "service": svc, "message": msg, "payment_id": p.ID,
			"attributes": map[string]any{"order": 1000 + n, "latency_ms": rand.IntN(300)}}
		if err := c.post(reqCtx, "/api/v1/logs", entry, nil); err != nil {
			return err
		}
	}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

type simClient struct {
	base  string
	token string
	http  *http.Client
}

func (c *simClient) login(ctx context.Context, email, password string) error {
	form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/auth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.do(req, &out); err != nil {
		return fmt.Errorf("cannot log in: %w", err)
	}
	c.token = out.AccessToken
	return nil
}

func (c *simClient) post(ctx context.Context, path string, body, out any, headers ...string) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req, out)
}

func (c *simClient) do(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
