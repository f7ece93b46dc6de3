package syslog

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/logbook"
)

func TestParseRFC5424(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	p := newParser(func() time.Time { return now }, logbook.DefaultLimits)
	e, err := p.parse([]byte(`<165>1 2026-12-02T09:14:15.003Z web-1.example.com checkout 4242 ID47 [exampleSDID@32473 iut="3" eventSource="Application"][meta@1 order="o-9"] ` + "\uFEFF" + `payment captured` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := logbook.Entry{
		Time: time.Date(2026, 12, 2, 9, 14, 15, 3e6, time.UTC), Level: logbook.LevelInfo, Service: "checkout", Message: "payment captured",
		Attributes: map[string]any{"hostname": "web-1.example.com", "facility": "local4", "severity": "notice", "procid": "4242", "msgid": "ID47",
			"sd": map[string]any{"exampleSDID@32473": map[string]any{"iut": "3", "eventSource": "Application"}, "meta@1": map[string]any{"order": "o-9"}}},
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got  %+v\nwant %+v", e, want)
	}
}

func TestParseStructuredDataEscapes(t *testing.T) {
	p := newParser(time.Now, logbook.DefaultLimits)
	e, err := p.parse([]byte(`<14>1 - h a - - [q@1 v="say \"hi\" \] \\ ok"][timeQuality tzKnown="1"] m`))
	if err != nil {
		t.Fatal(err)
	}
	sd, _ := e.Attributes["sd"].(map[string]any)
	q, _ := sd["q@1"].(map[string]any)
	tq, _ := sd["timeQuality"].(map[string]any)
	if q["v"] != `say "hi" ] \ ok` || tq["tzKnown"] != "1" {
		t.Errorf("sd = %v", sd)
	}
}

func TestParseRFC3164(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.Local)
	p := newParser(func() time.Time { return now }, logbook.DefaultLimits)
	e, err := p.parse([]byte("<34>Dec  2 09:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8"))
	if err != nil {
		t.Fatal(err)
	}
	want := logbook.Entry{
		Time: time.Date(2026, 12, 2, 9, 14, 15, 0, time.Local), Level: logbook.LevelFatal, Service: "su", Message: "'su root' failed for lonvick on /dev/pts/8",
		Attributes: map[string]any{"hostname": "mymachine", "facility": "auth", "severity": "crit", "procid": "123"},
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got  %+v\nwant %+v", e, want)
	}
}

func TestParseSeverities(t *testing.T) {
	now := time.Now()
	p := newParser(func() time.Time { return now }, logbook.DefaultLimits)
	want := []logbook.Level{logbook.LevelFatal, logbook.LevelFatal, logbook.LevelFatal, logbook.LevelError, logbook.LevelWarn, logbook.LevelInfo, logbook.LevelInfo, logbook.LevelDebug}
	for sev, level := range want {
		for _, msg := range []string{
			"<" + strconv.Itoa(8+sev) + ">1 - host app - - - severity test",
			"<" + strconv.Itoa(8+sev) + ">" + now.Format(time.Stamp) + " host app: severity test",
		} {
			e, err := p.parse([]byte(msg))
			if err != nil {
				t.Fatalf("%q: %v", msg, err)
			}
			if e.Level != level {
				t.Errorf("%q: level %s, want %s", msg, e.Level, level)
			}
		}
	}
}

func TestParseRFC3164Timestamps(t *testing.T) {
	loc := time.Local
	for _, tc := range []struct {
		name string
		now  time.Time
		msg  string
		want time.Time
	}{
		{"this year", time.Date(2026, 6, 1, 12, 0, 0, 0, loc), "<13>Jun  1 11:00:00 h t: m", time.Date(2026, 6, 1, 11, 0, 0, 0, loc)},
		{"December line read in January", time.Date(2027, 1, 1, 0, 5, 0, 0, loc), "<13>Dec 31 23:59:00 h t: m", time.Date(2026, 12, 31, 23, 59, 0, 0, loc)},
		{"sender's zone ahead: receipt time", time.Date(2026, 6, 1, 12, 0, 0, 0, loc), "<13>Jun  1 15:00:00 h t: m", time.Date(2026, 6, 1, 12, 0, 0, 0, loc)},
		{"RFC 3339 in a BSD header keeps its zone", time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC), "<13>2026-06-01T13:00:00+02:00 h t: m", time.Date(2026, 6, 1, 11, 0, 0, 0, time.UTC)},
		{"no timestamp: receipt time", time.Date(2026, 6, 1, 12, 0, 0, 0, loc), "<13>just a message", time.Date(2026, 6, 1, 12, 0, 0, 0, loc)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newParser(func() time.Time { return tc.now }, logbook.DefaultLimits)
			e, err := p.parse([]byte(tc.msg))
			if err != nil {
				t.Fatal(err)
			}
			if !e.Time.Equal(tc.want) {
				t.Errorf("time %s, want %s", e.Time, tc.want)
			}
		})
	}
}

func TestParseFallbacks(t *testing.T) {
	now := time.Now()
	p := newParser(func() time.Time { return now }, logbook.DefaultLimits)
	e, err := p.parse([]byte("plain text without PRI"))
	if err != nil || e.Message != "plain text without PRI" || e.Level != logbook.LevelInfo || e.Service != "unknown" {
		t.Errorf("PRI-less line: %+v, %v", e, err)
	}
	e, err = p.parse([]byte("<13>1 - host app - - -  rsyslog's leading space\n"))
	if err != nil || e.Message != "rsyslog's leading space" {
		t.Errorf("leading space: %q, %v", e.Message, err)
	}
	e, err = p.parse([]byte("<11>no header here"))
	if err != nil || e.Message != "no header here" || e.Level != logbook.LevelError {
		t.Errorf("PRI without header: %+v, %v", e, err)
	}
}

func TestParseRefuses(t *testing.T) {
	now := time.Now()
	p := newParser(func() time.Time { return now }, logbook.DefaultLimits)
	for _, msg := range []string{
		"<999>Dec  2 09:14:15 host app: priority out of range",
		"<abc>not a priority",
		"<>empty priority",
		"<165>1 not-a-time host app - - - broken header",
		"<165>1 - host app - - -",
		"<165>1 - host app - - - " + strings.Repeat("x", logbook.DefaultLimits.MaxMessage+1),
		"<165>1 2099-01-01T00:00:00Z host app - - - far in the future",
		"\r\n",
	} {
		if e, err := p.parse([]byte(msg)); err == nil {
			t.Errorf("%.60q: accepted as %+v", msg, e)
		}
	}
}
