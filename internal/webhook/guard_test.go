package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestDeliveryRefusesPrivateAddressesAtDialTime checks the guard that
// runs at each delivery, after DNS: an endpoint stored while its name was
// public must not reach a private address later (DNS rebinding).
func TestDeliveryRefusesPrivateAddressesAtDialTime(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	ev := Event{ID: "evt_x_1", Type: PaymentCreated, Data: []byte(`{}`)}
	guarded := NewService(nil, Options{})
	for _, u := range []string{srv.URL, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)} {
		_, _, _, err := guarded.post(context.Background(), Endpoint{URL: u, Secret: "whsec_a"}, ev, time.Now())
		if !errors.Is(err, ErrPrivateAddress) {
			t.Errorf("%s: err = %v, want ErrPrivateAddress", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("the guarded client reached the receiver %d times", hits.Load())
	}
	open := NewService(nil, Options{AllowPrivate: true})
	st, _, _, err := open.post(context.Background(), Endpoint{URL: srv.URL, Secret: "whsec_a"}, ev, time.Now())
	if err != nil || st != 200 || hits.Load() != 1 {
		t.Fatalf("allowed: %d %v (hits %d)", st, err, hits.Load())
	}
}

func TestRotationSignsWithBothSecrets(t *testing.T) {
	now := time.Now()
	body := []byte(`{"id":"evt_x_1"}`)
	h := Sign(now, body, "whsec_new", "whsec_old")
	if strings.Count(h, "v1=") != 2 {
		t.Fatalf("header %q: want two v1=", h)
	}
	for _, s := range []string{"whsec_new", "whsec_old"} {
		if err := Verify(s, h, body, now, time.Minute); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if err := Verify("whsec_other", h, body, now, time.Minute); err == nil {
		t.Error("a third secret verifies")
	}
	if err := Verify("whsec_new", h, body, now.Add(10*time.Minute), time.Minute); err == nil {
		t.Error("an old timestamp verifies")
	}
}

func TestBackoffDoublesWithJitterUpToTheMax(t *testing.T) {
	s := NewService(nil, Options{RetryBase: time.Second, RetryMax: time.Minute})
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 30: time.Minute, 5000: time.Minute} {
		for i := 0; i < 50; i++ {
			if d := s.backoff(n); d < want*8/10 || d > want*12/10 {
				t.Fatalf("backoff(%d) = %s, want %s ±20%%", n, d, want)
			}
		}
	}
}
