package faults

import (
	"bytes"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/testenv"
)

const (
	// clients is how many clients write at once in every fault test.
	clients = 8
	// killRounds is how many kill -9 and restarts each kill test does.
	killRounds = 2
	// acksBeforeKill is how many acknowledged writes a round waits for
	// before the kill, so the kill lands among writes in flight.
	acksBeforeKill = 120
	// loadBound bounds a round's writes before the kill: a Paymon that
	// cannot reach acksBeforeKill in this time fails the test.
	loadBound = 60 * time.Second
)

// killUnderLoad runs write(c, i) from `clients` goroutines, each with its
// own sequence i, until `acks` writes were acknowledged in total; then it
// kills Paymon with SIGKILL while they are still writing, and returns once
// every client has stopped. A write returns whether it was acknowledged;
// writes after the kill fail, and clients stop at their first failure
// after it. Before the kill, a failed write fails the test.
func killUnderLoad(t *testing.T, p *testenv.Paymon, write func(c, i int) (reply, bool)) {
	t.Helper()
	var acked atomic.Int64
	var killed atomic.Bool
	enough := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	errs := make(chan string, clients)
	stopped := make(chan struct{})
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				r, ok := write(c, i)
				if !ok {
					if !killed.Load() {
						errs <- fmt.Sprintf("client %d: write %d failed before the kill: %s", c, i, r)
					}
					return
				}
				if acked.Add(1) >= acksBeforeKill {
					once.Do(func() { close(enough) })
				}
			}
		}()
	}
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-enough:
	case <-stopped:
		t.Errorf("every client stopped after %d acknowledged writes", acked.Load())
	case <-time.After(loadBound):
		t.Errorf("only %d writes acknowledged within %s", acked.Load(), loadBound)
	}
	noPanic(t, p)
	killed.Store(true)
	p.Kill()
	<-stopped
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// TestKillDuringCreates: kill -9 of paymon serve (embedded SQLite) while 8
// clients create payments, each with its own Idempotency-Key; after a
// restart on the same data dir every payment that got a 2xx is there with
// the status the 2xx announced, its key replays the same answer byte for
// byte, and a key whose request was cut by the kill can be retried safely.
func TestKillDuringCreates(t *testing.T) {
	p := testenv.StartPaymon(t)
	a := newAPI(p)
	var all []createdPayment
	for round := range killRounds {
		tok := p.AdminToken()
		var mu sync.Mutex
		var acked []createdPayment
		var cut []int // requests without an answer when Paymon died
		killUnderLoad(t, p, func(c, i int) (reply, bool) {
			n := (round*clients+c)*100_000 + i
			created, r, ok := a.create(tok, createKey(n), n)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				acked = append(acked, created)
			} else {
				cut = append(cut, n)
			}
			return r, ok
		})
		p.Restart()
		all = append(all, acked...)
		t.Logf("round %d: %d creates acknowledged before the kill, %d cut by it", round, len(acked), len(cut))

		tok = p.AdminToken()
		checkPayments(t, a, tok, all)
		// The idempotency record is part of the acknowledged write.
		for _, c := range acked {
			r := a.do("POST", "/api/v1/payments", tok, c.body, "Idempotency-Key", c.key)
			if r.err != nil || r.status/100 != 2 || !bytes.Equal(r.body, c.answer) {
				t.Errorf("replay of key %s after the restart: %s, want the first answer %s", c.key, r, c.answer)
			}
		}
		// A cut request may or may not have been stored; retrying it
		// must not fail, create a second payment or lose the first.
		all = append(all, retryCreates(t, a, tok, cut, createKey)...)
	}
	checkPayments(t, a, p.AdminToken(), all)
	noPanic(t, p)
}

func createKey(n int) string { return fmt.Sprintf("fault-create-%d", n) }

// TestKillDuringIngest: kill -9 of paymon serve (embedded SQLite) while 8
// clients post NDJSON batches; after a restart on the same data dir every
// line of every acknowledged batch is found once, by service and by its
// batch's token, and a batch cut by the kill is either wholly stored or
// not at all (SQLite stores a batch in one transaction).
func TestKillDuringIngest(t *testing.T) {
	p := testenv.StartPaymon(t)
	a := newAPI(p)
	service := logService(t.Name())
	_, key := p.APIKey("fault-ingest", "ingest")
	var all, cutAll []batch
	for round := range killRounds {
		var mu sync.Mutex
		var acked, cut []batch
		killUnderLoad(t, p, func(c, i int) (reply, bool) {
			b := batch{token: fmt.Sprintf("fk%dc%dn%05dz", round, c, i), lines: 20}
			r, ok := a.ingest(key, service, b)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				acked = append(acked, b)
			} else {
				cut = append(cut, b)
			}
			return r, ok
		})
		p.Restart()
		all, cutAll = append(all, acked...), append(cutAll, cut...)
		t.Logf("round %d: %d batches acknowledged before the kill, %d cut by it", round, len(acked), len(cut))

		tok := p.AdminToken()
		found := checkLines(t, p, tok, service, all)
		for _, b := range cutAll {
			stored := 0
			for i := range b.lines {
				stored += min(found[b.message(i)], 1)
			}
			if stored != 0 && stored != b.lines {
				t.Errorf("batch %s cut by the kill is half stored: %d of %d lines", b.token, stored, b.lines)
			}
		}
		// The text search finds a batch by its token, through the same
		// index that survived the kill; the last acknowledged batches
		// are the ones closest to it.
		for _, b := range acked[max(0, len(acked)-clients):] {
			if got := p.SearchLogs(tok, "q="+url.QueryEscape(b.token)); len(got) != b.lines {
				t.Errorf("search for batch %s found %d lines, want %d", b.token, len(got), b.lines)
			}
		}
	}
	noPanic(t, p)
}
