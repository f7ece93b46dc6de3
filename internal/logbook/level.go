package logbook

import (
	"strconv"
	"strings"
)

// ParseLevel maps the level words of every common vocabulary onto the
// five levels, case-insensitively: syslog (emerg … debug), npm/winston
// (http, verbose, silly), Python (WARNING, CRITICAL), Java (SEVERE, FINE,
// FINER, FINEST, TRACE), and numbers, which are read as pino/bunyan levels
// (10–60) or, from 1 to 24, as OpenTelemetry severity numbers. ok is false
// for a word no vocabulary uses; the caller keeps the original text as an
// attribute either way.
func ParseLevel(raw string) (l Level, ok bool) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", false
	}
	// Only a digit or sign may start a number: Atoi's error on a word
	// allocates, and most levels are words.
	if c := s[0]; c >= '0' && c <= '9' || c == '-' || c == '+' {
		if n, err := strconv.Atoi(s); err == nil {
			return LevelFromNumber(n)
		}
	}
	switch strings.ToLower(s) {
	case "trace", "debug", "dbg", "fine", "finer", "finest", "silly", "verbose", "all", "d", "t":
		return LevelDebug, true
	case "info", "information", "informational", "notice", "http", "config", "log", "i", "inf":
		return LevelInfo, true
	case "warn", "warning", "w", "wrn":
		return LevelWarn, true
	case "error", "err", "severe", "e", "eror":
		return LevelError, true
	case "fatal", "critical", "crit", "alert", "emerg", "emergency", "panic", "f", "ftl", "dpanic":
		return LevelFatal, true
	}
	return "", false
}

// LevelFromNumber reads a numeric level in a JSON line: pino/bunyan's
// 10 (trace) to 60 (fatal) first, since JSON loggers send those, then an
// OpenTelemetry severity number from 1 to 24.
func LevelFromNumber(n int) (Level, bool) {
	switch n {
	case 10, 20:
		return LevelDebug, true
	case 30:
		return LevelInfo, true
	case 40:
		return LevelWarn, true
	case 50:
		return LevelError, true
	case 60:
		return LevelFatal, true
	}
	if n >= 1 && n <= 24 {
		return OTelSeverity(n), true
	}
	return "", false
}

// OTelSeverity maps an OpenTelemetry severity number (1 TRACE to 24
// FATAL4, in groups of four) onto the five levels; 0 (unspecified) and
// anything out of range read as info.
func OTelSeverity(n int) Level {
	switch {
	case n >= 1 && n <= 8:
		return LevelDebug
	case n >= 13 && n <= 16:
		return LevelWarn
	case n >= 17 && n <= 20:
		return LevelError
	case n >= 21 && n <= 24:
		return LevelFatal
	}
	return LevelInfo
}

// SyslogSeverity maps a syslog severity (RFC 5424 §6.2.1, 0 emergency to
// 7 debug) onto the five levels.
func SyslogSeverity(sev int) Level {
	switch {
	case sev <= 2:
		return LevelFatal
	case sev == 3:
		return LevelError
	case sev == 4:
		return LevelWarn
	case sev <= 6:
		return LevelInfo
	}
	return LevelDebug
}
