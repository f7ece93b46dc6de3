package config

import (
	"os"
	"path/filepath"

	"github.com/paymon/paymon/internal/testenv"
	"io"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c, err := Load(nil, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.Provider != "simulator" || c.MaxBodyBytes != 1<<20 || c.AlertEvalInterval != 15*time.Second {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestFlagBeatsEnv(t *testing.T) {
	c, err := Load([]string{"-addr", "127.0.0.1:9999"}, []string{"PAYMON_ADDR=127.0.0.1:7777", "PAYMON_LOG_LEVEL=debug"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.LogLevel.String() != "DEBUG" {
		t.Fatalf("got %s %s", c.Addr, c.LogLevel)
	}
}

func TestInvalidValuesAreRefused(t *testing.T) {
	cases := map[string]string{
		"PAYMON_ADDR=nonsense":                  "PAYMON_ADDR",
		"PAYMON_PROVIDER=bitcoin":               "PAYMON_PROVIDER",
		"PAYMON_SIMULATOR_FAILURE_RATE=2":       "PAYMON_SIMULATOR_FAILURE_RATE",
		"PAYMON_JWT_SECRET=short":               "PAYMON_JWT_SECRET",
		"PAYMON_REDIS_URL=http://x":             "PAYMON_REDIS_URL",
		"PAYMON_ALERT_EVAL_INTERVAL=1ms":        "PAYMON_ALERT_EVAL_INTERVAL",
		"PAYMON_LOG_RETENTION=trace=1h":         "PAYMON_LOG_RETENTION",
		"PAYMON_PROVIDER=stripe":                "PAYMON_STRIPE_SECRET_KEY",
		"PAYMON_TYPO_ADDR=1":                    "PAYMON_TYPO_ADDR",
		"PAYMON_PAYPAL_CLIENT_ID=only-the-id":   "PAYMON_PAYPAL_SECRET",
		"PAYMON_MAX_BODY_BYTES=12":              "PAYMON_MAX_BODY_BYTES",
		"PAYMON_MONGODB_URI=postgres://x/y":     "PAYMON_MONGODB_URI",
		"PAYMON_ADMIN_PASSWORD=short":           "PAYMON_ADMIN_PASSWORD",
		"PAYMON_PENDING_TIMEOUT=not-a-duration": "PAYMON_PENDING_TIMEOUT",
		"PAYMON_ALERT_FAILURE_RATIO=1.5":        "PAYMON_ALERT_FAILURE_RATIO",
		"PAYMON_ALERT_FAILURE_WINDOW=10s":       "PAYMON_ALERT_FAILURE_WINDOW",
		"PAYMON_ALERT_FAILURE_MIN_PAYMENTS=0":   "PAYMON_ALERT_FAILURE_MIN_PAYMENTS",
		"PAYMON_ALERT_FAILURE_STREAK=many":      "PAYMON_ALERT_FAILURE_STREAK",
		"PAYMON_ALERT_NO_PAYMENTS_WINDOW=-1m":   "PAYMON_ALERT_NO_PAYMENTS_WINDOW",
		"PAYMON_ALERT_ERROR_LOG_THRESHOLD=-3":   "PAYMON_ALERT_ERROR_LOG_THRESHOLD",
		"PAYMON_ALERT_ERROR_LOG_WINDOW=1h-ish":  "PAYMON_ALERT_ERROR_LOG_WINDOW",
		"PAYMON_STREAM_MAX_CLIENTS=0":           "PAYMON_STREAM_MAX_CLIENTS",
		"PAYMON_SYSLOG_ADDR=5514":               "PAYMON_SYSLOG_ADDR",
	}
	for kv, want := range cases {
		_, err := Load(nil, []string{kv}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to name %s", kv, err, want)
		}
	}
}

func TestStringMasksSecrets(t *testing.T) {
	c, err := Load(nil, []string{"PAYMON_JWT_SECRET=0123456789abcdef0123456789abcdef", "PAYMON_REDIS_URL=redis://:pw@127.0.0.1:6379/0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	if strings.Contains(s, "0123456789abcdef") || strings.Contains(s, ":pw@") {
		t.Fatalf("secret leaked:\n%s", s)
	}
	if !strings.Contains(s, "PAYMON_JWT_SECRET=****") {
		t.Fatalf("mask missing:\n%s", s)
	}
}

func TestUsageNamesEverySetting(t *testing.T) {
	var b strings.Builder
	Usage(&b)
	for _, n := range Names() {
		if !strings.Contains(b.String(), n) {
			t.Errorf("usage lacks %s", n)
		}
	}
}

func TestSyslogAddr(t *testing.T) {
	c, err := Load(nil, nil, io.Discard)
	if err != nil || c.SyslogAddr != "" {
		t.Fatalf("default: %q, %v; want the listener off", c.SyslogAddr, err)
	}
	c, err = Load(nil, []string{"PAYMON_SYSLOG_ADDR=127.0.0.1:5514"}, io.Discard)
	if err != nil || c.SyslogAddr != "127.0.0.1:5514" || !strings.Contains(c.String(), "PAYMON_SYSLOG_ADDR=127.0.0.1:5514") {
		t.Fatalf("set: %+v, %v", c, err)
	}
}

func TestAlertRuleSettings(t *testing.T) {
	c, err := Load(nil, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.AlertFailureRatio != 0.2 || c.AlertFailureWindow != 5*time.Minute || c.AlertFailureMinPayments != 20 || c.AlertFailureStreak != 10 ||
		c.AlertNoPaymentsWindow != 15*time.Minute || c.AlertErrorLogThreshold != 300 || c.AlertErrorLogWindow != 5*time.Minute {
		t.Fatalf("alert defaults: %+v", c)
	}
	c, err = Load([]string{"-alert-failure-streak", "3"}, []string{"PAYMON_ALERT_FAILURE_RATIO=0.5", "PAYMON_ALERT_NO_PAYMENTS_WINDOW=1h", "PAYMON_ALERT_ERROR_LOG_THRESHOLD=10"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.AlertFailureRatio != 0.5 || c.AlertFailureStreak != 3 || c.AlertNoPaymentsWindow != time.Hour || c.AlertErrorLogThreshold != 10 {
		t.Fatalf("alert settings not applied: %+v", c)
	}
	if s := c.String(); !strings.Contains(s, "PAYMON_ALERT_FAILURE_RATIO=0.5") || !strings.Contains(s, "PAYMON_ALERT_NO_PAYMENTS_WINDOW=1h0m0s") {
		t.Fatalf("String lacks alert settings:\n%s", s)
	}
}

// The README's configuration table is the user's reference: every setting
// serve reads must be in it.
func TestReadmeDocumentsEverySetting(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range Names() {
		if !strings.Contains(string(b), "`"+n+"`") {
			t.Errorf("README.md does not document %s", n)
		}
	}
}
