package webhook

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/paymon/paymon/internal/signature"
)

// SignatureHeader and EventIDHeader are set on every delivery.
const (
	SignatureHeader = "Paymon-Signature"
	EventIDHeader   = "Paymon-Event-Id"
	SecretPrefix    = "whsec_"
)

// NewSecret makes a signing secret: whsec_ and 32 random bytes in hex.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("cannot generate a signing secret: %w", err)
	}
	return SecretPrefix + hex.EncodeToString(b), nil
}

// Sign is the Paymon-Signature value for body sent at t: one v1= per
// secret, each the hex HMAC-SHA256 of "<unix t>.<body>" (package signature).
func Sign(t time.Time, body []byte, secrets ...string) string {
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		keys[i] = []byte(s)
	}
	return signature.Sign(t, body, keys...)
}

// Verify checks a Paymon-Signature header against secret: one v1= must
// match, and t must be within tolerance of now (replay protection).
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	return signature.Verify([]byte(secret), header, body, now, tolerance)
}
