package syslog

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/common"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/paymon/paymon/internal/logbook"
)

// defaultPriority is what RFC 3164 §4.3.3 tells a relay to assume for a
// message without a PRI part: facility user, severity notice.
const defaultPriority = 13

// parser turns one syslog message (a frame without its framing) into a
// log entry. The go-syslog machines keep state, so a parser belongs to
// one goroutine (a TCP connection or the UDP reader).
type parser struct {
	now    func() time.Time
	lim    logbook.Limits
	rfc    [2]gosyslog.Machine // rfc5424, rfc3164
	stamps time.Duration       // how far ahead a zone-less timestamp may be before it is read as last year's
}

func newParser(now func() time.Time, lim logbook.Limits) *parser {
	p := &parser{now: now, lim: lim, stamps: 24 * time.Hour}
	p.rfc[0] = rfc5424.NewMachine(rfc5424.WithBestEffort())
	// RFC 3164 timestamps have neither year nor zone: the receiver's year
	// and local zone are assumed (see fixStamp), and the RFC 3339
	// timestamps rsyslog and syslog-ng may put in a BSD header are read too.
	p.rfc[1] = rfc3164.NewMachine(rfc3164.WithBestEffort(), rfc3164.WithRFC3339(), rfc3164.WithSecondFractions(),
		rfc3164.WithLenientDay(), rfc3164.WithYear(receiverYear{now}), rfc3164.WithTimezone(time.Local))
	return p
}

// receiverYear is the year of the receiver's clock at parse time, so a
// long-lived connection crosses New Year correctly.
type receiverYear struct{ now func() time.Time }

func (y receiverYear) Apply() int { return y.now().In(time.Local).Year() }

var errNoPriority = errors.New("the PRI part is not a number from 0 to 191 in angle brackets")

// parse converts msg (one frame, trailing newline removed) to an entry
// checked with logbook.CheckEntry, or says why it cannot be stored.
func (p *parser) parse(msg []byte) (logbook.Entry, error) {
	now := p.now()
	msg = bytes.TrimRight(msg, "\r\n\x00")
	if len(msg) == 0 {
		return logbook.Entry{}, errors.New("empty message")
	}
	if !utf8.Valid(msg) {
		msg = bytes.ToValidUTF8(msg, []byte("\uFFFD"))
	}
	if msg[0] != '<' {
		// RFC 3164 §4.3.3: without a PRI the whole packet is the content.
		e := logbook.Entry{Level: logbook.SyslogSeverity(defaultPriority % 8), Message: string(msg),
			Attributes: map[string]any{"facility": "user", "severity": "notice"}}
		return e, logbook.CheckEntry(&e, now, p.lim)
	}
	end := bytes.IndexByte(msg[:min(len(msg), 5)], '>')
	if end < 2 || !validPriority(msg[1:end]) {
		return logbook.Entry{}, errNoPriority
	}
	rest := msg[end+1:]
	rfc5424Msg := len(rest) >= 2 && rest[0] == '1' && rest[1] == ' '
	var parsed gosyslog.Message
	var err error
	if rfc5424Msg {
		parsed, err = p.rfc[0].Parse(msg)
	} else {
		parsed, err = p.rfc[1].Parse(msg)
	}
	if parsed == nil || !parsed.Valid() {
		if err == nil {
			err = errNoPriority
		}
		return logbook.Entry{}, fmt.Errorf("not a syslog message: %w", err)
	}
	var e logbook.Entry
	switch m := parsed.(type) {
	case *rfc5424.SyslogMessage:
		if err != nil && m.Message == nil {
			// Best effort stopped in the header: nothing trustworthy to store.
			return logbook.Entry{}, fmt.Errorf("not an RFC 5424 message: %w", err)
		}
		e = entryFrom(&m.Base)
		if m.StructuredData != nil && len(*m.StructuredData) > 0 {
			sd := make(map[string]any, len(*m.StructuredData))
			for id, params := range *m.StructuredData {
				ps := make(map[string]any, len(params))
				for k, v := range params {
					ps[k] = v
				}
				sd[id] = ps
			}
			e.Attributes["sd"] = sd
		}
	case *rfc3164.SyslogMessage:
		e = entryFrom(&m.Base)
		if m.Message == nil {
			// RFC 3164 §4.3.2: a valid PRI without a valid header: what
			// follows the PRI is the content.
			e.Message = strings.TrimSpace(string(rest))
		}
		if e.Time.IsZero() || len(rest) == 0 || rest[0] < '0' || rest[0] > '9' {
			e.Time = p.fixStamp(e.Time, now)
		}
	default:
		return logbook.Entry{}, fmt.Errorf("unexpected syslog message type %T", parsed)
	}
	return e, logbook.CheckEntry(&e, now, p.lim)
}

// validPriority reports whether b is PRIVAL (RFC 5424 §6.2.1): 0 to 191,
// no leading zero.
func validPriority(b []byte) bool {
	if len(b) == 0 || len(b) > 3 || (b[0] == '0' && len(b) > 1) {
		return false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 191
}

// fixStamp corrects a zone-less, year-less RFC 3164 timestamp, read in
// the receiver's year and zone: one more than a day ahead was sent last
// year (a December line read in January); one still in the future (a
// sender in another zone) takes the receipt time rather than be refused.
func (p *parser) fixStamp(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	if t.After(now.Add(p.stamps)) {
		t = t.AddDate(-1, 0, 0)
	}
	if t.After(now.Add(p.lim.MaxFuture)) {
		return now
	}
	return t
}

// entryFrom maps the fields both RFCs share. Attributes: hostname,
// facility and severity (keywords: "user", "notice"), procid, msgid.
func entryFrom(b *gosyslog.Base) logbook.Entry {
	e := logbook.Entry{Attributes: make(map[string]any, 6)}
	if b.Severity != nil {
		e.Level = logbook.SyslogSeverity(int(*b.Severity))
		e.Attributes["severity"] = common.SeverityLevelsShort[*b.Severity]
	}
	if f := b.FacilityLevel(); f != nil {
		e.Attributes["facility"] = *f
	}
	if b.Timestamp != nil {
		e.Time = *b.Timestamp
	}
	if b.Appname != nil {
		e.Service = *b.Appname
	}
	if b.Hostname != nil {
		e.Attributes["hostname"] = *b.Hostname
	}
	if b.ProcID != nil {
		e.Attributes["procid"] = *b.ProcID
	}
	if b.MsgID != nil {
		e.Attributes["msgid"] = *b.MsgID
	}
	if b.Message != nil {
		// RFC 5424 §6.4 allows a UTF-8 byte order mark before the text;
		// rsyslog's templates put a space before a BSD message's text,
		// and octet-counted frames often end with the sender's LF.
		e.Message = strings.TrimSpace(strings.TrimPrefix(*b.Message, "\uFEFF"))
	}
	return e
}
