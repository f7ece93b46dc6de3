package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/cache"
	"github.com/paymon/paymon/internal/config"
	"github.com/paymon/paymon/internal/httpapi"
	"github.com/paymon/paymon/internal/metrics"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/payment/provider/simulator"
	"github.com/paymon/paymon/internal/store/sqlite"
	"github.com/paymon/paymon/web"
)

// app is everything serve starts, so tests and shutdown see one object.
type app struct {
	cfg      *config.Config
	log      *slog.Logger
	closers  []func() error
	payments *payment.Service
	auth     *auth.Service
	handler  http.Handler
}

func (a *app) close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	return errors.Join(errs...)
}

func serve(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, environ, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	metrics.SetBuildInfo(version)

	a, err := build(ctx, cfg, logger, stdout)
	if err != nil {
		return err
	}
	defer func() {
		if err := a.close(); err != nil {
			logger.Error("shutdown", "err", err)
		}
	}()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	fmt.Fprintf(stdout, "Paymon %s listening on http://%s (store: %s, cache: %s)\n", version, displayAddr(ln.Addr().String()), storeName(cfg), cacheName(cfg))

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	done := a.background(bg)

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

// build wires every component from the configuration.
func build(ctx context.Context, cfg *config.Config, logger *slog.Logger, stdout io.Writer) (*app, error) {
	a := &app{cfg: cfg, log: logger}
	fail := func(err error) (*app, error) {
		_ = a.close()
		return nil, err
	}
	db, err := sqlite.Open(filepath.Join(cfg.DataDir, "paymon.db"))
	if err != nil {
		return fail(err)
	}
	a.closers = append(a.closers, db.Close)
	mem := cache.NewMemory(100_000)
	a.closers = append(a.closers, mem.Close)

	a.auth, err = auth.NewService(ctx, db, cfg.JWTSecret, auth.Options{})
	if err != nil {
		return fail(err)
	}
	if err := a.ensureAdmin(ctx, stdout); err != nil {
		return fail(err)
	}

	providers := []payment.Provider{simulator.New(simulator.Options{FailureRate: cfg.SimulatorFailureRate})}
	a.payments, err = payment.NewService(db, mem, providers, payment.Options{DefaultProvider: cfg.Provider, Logger: logger})
	if err != nil {
		return fail(err)
	}
	a.payments.Observe(metricsObserver{})

	a.handler = httpapi.New(httpapi.Deps{
		Payments: a.payments, Auth: a.auth, Limiter: mem,
		Checks:       map[string]func(context.Context) error{"store": db.Ping, "cache": mem.Ping},
		Logger:       logger,
		AccessLog:    cfg.LogLevel <= slog.LevelDebug,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Version:      version,
		UI:           web.Handler(),
	})
	return a, nil
}

// ensureAdmin creates the first admin on an empty store and tells the
// person at the terminal how to log in.
func (a *app) ensureAdmin(ctx context.Context, stdout io.Writer) error {
	created, pw, err := a.auth.EnsureAdmin(ctx, a.cfg.AdminEmail, a.cfg.AdminPassword)
	if err != nil {
		return fmt.Errorf("cannot create the first admin: %w", err)
	}
	pwFile := filepath.Join(a.cfg.DataDir, "initial-admin-password")
	switch {
	case created && a.cfg.AdminPassword == "":
		fmt.Fprintf(stdout, "First admin created: %s / %s (shown once; also in %s, delete it once you have changed it)\n", a.cfg.AdminEmail, pw, pwFile)
		if a.cfg.MongoURI == "" {
			if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
				a.log.Warn("cannot keep the initial admin password", "err", err)
			}
		}
	case created:
		fmt.Fprintf(stdout, "First admin created: %s (password from PAYMON_ADMIN_PASSWORD)\n", a.cfg.AdminEmail)
	default:
		if b, err := os.ReadFile(pwFile); err == nil && a.cfg.MongoURI == "" {
			fmt.Fprintf(stdout, "Log in as %s / %s (from %s)\n", a.cfg.AdminEmail, strings.TrimSpace(string(b)), pwFile)
		} else {
			fmt.Fprintf(stdout, "Log in as an existing user (first admin: %s)\n", a.cfg.AdminEmail)
		}
	}
	return nil
}

// background runs the periodic jobs: reconciliation of pending payments and
// sweeps of expired idempotency keys and refresh tokens.
func (a *app) background(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		reconcile := time.NewTicker(30 * time.Second)
		sweep := time.NewTicker(10 * time.Minute)
		defer reconcile.Stop()
		defer sweep.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-reconcile.C:
				res, err := a.payments.Reconcile(ctx, time.Minute, a.cfg.PendingTimeout, 500)
				if err != nil {
					a.log.Warn("reconcile", "err", err)
					continue
				}
				metrics.PaymentsPending.Reset()
				for p, n := range res.PendingByProvider {
					metrics.PaymentsPending.WithLabelValues(p).Set(float64(n))
				}
				if res.Settled+res.Expired > 0 {
					a.log.Info("reconciled pending payments", "checked", res.Checked, "settled", res.Settled, "expired", res.Expired)
				}
			case <-sweep.C:
				if n, err := a.payments.Sweep(ctx); err != nil {
					a.log.Warn("idempotency sweep", "err", err)
				} else if n > 0 {
					a.log.Debug("idempotency sweep", "deleted", n)
				}
				if _, err := a.auth.Sweep(ctx); err != nil {
					a.log.Warn("refresh token sweep", "err", err)
				}
			}
		}
	}()
	return done
}
