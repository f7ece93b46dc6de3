package faults

import (
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/testenv"
)

// The phases of an outage. A request is judged by the phase it started
// and ended in: one that began before a dependency went down and ended
// after may get either kind of answer.
const (
	phaseUp        int32 = iota // the dependency runs
	phaseStopping               // Stop was called and has not returned
	phaseDown                   // the dependency is stopped
	phaseStarting               // Start was called; recovery not yet seen
	phaseRecovered              // recovery was seen by the test
)

var phaseNames = [...]string{"up", "stopping", "down", "starting", "recovered"}

// op names the requests of the outage load.
type op string

const (
	opCreate op = "create"
	opGet    op = "get payment"
	opRecent op = "recent payments"
	opIngest op = "ingest"
	opSearch op = "search logs"
	// opLogsRecent reads the recent log entries, like opRecent a route
	// that reads the cache first.
	opLogsRecent op = "recent logs"
)

// expectation says whether r is a right answer to o sent in phase from
// and answered in phase to; nil if so.
type expectation func(o op, from, to int32, r reply) error

// outageLoad is `clients` goroutines, each repeating create, get, recent
// payments, ingest, search and recent logs, from before a dependency is stopped until after it
// is back. It records what was acknowledged and every wrong answer.
type outageLoad struct {
	a        *api
	token    string // payments and log reads
	key      string // log ingest
	service  string
	expect   expectation
	phase    atomic.Int32
	requests [len(phaseNames)]atomic.Int64 // requests started and ended in one phase

	mu       sync.Mutex
	payments []createdPayment
	batches  []batch
	refused  []int // creates that got no 2xx
	slowest  map[op]time.Duration
	wrong    []string
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// startLoad starts the clients; they stop in finish, or when the test
// ends (a test that fails early).
func startLoad(t *testing.T, a *api, token, key, service string, expect expectation) *outageLoad {
	l := &outageLoad{a: a, token: token, key: key, service: service, expect: expect, stop: make(chan struct{}), slowest: map[op]time.Duration{}}
	for c := range clients {
		l.wg.Add(1)
		go l.client(c)
	}
	t.Cleanup(l.halt)
	return l
}

func (l *outageLoad) halt() {
	l.stopOnce.Do(func() { close(l.stop) })
	l.wg.Wait()
}

func (l *outageLoad) client(c int) {
	defer l.wg.Done()
	lastID := ""
	for i := 0; ; i++ {
		select {
		case <-l.stop:
			return
		default:
		}
		n := c*100_000 + i
		l.run(opCreate, func() reply {
			created, r, ok := l.a.create(l.token, outageKey(n), n)
			l.mu.Lock()
			if ok {
				l.payments = append(l.payments, created)
				lastID = created.id
			} else {
				l.refused = append(l.refused, n)
			}
			l.mu.Unlock()
			return r
		})
		if lastID != "" {
			l.run(opGet, func() reply { return l.a.do("GET", "/api/v1/payments/"+lastID, l.token, nil) })
		}
		l.run(opRecent, func() reply { return l.a.do("GET", "/api/v1/payments/recent?limit=10", l.token, nil) })
		b := batch{token: fmt.Sprintf("fo%dn%05dz", c, i), lines: 10}
		l.run(opIngest, func() reply {
			r, ok := l.a.ingest(l.key, l.service, b)
			if ok {
				l.mu.Lock()
				l.batches = append(l.batches, b)
				l.mu.Unlock()
			}
			return r
		})
		l.run(opSearch, func() reply {
			return l.a.do("GET", "/api/v1/logs?service="+l.service+"&q="+url.QueryEscape(b.token), l.token, nil)
		})
		l.run(opLogsRecent, func() reply { return l.a.do("GET", "/api/v1/logs/recent?limit=20", l.token, nil) })
		// Bounded, not flat out: the machine is shared and the point is
		// requests in flight at every moment, not throughput.
		time.Sleep(20 * time.Millisecond)
	}
}

func outageKey(n int) string { return fmt.Sprintf("fault-outage-%d", n) }

// run sends one request and judges its answer by the phases it spans.
func (l *outageLoad) run(o op, send func() reply) {
	from := l.phase.Load()
	start := time.Now()
	r := send()
	took := time.Since(start)
	to := l.phase.Load()
	l.mu.Lock()
	l.slowest[o] = max(l.slowest[o], took)
	l.mu.Unlock()
	if from == to {
		l.requests[from].Add(1)
	}
	if err := l.expect(o, from, to, r); err != nil {
		l.mu.Lock()
		l.wrong = append(l.wrong, fmt.Sprintf("%s (%s→%s): %v", o, phaseNames[from], phaseNames[to], err))
		l.mu.Unlock()
	}
}

// waitRequests waits until at least n requests started and ended in
// phase, or d passed.
func (l *outageLoad) waitRequests(t *testing.T, phase int32, n int64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for l.requests[phase].Load() < n {
		if time.Now().After(deadline) {
			t.Errorf("only %d requests ran wholly in phase %s within %s", l.requests[phase].Load(), phaseNames[phase], d)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// finish stops the clients and fails the test for each wrong answer.
func (l *outageLoad) finish(t *testing.T) {
	t.Helper()
	l.halt()
	for i, w := range l.wrong {
		if i == 20 {
			t.Errorf("… and %d more wrong answers", len(l.wrong)-i)
			break
		}
		t.Error(w)
	}
	counts := ""
	for p := range phaseNames {
		counts += fmt.Sprintf(" %s=%d", phaseNames[p], l.requests[p].Load())
	}
	slow := ""
	for _, o := range []op{opCreate, opGet, opRecent, opIngest, opSearch, opLogsRecent} {
		slow += fmt.Sprintf(" %s=%s", o, l.slowest[o].Round(time.Millisecond))
	}
	t.Logf("slowest answer:%s", slow)
	t.Logf("requests per phase:%s; %d payments and %d batches acknowledged, %d creates refused", counts, len(l.payments), len(l.batches), len(l.refused))
}

// fault takes a dependency away and brings it back.
type fault struct {
	stop, start func(testing.TB)
	// downRequests is how many requests must run wholly while the
	// dependency is away.
	downRequests int64
}

// stopped is a dependency stopped (its port closed) and started again on
// the same port.
func stopped(s *testenv.Server) fault {
	return fault{stop: s.Stop, start: s.Start, downRequests: 3 * clients}
}

// paused is a dependency frozen (SIGSTOP: connections open, no answers,
// like a hung server or a partition) and resumed. Requests then wait for
// Paymon's own timeouts, so fewer are asked for.
func paused(s *testenv.Server) fault {
	return fault{stop: s.Pause, start: s.Resume, downRequests: clients}
}

// outage runs the load, takes the dependency away, lets requests run while
// it is down, brings it back, waits for recover() to see Paymon working
// again, lets requests run recovered, and stops the load. down runs the
// test's own checks while the dependency is down.
func outage(t *testing.T, dep fault, l *outageLoad, down func(), recovered func() bool) {
	t.Helper()
	const (
		perPhase     = 3 * clients // requests wholly in the up and recovered phases
		phaseBound   = 90 * time.Second
		recoverBound = 60 * time.Second
	)
	l.waitRequests(t, phaseUp, perPhase, phaseBound)
	l.phase.Store(phaseStopping)
	dep.stop(t)
	l.phase.Store(phaseDown)
	l.waitRequests(t, phaseDown, dep.downRequests, phaseBound)
	down()
	l.phase.Store(phaseStarting)
	dep.start(t)
	start := time.Now()
	for !recovered() {
		if time.Since(start) > recoverBound {
			t.Errorf("Paymon did not recover within %s of the restart", recoverBound)
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("recovered %s after the restart", time.Since(start).Round(10*time.Millisecond))
	l.phase.Store(phaseRecovered)
	l.waitRequests(t, phaseRecovered, perPhase, phaseBound)
	l.finish(t)
}
