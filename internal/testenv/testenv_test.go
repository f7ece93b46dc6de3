package testenv

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRoot(t *testing.T) {
	root := Root()
	if !isRoot(root) {
		t.Fatalf("Root() = %q, which has no go.mod for %s", root, modulePath)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "testenv", "testenv.go")); err != nil {
		t.Fatalf("Root() = %q does not hold this package: %v", root, err)
	}
}

// redisCmd sends one inline command and returns the first reply line.
func redisCmd(t *testing.T, addr, cmd string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial redis %s: %v", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(cmd + "\r\n")); err != nil {
		t.Fatalf("write %q: %v", cmd, err)
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read reply to %q: %v", cmd, err)
	}
	if strings.HasPrefix(line, "$") && line != "$-1\r\n" { // bulk string: read its body
		body, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read bulk reply to %q: %v", cmd, err)
		}
		return strings.TrimSuffix(body, "\r\n")
	}
	return strings.TrimSuffix(line, "\r\n")
}

// assertClosed checks that nothing listens on addr any more.
func assertClosed(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		conn.Close()
		t.Fatalf("%s still accepts connections after the server was stopped", addr)
	}
}

func assertLoopback(t *testing.T, s *Server) {
	t.Helper()
	host, port, err := net.SplitHostPort(s.Addr())
	if err != nil || host != "127.0.0.1" || port == "" || port == "0" {
		t.Fatalf("Addr() = %q, want 127.0.0.1:<port>", s.Addr())
	}
	if strings.HasSuffix(s.Addr(), ":6379") || strings.HasSuffix(s.Addr(), ":27017") {
		t.Fatalf("Addr() = %q uses a well-known port", s.Addr())
	}
}

func TestRedis(t *testing.T) {
	t.Parallel()
	var addr string
	t.Run("server", func(t *testing.T) {
		s := Redis(t)
		addr = s.Addr()
		assertLoopback(t, s)
		if want := "redis://" + s.Addr(); s.URL() != want {
			t.Fatalf("URL() = %q, want %q", s.URL(), want)
		}
		if got := redisCmd(t, addr, "PING"); got != "+PONG" {
			t.Fatalf("PING = %q, want +PONG", got)
		}
		if got := redisCmd(t, addr, "SET testenv:key hello"); got != "+OK" {
			t.Fatalf("SET = %q, want +OK", got)
		}
		if got := redisCmd(t, addr, "GET testenv:key"); got != "hello" {
			t.Fatalf("GET = %q, want hello", got)
		}

		s.Stop(t)
		assertClosed(t, addr)
		s.Stop(t) // stopping twice is harmless

		s.Start(t)
		if s.Addr() != addr {
			t.Fatalf("restarted on %q, want the same address %q", s.Addr(), addr)
		}
		if got := redisCmd(t, addr, "PING"); got != "+PONG" {
			t.Fatalf("PING after restart = %q, want +PONG", got)
		}
		// Persistence is off, so the restarted server starts empty.
		if got := redisCmd(t, addr, "GET testenv:key"); got != "$-1" {
			t.Fatalf("GET after restart = %q, want nil ($-1)", got)
		}
	})
	assertClosed(t, addr)
}

func TestFerretDB(t *testing.T) {
	t.Parallel()
	var addr string
	t.Run("server", func(t *testing.T) {
		s := FerretDB(t)
		addr = s.Addr()
		assertLoopback(t, s)
		if want := "mongodb://" + s.Addr() + "/"; s.URL() != want {
			t.Fatalf("URL() = %q, want %q", s.URL(), want)
		}
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial ferretdb: %v", err)
		}
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := pingMongo(ctx, addr); err != nil {
			t.Fatalf("ping: %v", err)
		}

		s.Stop(t)
		assertClosed(t, addr)
		s.Start(t)
		if err := pingMongo(ctx, addr); err != nil {
			t.Fatalf("ping after restart: %v", err)
		}
	})
	assertClosed(t, addr)
}

func TestStripeMock(t *testing.T) {
	t.Parallel()
	var addr string
	t.Run("server", func(t *testing.T) {
		s := StripeMock(t)
		addr = s.Addr()
		assertLoopback(t, s)
		if want := "http://" + s.Addr(); s.URL() != want {
			t.Fatalf("URL() = %q, want %q", s.URL(), want)
		}
		req, err := http.NewRequest(http.MethodGet, s.URL()+"/v1/customers", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer sk_test_123")
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET /v1/customers: %v", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /v1/customers: %s", resp.Status)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("Content-Type = %q, want application/json", ct)
		}
		var list struct {
			Object string            `json:"object"`
			Data   []json.RawMessage `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			t.Fatalf("decode /v1/customers: %v", err)
		}
		if list.Object != "list" {
			t.Fatalf("object = %q, want list", list.Object)
		}
	})
	assertClosed(t, addr)
}

func TestBSONRoundTrip(t *testing.T) {
	doc := bsonDoc(bsonString("$db", "admin"), bsonInt32("ok", 1))
	msg := opMsgCommand(7, doc)
	// A reply is framed like a request, with responseTo set.
	msg[8] = 7
	got, err := readOpMsg(strings.NewReader(string(msg)), 7)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := bsonNumber(got, "ok")
	if err != nil || ok != 1 {
		t.Fatalf("ok = %v, %v; want 1", ok, err)
	}
	if _, err := bsonNumber(got, "missing"); err == nil {
		t.Fatal("bsonNumber found a missing field")
	}
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 8}
	b.Write([]byte("hello, "))
	b.Write([]byte("world"))
	if got := b.String(); got != "o, world" {
		t.Fatalf("tail = %q, want %q", got, "o, world")
	}
}

func TestStartFailureShowsOutput(t *testing.T) {
	sh := lookPath(t, "sh", "sh")
	s := &Server{
		name:  "failing",
		bin:   sh,
		dir:   t.TempDir(),
		addr:  "127.0.0.1:1",
		args:  func(addr, dir string) []string { return []string{"-c", "echo boom >&2; exit 3"} },
		probe: pingRedis,
	}
	s.mu.Lock()
	err := s.startLocked(time.Now().Add(5 * time.Second))
	s.mu.Unlock()
	if err == nil {
		t.Fatal("start of a failing command succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, "exited before it was ready") || !strings.Contains(msg, "boom") {
		t.Fatalf("error does not say what happened: %v", err)
	}
	if s.cmd != nil {
		t.Fatal("failed start left a process behind")
	}
}

func TestPortCollisionIsDetected(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	bin := lookPath(t, "redis-server", "redis", "/usr/bin/redis-server")
	s := &Server{
		name: "redis-server",
		bin:  bin,
		dir:  t.TempDir(),
		addr: l.Addr().String(),
		args: func(addr, dir string) []string {
			_, port, _ := net.SplitHostPort(addr)
			return []string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}
		},
		probe: pingRedis,
	}
	s.mu.Lock()
	err = s.startLocked(time.Now().Add(10 * time.Second))
	s.mu.Unlock()
	if !errors.Is(err, errPortInUse) {
		t.Fatalf("start on a taken port: err = %v, want errPortInUse", err)
	}
}

func TestStartPaymon(t *testing.T) {
	p := StartPaymon(t)
	_, key := p.APIKey("harness", "ingest")
	if status, body := p.Do("POST", "/api/v1/logs", key, `{"message":"harness line","service":"harness"}`); status/100 != 2 {
		t.Fatalf("ingest: %d %s", status, body)
	}
	got := p.SearchLogs(p.AdminToken(), "service=harness")
	if len(got) != 1 || got[0]["message"] != "harness line" {
		t.Fatalf("search found %v", got)
	}
	p.Kill()
	p.Restart()
	if got := p.SearchLogs(p.AdminToken(), "service=harness"); len(got) != 1 {
		t.Fatalf("after restart, search found %v", got)
	}
}
