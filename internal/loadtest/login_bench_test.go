package loadtest

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/testenv"
)

// BenchmarkConcurrentBadLogins sends 200 wrong-password logins at once to
// a real `paymon serve` and reports how much its resident memory grew:
// the high-water mark after the burst minus the resident set before it
// (target ≤ 256 MiB; each argon2id check holds 19 MiB, and before the hash
// bound 120 such logins took the process from 22 MB to 2.33 GB). The
// logins come from 100 loopback addresses, two each, so that the
// per-address limit of two logins in flight lets every one of them reach
// the password check. Run it once: -bench ConcurrentBadLogins -benchtime 1x.
func BenchmarkConcurrentBadLogins(b *testing.B) {
	const (
		logins    = 200
		addresses = 100
	)
	p := testenv.StartPaymon(b)
	// A first login makes the lazily built parts (the dummy hash, pools)
	// count in the baseline, not in the burst.
	p.AdminToken()
	before, _ := p.Memory(b)
	statuses := map[int]int{}
	var mu sync.Mutex
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		var wg sync.WaitGroup
		ready := make(chan struct{})
		for i := range logins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := badLogin(p.URL, fmt.Sprintf("127.0.0.%d", 2+i%addresses), ready)
				mu.Lock()
				statuses[st]++
				mu.Unlock()
			}()
		}
		close(ready)
		wg.Wait()
	}
	elapsed := time.Since(start)
	b.StopTimer()
	_, hwm := p.Memory(b)
	added := float64(hwm-before) / (1 << 20)
	b.ReportMetric(added, "added_rss_MiB")
	b.ReportMetric(float64(before)/(1<<20), "rss_before_MiB")
	b.ReportMetric(float64(hwm)/(1<<20), "hwm_after_MiB")
	b.ReportMetric(float64(statuses[401]), "answered_401")
	b.ReportMetric(float64(statuses[503]), "answered_503")
	b.ReportMetric(float64(statuses[429]), "answered_429")
	b.Logf("%d logins × %d in %v: statuses %v; RSS %.0f MiB before, high-water %.0f MiB after (+%.0f MiB)",
		logins, b.N, elapsed.Round(time.Millisecond), statuses, float64(before)/(1<<20), float64(hwm)/(1<<20), added)
	if statuses[0] > 0 {
		b.Fatalf("%d logins got no answer", statuses[0])
	}
}

// badLogin posts a wrong password from local address src on a connection
// of its own, once ready closes; 0 if there was no answer.
func badLogin(base, src string, ready <-chan struct{}) int {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	form := url.Values{"grant_type": {"password"}, "username": {testenv.PaymonAdminEmail}, "password": {"wrong-password-" + src}}
	<-ready
	resp, err := c.Post(base+"/api/v1/auth/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
