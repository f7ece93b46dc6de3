package signature

import (
	"errors"
	"testing"
	"time"
)

func TestSignAndVerify(t *testing.T) {
	now := time.Unix(1_764_650_000, 0)
	body := []byte(`{"id":"evt_1"}`)
	right, old := []byte("whsec_right"), []byte("whsec_old")
	h := Sign(now, body, old, right)
	if err := Verify(right, h, body, now, 5*time.Minute); err != nil {
		t.Fatalf("the new secret of a rotation: %v", err)
	}
	if err := Verify(old, h, body, now, 5*time.Minute); err != nil {
		t.Fatalf("the old secret of a rotation: %v", err)
	}
	refused := map[string]error{
		"wrong secret":  Verify([]byte("whsec_wrong"), h, body, now, 5*time.Minute),
		"other body":    Verify(right, h, append(body, ' '), now, 5*time.Minute),
		"an hour late":  Verify(right, h, body, now.Add(time.Hour), 5*time.Minute),
		"an hour early": Verify(right, h, body, now.Add(-time.Hour), 5*time.Minute),
		"no v1":         Verify(right, "t=1764650000", body, now, 5*time.Minute),
		"no header":     Verify(right, "", body, now, 5*time.Minute),
		"garbage":       Verify(right, "t=x,v1=zz", body, now, 5*time.Minute),
	}
	for name, err := range refused {
		if !errors.Is(err, ErrBad) {
			t.Errorf("%s: %v, want ErrBad", name, err)
		}
	}
	if got, want := Sign(now, body, right), "t=1764650000,v1="; len(got) != len(want)+64 || got[:len(want)] != want {
		t.Errorf("header %q", got)
	}
}
