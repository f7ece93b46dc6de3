// Package config reads Paymon's configuration from PAYMON_* environment
// variables and the equivalent flags (flags win), validates it, and prints
// it with secrets masked. Every setting is declared once, in options(), so
// the help text, the README table and the deploy files cannot drift apart.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of `paymon serve`.
type Config struct {
	Addr          string
	DataDir       string
	MongoURI      string
	MongoDatabase string
	RedisURL      string

	AdminEmail    string
	AdminPassword string
	JWTSecret     string

	Provider             string
	SimulatorFailureRate float64
	StripeSecretKey      string
	StripeWebhookSecret  string
	StripeAPIBase        string
	PayPalClientID       string
	PayPalSecret         string
	PayPalAPIBase        string
	PayPalWebhookID      string

	AlertWebhookURL    string
	AlertWebhookSecret string
	AlertEvalInterval  time.Duration
	// Thresholds of the alert engine's built-in rules (docs/alerts.md).
	AlertFailureRatio       float64
	AlertFailureWindow      time.Duration
	AlertFailureMinPayments int64
	AlertFailureStreak      int64
	AlertNoPaymentsWindow   time.Duration
	AlertErrorLogThreshold  int64
	AlertErrorLogWindow     time.Duration

	LogLevel         slog.Level
	AccessLog        bool
	LogRetention     string
	MaxBodyBytes     int64
	PendingTimeout   time.Duration
	StreamMaxClients int64
	// SyslogAddr enables the syslog listener (TCP and UDP) when set.
	SyslogAddr string

	// Merchant webhooks (docs/webhooks.md).
	WebhookAllowPrivate bool
	WebhookRetryBase    time.Duration
	WebhookRetryMax     time.Duration
	WebhookRetryFor     time.Duration
}

type option struct {
	env, flag, def, help string
	secret               bool
	set                  func(c *Config, v string) error
}

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func options() []option {
	return []option{
		{"PAYMON_ADDR", "addr", "127.0.0.1:8080", "address to listen on (host:port)", false, func(c *Config, v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("must be host:port: %w", err)
			}
			c.Addr = v
			return nil
		}},
		{"PAYMON_DATA_DIR", "data-dir", "./data", "directory of the embedded SQLite store (used when PAYMON_MONGODB_URI is unset)", false, str(func(c *Config) *string { return &c.DataDir })},
		{"PAYMON_MONGODB_URI", "mongodb-uri", "", "MongoDB connection string; when set, MongoDB replaces the embedded store", true, urlOpt("mongodb", "mongodb+srv", func(c *Config) *string { return &c.MongoURI })},
		{"PAYMON_MONGODB_DATABASE", "mongodb-database", "paymon", "MongoDB database name", false, str(func(c *Config) *string { return &c.MongoDatabase })},
		{"PAYMON_REDIS_URL", "redis-url", "", "Redis URL (redis://host:port/db); when set, Redis replaces the in-process cache and bus", true, urlOpt("redis", "rediss", func(c *Config) *string { return &c.RedisURL })},
		{"PAYMON_ADMIN_EMAIL", "admin-email", "admin@paymon.local", "email of the first admin, created when there is no user", false, str(func(c *Config) *string { return &c.AdminEmail })},
		{"PAYMON_ADMIN_PASSWORD", "admin-password", "", "password of the first admin; generated and printed once when empty", true, func(c *Config, v string) error {
			if v != "" && len(v) < 8 {
				return errors.New("must be at least 8 characters")
			}
			c.AdminPassword = v
			return nil
		}},
		{"PAYMON_JWT_SECRET", "jwt-secret", "", "HMAC secret for access tokens (32+ bytes); generated and kept in the store when empty", true, func(c *Config, v string) error {
			if v != "" && len(v) < 32 {
				return errors.New("must be at least 32 bytes")
			}
			c.JWTSecret = v
			return nil
		}},
		{"PAYMON_PROVIDER", "provider", "simulator", "default payment provider: simulator, stripe or paypal", false, func(c *Config, v string) error {
			switch v {
			case "simulator", "stripe", "paypal":
				c.Provider = v
				return nil
			}
			return fmt.Errorf("must be simulator, stripe or paypal")
		}},
		{"PAYMON_SIMULATOR_FAILURE_RATE", "simulator-failure-rate", "0.05", "share of simulator payments that fail when metadata.simulate is not given (0 to 1)", false, func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				return errors.New("must be a number between 0 and 1")
			}
			c.SimulatorFailureRate = f
			return nil
		}},
		{"PAYMON_STRIPE_SECRET_KEY", "stripe-secret-key", "", "Stripe secret key (sk_…); enables the stripe provider", true, str(func(c *Config) *string { return &c.StripeSecretKey })},
		{"PAYMON_STRIPE_WEBHOOK_SECRET", "stripe-webhook-secret", "", "Stripe webhook signing secret (whsec_…)", true, str(func(c *Config) *string { return &c.StripeWebhookSecret })},
		{"PAYMON_STRIPE_API_BASE", "stripe-api-base", "", "Stripe API base URL (tests point it at stripe-mock)", false, urlOpt("http", "https", func(c *Config) *string { return &c.StripeAPIBase })},
		{"PAYMON_PAYPAL_CLIENT_ID", "paypal-client-id", "", "PayPal REST client id; enables the paypal provider with PAYMON_PAYPAL_SECRET", false, str(func(c *Config) *string { return &c.PayPalClientID })},
		{"PAYMON_PAYPAL_SECRET", "paypal-secret", "", "PayPal REST client secret", true, str(func(c *Config) *string { return &c.PayPalSecret })},
		{"PAYMON_PAYPAL_API_BASE", "paypal-api-base", "https://api-m.sandbox.paypal.com", "PayPal API base URL (sandbox by default; https://api-m.paypal.com for live)", false, urlOpt("http", "https", func(c *Config) *string { return &c.PayPalAPIBase })},
		{"PAYMON_PAYPAL_WEBHOOK_ID", "paypal-webhook-id", "", "PayPal webhook id, used to verify webhook signatures", false, str(func(c *Config) *string { return &c.PayPalWebhookID })},
		{"PAYMON_ALERT_WEBHOOK_URL", "alert-webhook-url", "", "URL that receives alert notifications (JSON, HMAC-SHA256 signed)", false, urlOpt("http", "https", func(c *Config) *string { return &c.AlertWebhookURL })},
		{"PAYMON_ALERT_WEBHOOK_SECRET", "alert-webhook-secret", "", "HMAC key for alert notifications; generated and kept in the store when empty", true, str(func(c *Config) *string { return &c.AlertWebhookSecret })},
		{"PAYMON_ALERT_EVAL_INTERVAL", "alert-eval-interval", "15s", "how often alert rules are evaluated", false, durOpt(time.Second, func(c *Config) *time.Duration { return &c.AlertEvalInterval })},
		{"PAYMON_ALERT_FAILURE_RATIO", "alert-failure-ratio", "0.2", "PaymentFailureRateHigh fires above this share of failed among finished payments (0 to 1)", false, func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 || f >= 1 {
				return errors.New("must be a number between 0 and 1 (exclusive)")
			}
			c.AlertFailureRatio = f
			return nil
		}},
		{"PAYMON_ALERT_FAILURE_WINDOW", "alert-failure-window", "5m", "window of PaymentFailureRateHigh, rounded out to whole minutes", false, durOpt(time.Minute, func(c *Config) *time.Duration { return &c.AlertFailureWindow })},
		{"PAYMON_ALERT_FAILURE_MIN_PAYMENTS", "alert-failure-min-payments", "20", "PaymentFailureRateHigh needs at least this many finished payments in its window", false, intOpt(1, func(c *Config) *int64 { return &c.AlertFailureMinPayments })},
		{"PAYMON_ALERT_FAILURE_STREAK", "alert-failure-streak", "10", "PaymentFailureStreak fires when this many last finished payments of a provider all failed", false, intOpt(2, func(c *Config) *int64 { return &c.AlertFailureStreak })},
		{"PAYMON_ALERT_NO_PAYMENTS_WINDOW", "alert-no-payments-window", "15m", "NoPaymentsReceived fires when no payment was created for this long (after a first one)", false, durOpt(time.Minute, func(c *Config) *time.Duration { return &c.AlertNoPaymentsWindow })},
		{"PAYMON_ALERT_ERROR_LOG_THRESHOLD", "alert-error-log-threshold", "300", "ErrorLogSpike fires above this many error/fatal log entries per PAYMON_ALERT_ERROR_LOG_WINDOW", false, intOpt(1, func(c *Config) *int64 { return &c.AlertErrorLogThreshold })},
		{"PAYMON_ALERT_ERROR_LOG_WINDOW", "alert-error-log-window", "5m", "window of ErrorLogSpike", false, durOpt(time.Minute, func(c *Config) *time.Duration { return &c.AlertErrorLogWindow })},
		{"PAYMON_LOG_LEVEL", "log-level", "info", "level of Paymon's own logs: debug, info, warn, error", false, func(c *Config, v string) error {
			return c.LogLevel.UnmarshalText([]byte(v))
		}},
		{"PAYMON_ACCESS_LOG", "access-log", "true", "write one structured log line per HTTP request (true or false)", false, func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("must be true or false")
			}
			c.AccessLog = b
			return nil
		}},
		{"PAYMON_LOG_RETENTION", "log-retention", "debug=24h,info=168h,warn=336h,error=720h,fatal=720h", "how long stored log entries are kept, per level", false, func(c *Config, v string) error {
			if _, err := ParseRetention(v); err != nil {
				return err
			}
			c.LogRetention = v
			return nil
		}},
		{"PAYMON_MAX_BODY_BYTES", "max-body-bytes", "1048576", "largest accepted request body, in bytes (log ingest allows 16x)", false, func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1024 {
				return errors.New("must be an integer of at least 1024")
			}
			c.MaxBodyBytes = n
			return nil
		}},
		{"PAYMON_PENDING_TIMEOUT", "pending-timeout", "24h", "how long a payment may stay pending before the reconciler fails it", false, durOpt(time.Minute, func(c *Config) *time.Duration { return &c.PendingTimeout })},
		{"PAYMON_STREAM_MAX_CLIENTS", "stream-max-clients", "10000", "most WebSocket and SSE streams one instance keeps open; more get 503", false, intOpt(1, func(c *Config) *int64 { return &c.StreamMaxClients })},
		{"PAYMON_SYSLOG_ADDR", "syslog-addr", "", "address (host:port) of the syslog listener, TCP and UDP (RFC 5424/3164); off when unset. It has no authentication: bind it to loopback or a trusted network", false, func(c *Config, v string) error {
			if v != "" {
				if _, _, err := net.SplitHostPort(v); err != nil {
					return fmt.Errorf("must be host:port: %w", err)
				}
			}
			c.SyslogAddr = v
			return nil
		}},
		{"PAYMON_WEBHOOK_ALLOW_PRIVATE", "webhook-allow-private", "false", "let merchant webhook endpoints target loopback, link-local and private addresses (true or false)", false, func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("must be true or false")
			}
			c.WebhookAllowPrivate = b
			return nil
		}},
		{"PAYMON_WEBHOOK_RETRY_BASE", "webhook-retry-base", "10s", "delay before the first retry of a failed webhook delivery; each next one doubles (with jitter)", false, durOpt(time.Millisecond, func(c *Config) *time.Duration { return &c.WebhookRetryBase })},
		{"PAYMON_WEBHOOK_RETRY_MAX", "webhook-retry-max", "6h", "longest delay between two retries of a webhook delivery", false, durOpt(time.Millisecond, func(c *Config) *time.Duration { return &c.WebhookRetryMax })},
		{"PAYMON_WEBHOOK_RETRY_FOR", "webhook-retry-for", "72h", "how long a webhook delivery is retried before its endpoint is disabled and an alert fires", false, durOpt(time.Second, func(c *Config) *time.Duration { return &c.WebhookRetryFor })},
	}
}

func urlOpt(scheme1, scheme2 string, p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v != "" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != scheme1 && u.Scheme != scheme2) || u.Host == "" {
				return fmt.Errorf("must be a %s:// URL", scheme1)
			}
		}
		*p(c) = v
		return nil
	}
}

func intOpt(minimum int64, p func(*Config) *int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < minimum {
			return fmt.Errorf("must be an integer of at least %d", minimum)
		}
		*p(c) = n
		return nil
	}
}

func durOpt(minimum time.Duration, p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < minimum {
			return fmt.Errorf("must be a duration of at least %s (like 15s, 5m)", minimum)
		}
		*p(c) = d
		return nil
	}
}

// ParseRetention reads "level=duration,…" into a map.
func ParseRetention(v string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, part := range strings.Split(v, ",") {
		k, d, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%q: want level=duration", part)
		}
		switch k {
		case "debug", "info", "warn", "error", "fatal":
		default:
			return nil, fmt.Errorf("unknown level %q", k)
		}
		dur, err := time.ParseDuration(d)
		if err != nil || dur < time.Minute {
			return nil, fmt.Errorf("%s: retention must be a duration of at least 1m", k)
		}
		out[k] = dur
	}
	return out, nil
}

// Load builds a Config from defaults, then env, then flags. getenv is
// os.Getenv in production and a map in tests. An unknown PAYMON_* variable
// is an error, so a typo never silently falls back to a default.
func Load(args []string, environ []string, stderr io.Writer) (*Config, error) {
	opts := options()
	known := map[string]bool{}
	for _, o := range opts {
		known[o.env] = true
	}
	env := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PAYMON_") {
			if !known[k] && !ignoredEnv[k] {
				return nil, fmt.Errorf("unknown setting %s (see `paymon serve --help`)", k)
			}
			env[k] = v
		}
	}
	fs := flag.NewFlagSet("paymon serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { Usage(stderr) }
	flagVals := map[string]*string{}
	for _, o := range opts {
		flagVals[o.flag] = fs.String(o.flag, "", o.help)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	setByFlag := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { setByFlag[f.Name] = true })
	c := &Config{}
	var errs []error
	for _, o := range opts {
		v := o.def
		if e, ok := env[o.env]; ok {
			v = e
		}
		if setByFlag[o.flag] {
			v = *flagVals[o.flag]
		}
		if err := o.set(c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s (-%s): %w", o.env, o.flag, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return c, c.Validate()
}

// ignoredEnv are PAYMON_* variables read by other commands or tests, not
// by serve; they are accepted silently.
var ignoredEnv = map[string]bool{"PAYMON_TESTENV_REQUIRE": true, "PAYMON_BIN": true, "PAYMON_URL": true}

// Validate checks settings that depend on each other.
func (c *Config) Validate() error {
	var errs []error
	switch c.Provider {
	case "stripe":
		if c.StripeSecretKey == "" {
			errs = append(errs, errors.New("PAYMON_PROVIDER=stripe needs PAYMON_STRIPE_SECRET_KEY"))
		}
	case "paypal":
		if c.PayPalClientID == "" || c.PayPalSecret == "" {
			errs = append(errs, errors.New("PAYMON_PROVIDER=paypal needs PAYMON_PAYPAL_CLIENT_ID and PAYMON_PAYPAL_SECRET"))
		}
	}
	if (c.PayPalClientID == "") != (c.PayPalSecret == "") {
		errs = append(errs, errors.New("PAYMON_PAYPAL_CLIENT_ID and PAYMON_PAYPAL_SECRET go together"))
	}
	if c.MongoURI == "" && c.DataDir == "" {
		errs = append(errs, errors.New("PAYMON_DATA_DIR must not be empty without PAYMON_MONGODB_URI"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	return nil
}

// Usage prints every setting with its variable, flag and default.
func Usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: paymon serve [flags]\n\nEvery flag has an environment variable; a flag wins over its variable.\n\n")
	for _, o := range options() {
		def := o.def
		if def == "" {
			def = "(unset)"
		}
		fmt.Fprintf(w, "  -%s  %s\n      %s (default %s)\n", o.flag, o.env, o.help, def)
	}
}

// Names lists every PAYMON_* variable serve reads.
func Names() []string {
	var out []string
	for _, o := range options() {
		out = append(out, o.env)
	}
	sort.Strings(out)
	return out
}

// String prints the configuration with secrets masked, for start-up logs.
func (c *Config) String() string {
	vals := c.values()
	var b strings.Builder
	for _, o := range options() {
		v := vals[o.env]
		if o.secret && v != "" {
			v = "****"
		}
		fmt.Fprintf(&b, "%s=%s\n", o.env, v)
	}
	return b.String()
}

func (c *Config) values() map[string]string {
	return map[string]string{
		"PAYMON_ADDR": c.Addr, "PAYMON_DATA_DIR": c.DataDir, "PAYMON_MONGODB_URI": c.MongoURI,
		"PAYMON_MONGODB_DATABASE": c.MongoDatabase, "PAYMON_REDIS_URL": c.RedisURL,
		"PAYMON_ADMIN_EMAIL": c.AdminEmail, "PAYMON_ADMIN_PASSWORD": c.AdminPassword, "PAYMON_JWT_SECRET": c.JWTSecret,
		"PAYMON_PROVIDER": c.Provider, "PAYMON_SIMULATOR_FAILURE_RATE": strconv.FormatFloat(c.SimulatorFailureRate, 'g', -1, 64),
		"PAYMON_STRIPE_SECRET_KEY": c.StripeSecretKey, "PAYMON_STRIPE_WEBHOOK_SECRET": c.StripeWebhookSecret,
		"PAYMON_STRIPE_API_BASE": c.StripeAPIBase, "PAYMON_PAYPAL_CLIENT_ID": c.PayPalClientID,
		"PAYMON_PAYPAL_SECRET": c.PayPalSecret, "PAYMON_PAYPAL_API_BASE": c.PayPalAPIBase, "PAYMON_PAYPAL_WEBHOOK_ID": c.PayPalWebhookID,
		"PAYMON_ALERT_WEBHOOK_URL": c.AlertWebhookURL, "PAYMON_ALERT_WEBHOOK_SECRET": c.AlertWebhookSecret,
		"PAYMON_ALERT_EVAL_INTERVAL": c.AlertEvalInterval.String(),
		"PAYMON_ALERT_FAILURE_RATIO": strconv.FormatFloat(c.AlertFailureRatio, 'g', -1, 64), "PAYMON_ALERT_FAILURE_WINDOW": c.AlertFailureWindow.String(),
		"PAYMON_ALERT_FAILURE_MIN_PAYMENTS": strconv.FormatInt(c.AlertFailureMinPayments, 10), "PAYMON_ALERT_FAILURE_STREAK": strconv.FormatInt(c.AlertFailureStreak, 10),
		"PAYMON_ALERT_NO_PAYMENTS_WINDOW": c.AlertNoPaymentsWindow.String(), "PAYMON_ALERT_ERROR_LOG_THRESHOLD": strconv.FormatInt(c.AlertErrorLogThreshold, 10),
		"PAYMON_ALERT_ERROR_LOG_WINDOW": c.AlertErrorLogWindow.String(), "PAYMON_LOG_LEVEL": c.LogLevel.String(), "PAYMON_ACCESS_LOG": strconv.FormatBool(c.AccessLog),
		"PAYMON_LOG_RETENTION": c.LogRetention, "PAYMON_MAX_BODY_BYTES": strconv.FormatInt(c.MaxBodyBytes, 10),
		"PAYMON_PENDING_TIMEOUT": c.PendingTimeout.String(), "PAYMON_STREAM_MAX_CLIENTS": strconv.FormatInt(c.StreamMaxClients, 10),
		"PAYMON_SYSLOG_ADDR":           c.SyslogAddr,
		"PAYMON_WEBHOOK_ALLOW_PRIVATE": strconv.FormatBool(c.WebhookAllowPrivate), "PAYMON_WEBHOOK_RETRY_BASE": c.WebhookRetryBase.String(),
		"PAYMON_WEBHOOK_RETRY_MAX": c.WebhookRetryMax.String(), "PAYMON_WEBHOOK_RETRY_FOR": c.WebhookRetryFor.String(),
	}
}
