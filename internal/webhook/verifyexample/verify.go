// Package verifyexample is the Go receiver of docs/webhooks.md, kept here
// so that a test compiles and runs the very code the documentation shows.
package verifyexample

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// VerifySignature checks a Paymon-Signature header ("t=<unix>,v1=<hex>",
// v1 repeated while a rotated secret is still valid) against the raw body.
func VerifySignature(secret, header string, body []byte, now time.Time) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("malformed Paymon-Signature")
	}
	// Refuse old deliveries so a captured request cannot be replayed.
	if math.Abs(now.Sub(time.Unix(sec, 0)).Seconds()) > 300 {
		return errors.New("timestamp too far from now")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range sigs {
		if got, err := hex.DecodeString(s); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("signature does not match")
}

// Handler receives Paymon events. Answer 2xx quickly and do the work
// afterwards; de-duplicate on the Paymon-Event-Id header, since a
// delivery may come more than once.
func Handler(secret string, handle func(eventID string, body []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		if err := VerifySignature(secret, r.Header.Get("Paymon-Signature"), body, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		handle(r.Header.Get("Paymon-Event-Id"), body)
		w.WriteHeader(http.StatusNoContent)
	})
}
