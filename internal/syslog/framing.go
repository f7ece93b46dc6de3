package syslog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// errTooLong reports a frame longer than the limit; the frame has been
// skipped and the stream is still in step.
type errTooLong struct{ n, max int }

func (e errTooLong) Error() string {
	if e.n < 0 {
		return fmt.Sprintf("a line is longer than %d bytes", e.max)
	}
	return fmt.Sprintf("a frame of %d bytes is longer than %d bytes", e.n, e.max)
}

// errFraming reports an octet count that is not a number; the stream
// cannot be trusted to be in step after it, so the connection ends.
var errFraming = errors.New("cannot read the octet count of a frame")

// frames reads syslog frames from a TCP stream. Each frame is detected on
// its own (RFC 6587): one starting with a digit is octet-counted
// ("LEN SP MSG"), anything else runs to the next LF (non-transparent
// framing). Senders pick one per connection, but nothing is lost if one
// mixes them. An octet-counted frame is told from a line by its count and
// the PRI that must follow it.
type frames struct {
	r   *bufio.Reader
	max int
}

func newFrames(r io.Reader, max int) *frames {
	// +16 leaves room for the octet count and the LF of a maximal frame.
	return &frames{r: bufio.NewReaderSize(r, max+16), max: max}
}

// buffered reports whether a next frame may be read without waiting on
// the network, so the caller can hand its batch over before blocking.
func (f *frames) buffered() bool { return f.r.Buffered() > 0 }

// next returns the next frame, valid until the following call. An
// errTooLong frame was skipped; any other error ends the stream (io.EOF
// at a frame boundary, io.ErrUnexpectedEOF inside one).
func (f *frames) next() ([]byte, error) {
	for {
		b, err := f.r.Peek(1)
		if err != nil {
			return nil, err
		}
		switch c := b[0]; {
		case c == '\n' || c == '\r' || c == 0 || c == ' ':
			// Stray trailers between frames (CRLF senders, NUL-terminated
			// frames, a blank line).
			_, _ = f.r.Discard(1)
			continue
		case c >= '1' && c <= '9' && f.octetCounted():
			return f.counted()
		}
		return f.line()
	}
}

// octetCounted peeks at a frame that starts with a digit: up to 10
// digits, a space and the '<' of a PRI make an octet count; anything else
// is the start of a line (a PRI-less message that starts with a number).
func (f *frames) octetCounted() bool {
	for i := 1; i <= 10; i++ {
		b, err := f.r.Peek(i + 2)
		if err != nil || len(b) < i+2 {
			return false
		}
		c := b[i]
		if c == ' ' {
			return b[i+1] == '<'
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	return false
}

func (f *frames) counted() ([]byte, error) {
	n := 0
	for {
		c, err := f.r.ReadByte()
		if err != nil {
			return nil, io.ErrUnexpectedEOF
		}
		if c == ' ' {
			break
		}
		if c < '0' || c > '9' || n > 1<<30 {
			return nil, errFraming
		}
		n = n*10 + int(c-'0')
	}
	if n > f.max {
		if _, err := f.r.Discard(n); err != nil {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, errTooLong{n, f.max}
	}
	b, err := f.r.Peek(n)
	if err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	// Discard cannot fail after a successful Peek of the same length; the
	// slice stays valid until the next read.
	_, _ = f.r.Discard(n)
	return b, nil
}

func (f *frames) line() ([]byte, error) {
	b, err := f.r.ReadSlice('\n')
	switch {
	case err == nil && len(b) > f.max+1:
		return nil, errTooLong{-1, f.max}
	case err == nil:
		return b, nil
	case errors.Is(err, bufio.ErrBufferFull):
		// Longer than max: skip to the end of the line so the next frame
		// is read from its start.
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = f.r.ReadSlice('\n')
		}
		if err != nil {
			return nil, err
		}
		return nil, errTooLong{-1, f.max}
	case errors.Is(err, io.EOF) && len(b) > 0 && len(b) <= f.max:
		// The last line of a stream may lack its LF (logger, nc): it is
		// complete once the sender closed the connection.
		return b, nil
	}
	return nil, err
}
