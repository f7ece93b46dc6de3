// Package app wires Paymon's components from a Config: the store, cache,
// services, background jobs and the HTTP handler. `paymon serve` and the
// end-to-end tests build the very same App.
package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/paymon/paymon/internal/alert"
	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/cache"
	"github.com/paymon/paymon/internal/config"
	"github.com/paymon/paymon/internal/dependency"
	"github.com/paymon/paymon/internal/httpapi"
	"github.com/paymon/paymon/internal/logbook"
	"github.com/paymon/paymon/internal/payment"
	"github.com/paymon/paymon/internal/payment/provider/paypal"
	"github.com/paymon/paymon/internal/payment/provider/simulator"
	"github.com/paymon/paymon/internal/payment/provider/stripe"
	"github.com/paymon/paymon/internal/realtime"
	mongostore "github.com/paymon/paymon/internal/store/mongo"
	"github.com/paymon/paymon/internal/store/sqlite"
	"github.com/paymon/paymon/internal/syslog"
	"github.com/paymon/paymon/internal/webhook"
	"github.com/paymon/paymon/web"
)

// LevelFatal is above slog.LevelError: a damaged store, which needs an
// operator (serve prints it as FATAL).
const LevelFatal = slog.LevelError + 4

// App is everything serve starts, so tests and shutdown see one object.
type App struct {
	version  string
	cfg      *config.Config
	log      *slog.Logger
	closers  []func() error
	redis    *cache.Redis                           // nil without PAYMON_REDIS_URL
	busPing  func(context.Context) error            // for /readyz
	checks   map[string]func(context.Context) error // by dependency name: /readyz and the background probe
	Payments *payment.Service
	Auth     *auth.Service
	Logs     *logbook.Service
	Handler  http.Handler
	// Alerts is the alert engine; Background runs it.
	Alerts *alert.Engine
	// Streams fans payments, logs and alerts out to live clients; the
	// alert engine and the log ingest publish through it.
	Streams *realtime.Hub
	// Syslog is the syslog listener, nil unless PAYMON_SYSLOG_ADDR is set.
	Syslog *syslog.Listener
	// Webhooks delivers payment events to merchant endpoints.
	Webhooks *webhook.Service
}

func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	return errors.Join(errs...)
}

// New wires every component from the configuration.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger, stdout io.Writer, version string) (*App, error) {
	a := &App{cfg: cfg, log: logger, version: version}
	fail := func(err error) (*App, error) {
		_ = a.Close()
		return nil, err
	}
	if cfg.MongoURI == "" {
		// One server per embedded store: a second one would diverge from
		// the first in cache, rate limits and live feeds. With MongoDB
		// several instances are the point.
		release, err := sqlite.LockDataDir(cfg.DataDir)
		if err != nil {
			return fail(err)
		}
		a.closers = append(a.closers, release)
	}
	dbPath := filepath.Join(cfg.DataDir, "paymon.db")
	db, err := sqlite.Open(dbPath)
	if err != nil {
		if errors.Is(err, dependency.ErrCorrupt) {
			logger.Log(ctx, LevelFatal, "the database is damaged; not starting", "path", dbPath, "err", err)
		}
		return fail(err)
	}
	a.closers = append(a.closers, db.Close)
	// Damage found while running: the store fences itself and fails
	// /readyz; the operator hears of it once, at the highest level.
	db.OnCorrupt(func(err error) {
		logger.Log(context.Background(), LevelFatal, "the database is damaged: writes refused, /readyz failing; restore it from a backup", "path", dbPath, "err", err)
	})
	var mem cache.Cache = cache.NewMemory(100_000)
	a.closers = append(a.closers, mem.Close)
	// Production stores: MongoDB for payments, identities, logs and
	// alerts, Redis for the cache, rate limits and the bus, shared by every
	// instance.
	var payStore payment.Store = db
	var authStore auth.Store = db
	var logStore logbook.Store = db
	var alertStore alert.Store = db
	var hookStore webhook.Store = db
	storePing := db.Ping
	if cfg.MongoURI != "" {
		ms, err := mongostore.Open(ctx, cfg.MongoURI, cfg.MongoDatabase)
		if err != nil {
			return fail(fmt.Errorf("cannot open MongoDB: %w", err))
		}
		a.closers = append(a.closers, ms.Close)
		payStore, authStore, storePing = ms, ms, ms.Ping
		if logStore, err = mongostore.NewLogStore(ctx, ms); err != nil {
			return fail(fmt.Errorf("cannot open the MongoDB log store: %w", err))
		}
		if alertStore, err = mongostore.NewAlertStore(ctx, ms); err != nil {
			return fail(fmt.Errorf("cannot open the MongoDB alert store: %w", err))
		}
		if hookStore, err = mongostore.NewWebhookStore(ctx, ms); err != nil {
			return fail(fmt.Errorf("cannot open the MongoDB webhook store: %w", err))
		}
	}
	if cfg.RedisURL != "" {
		a.redis, err = cache.NewRedis(cfg.RedisURL)
		if err != nil {
			return fail(err)
		}
		a.closers = append(a.closers, a.redis.Close)
		mem = a.redis
	}

	a.Auth, err = auth.NewService(ctx, authStore, cfg.JWTSecret, auth.Options{Logger: logger})
	if err != nil {
		return fail(err)
	}
	if err := a.ensureAdmin(ctx, stdout); err != nil {
		return fail(err)
	}
	a.warnLoosePermissions()

	providers, err := newProviders(cfg, logger)
	if err != nil {
		return fail(err)
	}
	a.Payments, err = payment.NewService(payStore, mem, providers, payment.Options{DefaultProvider: cfg.Provider, Refusal: httpapi.RenderRefusal, Logger: logger})
	if err != nil {
		return fail(err)
	}
	a.Payments.Observe(metricsObserver{})
	a.newWebhooks(hookStore)

	retention, err := config.ParseRetention(cfg.LogRetention)
	if err != nil {
		return fail(fmt.Errorf("PAYMON_LOG_RETENTION: %w", err))
	}
	logRetention := map[logbook.Level]time.Duration{}
	for l, d := range retention {
		logRetention[logbook.Level(l)] = d
	}
	a.Logs = logbook.NewService(logStore, mem, logbook.Options{Retention: logRetention, Logger: logger})
	a.closers = append(a.closers, a.Logs.Close) // before db.Close: it writes what is queued
	a.Payments.Observe(logObserver{logs: a.Logs})

	bus, err := a.newBus()
	if err != nil {
		return fail(err)
	}
	// Revocations travel on the same bus, and are read back from the store,
	// so a revoked key or a disabled user loses access on every instance.
	stopRevocations, err := a.Auth.Listen(ctx, bus, 0)
	if err != nil {
		return fail(err)
	}
	a.closers = append(a.closers, func() error { stopRevocations(); return nil })
	a.Streams, err = realtime.NewHub(ctx, bus, realtime.Options{Logger: logger, MaxSubscribers: int(cfg.StreamMaxClients)})
	if err != nil {
		return fail(err)
	}
	a.closers = append(a.closers, func() error { a.StopStreams(); return nil })
	// New's ctx ends when the process is asked to stop: close the streams
	// then, before http.Server.Shutdown, which neither closes hijacked
	// WebSocket connections nor returns while an SSE response is open.
	context.AfterFunc(ctx, a.StopStreams)
	a.Payments.Observe(realtime.PaymentObserver{Hub: a.Streams, Log: logger})
	a.Logs.OnIngest(realtime.LogPublisher(a.Streams, logger))

	var errCounter alert.ErrorCounter
	if a.Logs != nil {
		errCounter = logErrorCounter{a.Logs}
	}
	// Alerts are kept with the logs (MongoDB when configured, so that one
	// instance wins each transition); the webhook secret goes with the
	// identities.
	if err := a.newAlerts(ctx, alertStore, authStore, stdout, errCounter); err != nil {
		return fail(err)
	}
	if a.Streams != nil {
		a.Alerts.OnTransition(streamAlert(a.Streams, logger))
	}
	if a.Logs != nil {
		a.Alerts.OnTransition(logAlert(a.Logs))
	}

	a.checks = map[string]func(context.Context) error{"store": storePing, "cache": mem.Ping, "bus": a.busPing}
	a.Handler = httpapi.New(httpapi.Deps{
		Payments: a.Payments, Auth: a.Auth, Limiter: mem, Logs: a.Logs,
		ServerErrors: serverErrorLogger(a.Logs),
		Checks:       a.checks,
		Logger:       logger,
		AccessLog:    cfg.AccessLog,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Version:      version,
		UI:           web.Handler(),
		Alerts:       a.Alerts,
		Streams:      httpapi.StreamConfig{Hub: a.Streams},
		Webhooks:     a.Webhooks,
	})
	if err := a.startSyslog(stdout); err != nil {
		return fail(err)
	}
	return a, nil
}

// startSyslog opens the syslog listener when PAYMON_SYSLOG_ADDR is set.
// Its closer runs before the log service's (closers run in reverse), so
// what it has read is written.
func (a *App) startSyslog(stdout io.Writer) error {
	if a.cfg.SyslogAddr == "" {
		return nil
	}
	l, err := syslog.Listen(a.cfg.SyslogAddr, a.Logs, syslog.Options{Logger: a.log})
	if err != nil {
		return fmt.Errorf("PAYMON_SYSLOG_ADDR: %w", err)
	}
	a.Syslog = l
	a.closers = append(a.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return l.Close(ctx)
	})
	fmt.Fprintf(stdout, "Syslog listening on tcp and udp %s (no authentication: keep it on a trusted network)\n", l.Addr())
	return nil
}

// newBus is the one place the event bus is chosen: in-process for one
// instance; Redis pub/sub (internal/cache) when PAYMON_REDIS_URL is set,
// so that every instance sees every event.
func (a *App) newBus() (realtime.Bus, error) {
	if a.redis != nil {
		rb := cache.NewRedisBus(a.redis.Client())
		a.busPing = rb.Ping
		return rb, nil
	}
	a.busPing = func(context.Context) error { return nil }
	bus := realtime.NewLocalBus()
	a.closers = append(a.closers, bus.Close)
	return bus, nil
}

// StopStreams closes every open stream (WebSocket: 1001 going away; SSE:
// end of response) and waits up to 10 s for their goroutines to end. Safe
// to call more than once; serve may also pass it to
// http.Server.RegisterOnShutdown.
func (a *App) StopStreams() {
	if a.Streams == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Streams.Shutdown(ctx); err != nil {
		a.log.Warn("stream shutdown", "err", err)
	}
}

// ensureAdmin creates the first admin on an empty store and tells the
// person at the terminal how to log in.
func (a *App) ensureAdmin(ctx context.Context, stdout io.Writer) error {
	created, pw, err := a.Auth.EnsureAdmin(ctx, a.cfg.AdminEmail, a.cfg.AdminPassword)
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
func (a *App) Background(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		alerts := a.runAlerts(ctx)
		defer func() { <-alerts }()
		probe := probeDependencies(ctx, a.checks, probeInterval, a.log)
		defer func() { <-probe }()
		var pending pendingGauge
		pending.set(a.Payments.Providers(), nil) // 0, not absent, until the first reconcile
		hooks := a.runWebhooks(ctx)
		defer func() { <-hooks }()
		reconcile := time.NewTicker(30 * time.Second)
		sweep := time.NewTicker(10 * time.Minute)
		logSweep := time.NewTicker(5 * time.Minute)
		defer logSweep.Stop()
		defer reconcile.Stop()
		defer sweep.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-reconcile.C:
				res, err := a.Payments.Reconcile(ctx, time.Minute, a.cfg.PendingTimeout, 500)
				if err != nil {
					a.log.Warn("reconcile", "err", err)
					continue
				}
				pending.set(a.Payments.Providers(), res.PendingByProvider)
				if res.Settled+res.Expired > 0 {
					a.log.Info("reconciled pending payments", "checked", res.Checked, "settled", res.Settled, "expired", res.Expired)
				}
			case <-logSweep.C:
				if n, err := a.Logs.Sweep(ctx); err != nil {
					a.log.Warn("log retention sweep", "err", err)
				} else if n > 0 {
					a.log.Debug("log retention sweep", "deleted", n)
				}
			case <-sweep.C:
				if n, err := a.Payments.Sweep(ctx); err != nil {
					a.log.Warn("idempotency sweep", "err", err)
				} else if n > 0 {
					a.log.Debug("idempotency sweep", "deleted", n)
				}
				if _, err := a.Auth.Sweep(ctx); err != nil {
					a.log.Warn("refresh token sweep", "err", err)
				}
			}
		}
	}()
	return done
}

// secretStore keeps generated secrets where every instance finds them
// (auth.Store).
type secretStore interface {
	GetOrCreateSecret(ctx context.Context, name string, gen []byte) ([]byte, error)
}

// newAlerts builds the alert engine over store, with the webhook notifier
// when PAYMON_ALERT_WEBHOOK_URL is set. errs may be nil (no log store):
// ErrorLogSpike is then left out.
func (a *App) newAlerts(ctx context.Context, store alert.Store, secrets secretStore, stdout io.Writer, errs alert.ErrorCounter) error {
	var webhook *alert.Webhook
	if a.cfg.AlertWebhookURL != "" {
		secret := []byte(a.cfg.AlertWebhookSecret)
		if len(secret) == 0 {
			// Kept in the store so every instance signs with the same key
			// and a restart does not break the receiver's verification.
			gen := make([]byte, 32)
			if _, err := rand.Read(gen); err != nil {
				return fmt.Errorf("cannot generate the alert webhook secret: %w", err)
			}
			gen = []byte(hex.EncodeToString(gen))
			got, err := secrets.GetOrCreateSecret(ctx, "alert_webhook_secret", gen)
			if err != nil {
				return fmt.Errorf("cannot keep the alert webhook secret: %w", err)
			}
			if bytes.Equal(got, gen) {
				fmt.Fprintf(stdout, "Alert webhook signing secret generated: %s (shown once; set PAYMON_ALERT_WEBHOOK_SECRET to choose your own)\n", got)
			}
			secret = got
		}
		webhook = alert.NewWebhook(alert.WebhookOptions{URL: a.cfg.AlertWebhookURL, Secret: secret, Logger: a.log})
		a.closers = append(a.closers, webhook.Close)
	}
	rules := alert.Builtin(alert.Rules{
		FailureWindow: a.cfg.AlertFailureWindow, FailureRatio: a.cfg.AlertFailureRatio,
		FailureMinPayments: a.cfg.AlertFailureMinPayments, FailureStreak: int(a.cfg.AlertFailureStreak),
		NoPaymentsWindow: a.cfg.AlertNoPaymentsWindow,
		ErrorLogWindow:   a.cfg.AlertErrorLogWindow, ErrorLogThreshold: a.cfg.AlertErrorLogThreshold,
	}, a.Payments, errs)
	rules = append(rules, a.webhookRules()...)
	a.Alerts = alert.NewEngine(store, rules, alert.Options{Logger: a.log, Webhook: webhook})
	return nil
}

// runAlerts evaluates the alert rules every PAYMON_ALERT_EVAL_INTERVAL
// until ctx ends; the returned channel closes when the engine stopped.
func (a *App) runAlerts(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Alerts.Run(ctx, a.cfg.AlertEvalInterval)
	}()
	return done
}

// logErrorCounter feeds ErrorLogSpike from the log store's roll-up
// counters, never by scanning entries.
type logErrorCounter struct{ logs *logbook.Service }

func (c logErrorCounter) CountErrors(ctx context.Context, from, to time.Time) (int64, error) {
	st, err := c.logs.Stats(ctx, logbook.StatsQuery{From: from, To: to, Step: time.Minute})
	if err != nil {
		return 0, err
	}
	return st.ByLevel[logbook.LevelError] + st.ByLevel[logbook.LevelFatal], nil
}

// streamAlert publishes each transition on the alerts topic.
func streamAlert(hub *realtime.Hub, log *slog.Logger) func(context.Context, alert.Alert) {
	return func(ctx context.Context, al alert.Alert) {
		if err := hub.PublishAlert(ctx, al.Event(), al); err != nil {
			log.Warn("cannot stream alert", "alert_id", al.ID, "err", err)
		}
	}
}

// logAlert records each transition in the log store (service paymon;
// error for a critical alert firing, warn otherwise).
func logAlert(logs *logbook.Service) func(context.Context, alert.Alert) {
	return func(_ context.Context, al alert.Alert) {
		level := logbook.LevelWarn
		if al.Level() == slog.LevelError {
			level = logbook.LevelError
		}
		attrs := map[string]any{"alert_id": al.ID, "rule": al.Rule, "severity": string(al.Severity), "state": string(al.State)}
		for k, v := range al.Labels {
			attrs["label_"+k] = v
		}
		at := al.StartedAt
		if al.ResolvedAt != nil {
			at = *al.ResolvedAt
		}
		msg := fmt.Sprintf("alert %s firing: %s", al.Rule, al.Summary)
		if al.State == alert.Resolved {
			msg = fmt.Sprintf("alert %s resolved (it fired for: %s)", al.Rule, al.Summary)
		}
		logs.Emit(logbook.Entry{Time: at, Level: level, Service: "paymon", Attributes: attrs, Message: msg})
	}
}

// newProviders builds the simulator, plus Stripe and PayPal when their
// credentials are configured.
func newProviders(cfg *config.Config, logger *slog.Logger) ([]payment.Provider, error) {
	providers := []payment.Provider{simulator.New(simulator.Options{FailureRate: cfg.SimulatorFailureRate})}
	if cfg.StripeSecretKey != "" {
		sp, err := stripe.New(stripe.Options{SecretKey: cfg.StripeSecretKey, WebhookSecret: cfg.StripeWebhookSecret, APIBase: cfg.StripeAPIBase, Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("cannot set up stripe: %w", err)
		}
		providers = append(providers, sp)
	}
	if cfg.PayPalClientID != "" && cfg.PayPalSecret != "" {
		pp, err := paypal.New(paypal.Options{ClientID: cfg.PayPalClientID, Secret: cfg.PayPalSecret, APIBase: cfg.PayPalAPIBase, WebhookID: cfg.PayPalWebhookID})
		if err != nil {
			return nil, fmt.Errorf("cannot set up paypal: %w", err)
		}
		providers = append(providers, pp)
	}
	return providers, nil
}
