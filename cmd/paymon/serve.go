package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/paymon/paymon/internal/app"
	"github.com/paymon/paymon/internal/config"
	"github.com/paymon/paymon/internal/metrics"
)

func serve(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, environ, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel, ReplaceAttr: fatalLevel}))
	metrics.SetBuildInfo(version)

	// The address first: a taken port must fail before the store, the
	// first admin and its password are created (and printed) for nothing.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (set PAYMON_ADDR to a free address): %w", cfg.Addr, err)
	}
	defer ln.Close() // Serve closes it too; this covers the failed starts
	a, err := app.New(ctx, cfg, logger, stdout, version)
	if err != nil {
		return err
	}
	defer func() {
		if err := a.Close(); err != nil {
			logger.Error("shutdown", "err", err)
		}
	}()

	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// Shutdown neither closes hijacked WebSocket connections nor waits for
	// open SSE responses: close the streams ourselves.
	srv.RegisterOnShutdown(a.StopStreams)
	fmt.Fprintf(stdout, "Paymon %s listening on http://%s (store: %s, cache: %s)\n", version, displayAddr(ln.Addr().String()), storeName(cfg), cacheName(cfg))

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	done := a.Background(bg)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		stopBG()
		<-done
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	stopBG()
	<-done
	if err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

func displayAddr(a string) string {
	host, port, _ := net.SplitHostPort(a)
	if host == "0.0.0.0" || host == "::" || host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func storeName(c *config.Config) string {
	if c.MongoURI != "" {
		return "mongodb"
	}
	return "sqlite " + filepath.Join(c.DataDir, "paymon.db")
}

func cacheName(c *config.Config) string {
	if c.RedisURL != "" {
		return "redis"
	}
	return "in-process"
}

// fatalLevel prints app.LevelFatal as "FATAL" rather than slog's "ERROR+4".
func fatalLevel(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.LevelKey && len(groups) == 0 {
		if l, ok := a.Value.Any().(slog.Level); ok && l >= app.LevelFatal {
			a.Value = slog.StringValue("FATAL")
		}
	}
	return a
}
