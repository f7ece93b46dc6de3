package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	modulePath = "github.com/paymon/paymon"

	// readyTimeout bounds how long a server may take to start answering.
	readyTimeout = 30 * time.Second
	// stopTimeout bounds how long Stop waits after SIGTERM before SIGKILL.
	stopTimeout = 10 * time.Second
	// portAttempts is how many fresh ports a first start tries when the
	// chosen port was taken by someone else in the meantime.
	portAttempts = 5
	// tailSize is how much of a server's output is kept for error messages.
	tailSize = 8 << 10
)

// RequireEnv is the environment variable that turns a missing server binary
// from a skipped test into a failed one. `make test` and CI set it to 1.
const RequireEnv = "PAYMON_TESTENV_REQUIRE"

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// Root returns the repository root: the nearest directory at or above the
// working directory whose go.mod declares module github.com/paymon/paymon.
// If the working directory is outside the repository, it falls back to the
// location of this package's source. It panics when neither works.
func Root() string {
	rootOnce.Do(func() {
		rootDir, rootErr = findRoot()
	})
	if rootErr != nil {
		panic(rootErr)
	}
	return rootDir
}

func findRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if isRoot(dir) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("testenv: cannot find the directory whose go.mod declares module %s above %q", modulePath, starts)
}

func isRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], "\"`") == modulePath
		}
	}
	return false
}

// Server is one real server process started for a test.
type Server struct {
	name  string // "redis-server", "ferretdb", "stripe-mock"
	dep   string // the scripts/deps.sh name that installs it
	bin   string
	dir   string
	addr  string
	url   string
	args  func(addr, dir string) []string
	env   []string
	probe func(ctx context.Context, addr string) error
	mu    sync.Mutex
	cmd   *exec.Cmd     // nil while stopped
	done  chan struct{} // closed when cmd has exited
}

// Addr returns the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// URL returns the URL clients connect with: redis://127.0.0.1:port,
// mongodb://127.0.0.1:port/ or http://127.0.0.1:port.
func (s *Server) URL() string { return s.url }

// Dir returns the server's data directory (inside t.TempDir()).
func (s *Server) Dir() string { return s.dir }

// Stop stops the server (SIGTERM, then SIGKILL after 10 s) and waits until it
// has exited. Its data directory is kept, so Start can bring it back. Stopping
// a stopped server does nothing.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	terminate(s.cmd.Process)
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		kill(s.cmd.Process)
		<-s.done
	}
	s.cmd = nil
	t.Logf("testenv: stopped %s on %s", s.name, s.addr)
}

// Start restarts a stopped server on the same address and waits until it
// answers. It fails the test if the server is running or cannot start.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		t.Fatalf("testenv: %s on %s is already running", s.name, s.addr)
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		err := s.startLocked(deadline)
		if err == nil {
			break
		}
		// The port may be held for a moment by someone else; keep trying
		// the same port until the deadline.
		if errors.Is(err, errPortInUse) && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		t.Fatalf("testenv: cannot restart %s on %s: %v", s.name, s.addr, err)
	}
	t.Logf("testenv: restarted %s on %s", s.name, s.addr)
}

// Redis starts redis-server on a free port of 127.0.0.1 with persistence
// off and its working directory in t.TempDir(). URL is redis://127.0.0.1:PORT.
func Redis(t testing.TB) *Server {
	t.Helper()
	bin := lookPath(t, "redis-server", "redis", "/usr/bin/redis-server", "/usr/local/bin/redis-server")
	s := &Server{
		name: "redis-server",
		dep:  "redis",
		bin:  bin,
		args: func(addr, dir string) []string {
			_, port, _ := net.SplitHostPort(addr)
			return []string{
				"--port", port,
				"--bind", "127.0.0.1",
				"--save", "",
				"--appendonly", "no",
				"--dir", dir,
				"--daemonize", "no",
				"--logfile", "",
			}
		},
		probe: pingRedis,
	}
	s.launch(t, func(addr string) string { return "redis://" + addr })
	return s
}

// FerretDB starts ./bin/ferretdb (FerretDB v1 with the SQLite handler) on a
// free port of 127.0.0.1 with its SQLite directory in t.TempDir(), and waits
// until it answers a MongoDB "ping" command. URL is mongodb://127.0.0.1:PORT/.
func FerretDB(t testing.TB) *Server {
	t.Helper()
	bin := repoBin(t, "ferretdb", "ferretdb")
	s := &Server{
		name: "ferretdb",
		dep:  "ferretdb",
		bin:  bin,
		args: func(addr, dir string) []string {
			return []string{"-listen-addr", addr, "-sqlite-dir", dir, "-log-level", "warn"}
		},
		probe: pingMongo,
	}
	s.launch(t, func(addr string) string { return "mongodb://" + addr + "/" })
	return s
}

// StripeMock starts ./bin/stripe-mock serving HTTP on a free port of
// 127.0.0.1 and waits until it answers. URL is http://127.0.0.1:PORT; any
// key of the form sk_test_… is accepted.
func StripeMock(t testing.TB) *Server {
	t.Helper()
	bin := repoBin(t, "stripe-mock", "stripe-mock")
	s := &Server{
		name: "stripe-mock",
		dep:  "stripe-mock",
		bin:  bin,
		args: func(addr, dir string) []string {
			// Without -https-addr stripe-mock also opens HTTPS on its fixed port
			// 12112, so two at once would collide.
			return []string{"-http-addr", addr, "-https-addr", "127.0.0.1:0"}
		},
		// stripe-mock also listens on $PORT when it is set.
		env:   []string{"PORT="},
		probe: pingHTTP,
	}
	s.launch(t, func(addr string) string { return "http://" + addr })
	return s
}

// launch starts s for the first time on a free port, retrying with another
// port if the chosen one was taken in the meantime, and registers its
// cleanup.
func (s *Server) launch(t testing.TB, url func(addr string) string) {
	t.Helper()
	// t.TempDir is created before Cleanup is registered, so the process is
	// killed before its directory is removed (cleanups run last-in first-out).
	s.dir = t.TempDir()
	t.Cleanup(s.cleanup)

	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	for range portAttempts {
		var port int
		port, err = freePort()
		if err != nil {
			t.Fatalf("testenv: cannot pick a free port for %s: %v", s.name, err)
		}
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		err = s.startLocked(time.Now().Add(readyTimeout))
		if err == nil {
			s.url = url(s.addr)
			t.Logf("testenv: started %s on %s (dir %s)", s.name, s.addr, s.dir)
			return
		}
		if !errors.Is(err, errPortInUse) {
			break
		}
	}
	t.Fatalf("testenv: cannot start %s: %v", s.name, err)
}

// cleanup kills the server's process group and waits for it.
func (s *Server) cleanup() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	kill(s.cmd.Process)
	<-s.done
	s.cmd = nil
}

var errPortInUse = errors.New("address already in use")

// startLocked starts the process on s.addr and waits until s.probe succeeds,
// the process exits, or the deadline passes. On failure the process is gone
// and the error carries the tail of its output. s.mu must be held.
func (s *Server) startLocked(deadline time.Time) error {
	cmd := exec.Command(s.bin, s.args(s.addr, s.dir)...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), s.env...)
	out := &tailBuffer{max: tailSize}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot run %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	var waitErr error // read only after done is closed
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done

	fail := func(err error) error {
		kill(cmd.Process)
		<-done
		s.cmd = nil
		tail := out.String()
		if strings.Contains(strings.ToLower(tail), "address already in use") {
			err = fmt.Errorf("%w: %v", errPortInUse, err)
		}
		return fmt.Errorf("%w\n--- %s %s output (tail) ---\n%s", err, s.bin, strings.Join(cmd.Args[1:], " "), tail)
	}

	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var lastErr error
	for {
		select {
		case <-done:
			return fail(fmt.Errorf("%s exited before it was ready: %v", s.name, waitErr))
		default:
		}
		// A probe gives up as soon as the process exits, so that a
		// server that died (say, on a taken port, where another program
		// may accept the probe and never answer) is reported at once.
		probeCtx, probeCancel := context.WithTimeout(ctx, 2*time.Second)
		go func() {
			select {
			case <-done:
				probeCancel()
			case <-probeCtx.Done():
			}
		}()
		lastErr = s.probe(probeCtx, s.addr)
		probeCancel()
		if lastErr == nil {
			return nil
		}
		select {
		case <-done:
			return fail(fmt.Errorf("%s exited before it was ready: %v", s.name, waitErr))
		case <-ctx.Done():
			return fail(fmt.Errorf("%s not ready on %s within %s: %v", s.name, s.addr, readyTimeout, lastErr))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// missing skips the test, or fails it when PAYMON_TESTENV_REQUIRE=1, with the
// command that installs the missing dependency.
func missing(t testing.TB, what, dep string) {
	t.Helper()
	msg := fmt.Sprintf("testenv: %s not found; install it with: scripts/deps.sh %s (from the repository root)", what, dep)
	if required() {
		t.Fatal(msg)
	}
	t.Skip(msg + " [set " + RequireEnv + "=1 to fail instead of skipping]")
}

func required() bool {
	v := os.Getenv(RequireEnv)
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

// lookPath finds a system binary in PATH or at one of the given paths.
func lookPath(t testing.TB, name, dep string, paths ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range paths {
		if isExecutable(p) {
			return p
		}
	}
	missing(t, name, dep)
	return ""
}

// repoBin returns ROOT/bin/NAME if it is there.
func repoBin(t testing.TB, name, dep string) string {
	t.Helper()
	p := filepath.Join(Root(), "bin", name)
	if !isExecutable(p) {
		missing(t, p, dep)
	}
	return p
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// pingRedis sends PING and expects +PONG.
func pingRedis(ctx context.Context, addr string) error {
	conn, err := dial(ctx, addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// pingHTTP expects a 200 from GET /v1/customers (stripe-mock's spec is
// loaded by then).
func pingHTTP(ctx context.Context, addr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/customers", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer sk_test_123")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /v1/customers: %s", resp.Status)
	}
	return nil
}

func dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Unblock reads and writes when ctx is canceled before its deadline.
	context.AfterFunc(ctx, func() { conn.Close() })
	return conn, nil
}

// tailBuffer is an io.Writer that keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
