// Command paymon is the whole service in one binary: `paymon serve` runs
// it, `paymon simulate` feeds a running instance demo traffic, `paymon
// healthcheck` probes one (for container images without curl), `paymon
// version` prints the build.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "paymon:", err)
		}
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 1
}

const usage = `Usage: paymon <command> [flags]

Commands:
  serve        run the payment service (see paymon serve --help)
  simulate     send demo payments and logs to a running instance
  healthcheck  exit 0 when a running instance answers /healthz
  version      print the version
`

func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("a command is required")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], environ, stdout, stderr)
	case "simulate":
		return simulate(ctx, args[1:], environ, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, args[1:], environ, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "paymon %s %s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func healthcheck(ctx context.Context, args, environ []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("paymon healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := "127.0.0.1:8080"
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "PAYMON_ADDR="); ok && v != "" {
			addr = v
		}
	}
	target := fs.String("url", "", "URL to probe (default http://$PAYMON_ADDR/healthz)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for an answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *target == "" {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("bad PAYMON_ADDR %q: %w", addr, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		*target = "http://" + net.JoinHostPort(host, port) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return fmt.Errorf("bad URL: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s answered %s", *target, resp.Status)
	}
	return nil
}
