package logbook

import "testing"

func TestParseLevelVocabularies(t *testing.T) {
	cases := map[Level][]string{
		LevelDebug: {"debug", "DEBUG", "trace", "TRACE", "fine", "FINE", "finer", "FINER", "finest", "silly", "verbose", "Verbose", "dbg", " debug ",
			"10", "20", "1", "5", "8"},
		LevelInfo:  {"info", "INFO", "Information", "informational", "notice", "NOTICE", "http", "config", "30", "9", "12"},
		LevelWarn:  {"warn", "WARN", "warning", "WARNING", "Warning", "40", "13", "16"},
		LevelError: {"error", "ERROR", "err", "ERR", "severe", "SEVERE", "50", "17", "19"},
		LevelFatal: {"fatal", "FATAL", "critical", "CRITICAL", "crit", "alert", "emerg", "emergency", "panic", "dpanic", "60", "21", "24"},
	}
	for want, words := range cases {
		for _, w := range words {
			if got, ok := ParseLevel(w); !ok || got != want {
				t.Errorf("ParseLevel(%q) = %q, %v; want %q", w, got, ok, want)
			}
		}
	}
	for _, w := range []string{"", "  ", "loud", "0", "25", "35", "-1", "3.5", "warnings"} {
		if got, ok := ParseLevel(w); ok {
			t.Errorf("ParseLevel(%q) = %q, want unknown", w, got)
		}
	}
}

func TestLevelNumbers(t *testing.T) {
	// pino/bunyan first: 10 and 20 are trace and debug, not OTel INFO2
	// and ERROR4, because JSON loggers send pino's numbers.
	for n, want := range map[int]Level{10: LevelDebug, 20: LevelDebug, 30: LevelInfo, 40: LevelWarn, 50: LevelError, 60: LevelFatal,
		1: LevelDebug, 4: LevelDebug, 9: LevelInfo, 11: LevelInfo, 14: LevelWarn, 18: LevelError, 22: LevelFatal} {
		if got, ok := LevelFromNumber(n); !ok || got != want {
			t.Errorf("LevelFromNumber(%d) = %q, %v; want %q", n, got, ok, want)
		}
	}
	for _, n := range []int{0, 25, 45, 70, -10} {
		if _, ok := LevelFromNumber(n); ok {
			t.Errorf("LevelFromNumber(%d) is known", n)
		}
	}
	for n, want := range map[int]Level{0: LevelInfo, 1: LevelDebug, 8: LevelDebug, 9: LevelInfo, 12: LevelInfo, 13: LevelWarn, 17: LevelError, 21: LevelFatal, 24: LevelFatal, 99: LevelInfo} {
		if got := OTelSeverity(n); got != want {
			t.Errorf("OTelSeverity(%d) = %q, want %q", n, got, want)
		}
	}
	for sev, want := range []Level{LevelFatal, LevelFatal, LevelFatal, LevelError, LevelWarn, LevelInfo, LevelInfo, LevelDebug} {
		if got := SyslogSeverity(sev); got != want {
			t.Errorf("SyslogSeverity(%d) = %q, want %q", sev, got, want)
		}
	}
}
