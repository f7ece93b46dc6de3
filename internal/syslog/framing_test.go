package syslog

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/logbook"
)

// FuzzSyslogStream feeds arbitrary bytes through the TCP framing and the
// parsers: no panic, no frame over the limit, and the stream always ends.
func FuzzSyslogStream(f *testing.F) {
	for _, s := range []string{
		"<13>1 - h a - - - hi\n",
		"29 <13>1 - h a - - - counted\n",
		"<34>Oct 11 22:14:15 mymachine su[1]: 'su root' failed\r\n",
		"999999 <13>1 x", "2 things\n", "<13>1 2026-12-01T00:00:00Z h a 1 m [x@1 a=\"b\\\"c\"] m",
		"\x00\x00<191>\n", "1234567890123 <1>",
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 256
		fr := newFrames(bytes.NewReader(in), max)
		p := newParser(func() time.Time { return now }, logbook.DefaultLimits)
		for range len(in) + 1 {
			frame, err := fr.next()
			var long errTooLong
			switch {
			case errors.As(err, &long):
				continue
			case err != nil:
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errFraming) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(frame) > max+1 {
				t.Fatalf("frame of %d bytes over the %d limit", len(frame), max)
			}
			if e, err := p.parse(frame); err == nil && (e.Message == "" || !e.Level.Valid()) {
				t.Fatalf("accepted an entry without message or level: %+v", e)
			}
		}
		t.Fatal("the stream did not end")
	})
}
