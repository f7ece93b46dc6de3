// Package id makes identifiers that sort by creation time, so that cursor
// pagination can order by id alone in every store.
package id

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz" // Crockford base32, lower-case

var (
	mu       sync.Mutex
	lastMS   uint64
	lastRand [10]byte
)

// New returns prefix_ followed by 26 characters: 48 bits of milliseconds and
// 80 random bits (a ULID). Within one millisecond in one process the random
// part is incremented, so ids made here are strictly increasing.
func New(prefix string) string {
	ms := uint64(time.Now().UnixMilli())
	mu.Lock()
	var r [10]byte
	if ms <= lastMS {
		ms = lastMS
		r = lastRand
		for i := len(r) - 1; i >= 0; i-- {
			r[i]++
			if r[i] != 0 {
				break
			}
		}
	} else {
		if _, err := rand.Read(r[:]); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
	}
	lastMS, lastRand = ms, r
	mu.Unlock()

	b := timePart(ms)
	copy(b[6:], r[:])
	return prefix + "_" + encode(b)
}

// Floor is the smallest id that New(prefix) can return at time t or later:
// ids sort by their creation millisecond, so stores turn a time bound into
// an id range with it.
func Floor(prefix string, t time.Time) string {
	return prefix + "_" + encode(timePart(uint64(max(t.UnixMilli(), 0))))
}

// timePart puts the 48-bit millisecond count first, so that ids sort by it.
func timePart(ms uint64) [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	return b
}

func encode(b [16]byte) string {
	// 128 bits → 26 base32 characters, most significant first (2 pad bits).
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// Valid reports whether s looks like an id made by New with this prefix.
func Valid(prefix, s string) bool {
	if len(s) != len(prefix)+1+26 || s[:len(prefix)] != prefix || s[len(prefix)] != '_' {
		return false
	}
	for _, c := range s[len(prefix)+1:] {
		if !validChar(byte(c)) {
			return false
		}
	}
	return true
}

func validChar(c byte) bool {
	for i := 0; i < len(alphabet); i++ {
		if alphabet[i] == c {
			return true
		}
	}
	return false
}
