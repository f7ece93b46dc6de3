package logbook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paymon/paymon/internal/dependency"
	"github.com/paymon/paymon/internal/id"
	"github.com/paymon/paymon/internal/metrics"
)

// Cache is the part of the shared cache the logbook uses: capped lists
// of recent and critical entries for the dashboard.
type Cache interface {
	ListPush(ctx context.Context, key string, val []byte, max int, ttl time.Duration) error
	ListRange(ctx context.Context, key string, n int) ([][]byte, error)
}

// Cache keys.
const (
	recentKey   = "logs:recent"
	criticalKey = "logs:critical"
)

// Options tune a Service; zero values take the documented defaults.
type Options struct {
	Limits Limits
	// Retention is how long entries of each level are kept; a level
	// absent from the map is kept forever.
	Retention map[Level]time.Duration
	// RollupRetention is how long counters are kept (default 90 days),
	// longer than any entry so statistics outlive the entries.
	RollupRetention time.Duration
	RecentSize      int           // entries of any level in the cache (default 200)
	RecentTTL       time.Duration // default 1h
	CriticalSize    int           // error/fatal entries in the cache (default 1000)
	CriticalTTL     time.Duration // default 24h
	// MaxBatch caps the entries of one store write (default 50,000);
	// concurrent requests are merged up to it.
	MaxBatch int
	// Flushers is the number of concurrent store writes (default 1: the
	// embedded store has one writer anyway, and one flusher merges most).
	Flushers int
	// EmitQueue bounds Paymon's own entries waiting to be written
	// (default 10,000); see Emit.
	EmitQueue int
	Logger    *slog.Logger
	Now       func() time.Time
}

// Service implements log ingest, search, statistics and retention. It is
// safe for concurrent use.
type Service struct {
	store Store
	cache Cache
	opt   Options
	log   *slog.Logger

	reqs  chan *ingestReq
	emitq chan Entry
	hooks []func(context.Context, []Entry)

	mu      sync.RWMutex
	closed  bool
	stop    chan struct{}
	stopped sync.WaitGroup
	emitWG  sync.WaitGroup
	after   chan storedBatch
	afterWG sync.WaitGroup
	dropped atomic.Int64
}

type ingestReq struct {
	format  string // how the entries came (metrics only)
	entries []Entry
	rollup  Rollup // computed by the caller's goroutine, in parallel
	done    chan error
}

var errClosed = dependency.Unavailable("logbook", errors.New("log service is shutting down"))

// NewService starts a Service's batcher. cache may be nil. Close stops it.
func NewService(store Store, cache Cache, opt Options) *Service {
	if opt.Limits == (Limits{}) {
		opt.Limits = DefaultLimits
	}
	if opt.RollupRetention == 0 {
		opt.RollupRetention = 90 * 24 * time.Hour
	}
	if opt.RecentSize == 0 {
		opt.RecentSize = 200
	}
	if opt.RecentTTL == 0 {
		opt.RecentTTL = time.Hour
	}
	if opt.CriticalSize == 0 {
		opt.CriticalSize = 1000
	}
	if opt.CriticalTTL == 0 {
		opt.CriticalTTL = 24 * time.Hour
	}
	if opt.MaxBatch == 0 {
		opt.MaxBatch = 50_000
	}
	if opt.Flushers == 0 {
		opt.Flushers = 1
	}
	if opt.EmitQueue == 0 {
		opt.EmitQueue = 10_000
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Service{store: store, cache: cache, opt: opt, log: opt.Logger,
		reqs: make(chan *ingestReq, 1024), emitq: make(chan Entry, opt.EmitQueue), stop: make(chan struct{}),
		after: make(chan storedBatch, 4)}
	s.afterWG.Add(1)
	go s.afterStore()
	for range opt.Flushers {
		s.stopped.Add(1)
		go s.flusher()
	}
	s.emitWG.Add(1)
	go s.emitter()
	return s
}

// Limits returns the ingest limits in force.
func (s *Service) Limits() Limits { return s.opt.Limits }

// Now is the Service's clock (receipt time of entries).
func (s *Service) Now() time.Time { return s.opt.Now() }

// OnIngest registers fn to be called with every batch once it is stored
// (the realtime feed publishes log.created from here), in store order,
// just after the batch's requests were answered. Register before serving;
// fn must not block for long: batches wait for it.
func (s *Service) OnIngest(fn func(ctx context.Context, entries []Entry)) {
	s.hooks = append(s.hooks, fn)
}

// Close writes what is queued, then stops. Ingest fails afterwards.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.emitq) // safe: Emit checks closed under the lock
	s.emitWG.Wait()
	close(s.stop)
	s.stopped.Wait()
	close(s.after)
	s.afterWG.Wait()
	return nil
}

// Ingest assigns ids, redacts and durably stores entries (already
// validated, e.g. by Decode). It returns once they are committed; entries
// of concurrent calls are written together.
func (s *Service) Ingest(ctx context.Context, entries []Entry) error {
	return s.ingest(ctx, FormatJSON, "", entries, false)
}

// Ingest formats, the format label of paymon_logs_ingested_total.
const (
	FormatJSON    = "json"    // POST /api/v1/logs
	FormatLoki    = "loki"    // Loki push
	FormatOTLP    = "otlp"    // OTLP/HTTP logs
	FormatElastic = "elastic" // Elasticsearch bulk
	FormatSyslog  = "syslog"  // the syslog listener
	FormatOwn     = "paymon"  // Paymon's own entries (Emit)
)

// IngestFormat is Ingest for entries that came in the given format.
func (s *Service) IngestFormat(ctx context.Context, format string, entries []Entry) error {
	return s.ingest(ctx, format, "", entries, false)
}

// ingest is Ingest; own entries (from Emit) are still taken while Close
// drains the emit queue. A non-empty source replaces every entry's.
func (s *Service) ingest(ctx context.Context, format, source string, entries []Entry, own bool) error {
	if len(entries) == 0 {
		return nil
	}
	for i := range entries {
		e := &entries[i]
		e.ID = id.New("log")
		switch {
		case own:
			e.Source = SourcePaymon
		case source != "":
			e.Source = source
		case e.Source == SourcePaymon:
			e.Source = "" // only Emit writes as Paymon
		}
		if e.Time.IsZero() {
			e.Time = s.opt.Now()
		}
		e.Time = e.Time.UTC().Truncate(time.Millisecond)
		if !e.Level.Valid() {
			e.Level = LevelInfo
		}
		RedactEntry(e)
	}
	r := &ingestReq{format: format, entries: entries, rollup: BuildRollup(entries), done: make(chan error, 1)}
	unlock := func() {}
	if !own {
		s.mu.RLock()
		if s.closed {
			s.mu.RUnlock()
			return errClosed
		}
		unlock = s.mu.RUnlock
	}
	select {
	case s.reqs <- r:
		unlock()
	case <-ctx.Done():
		unlock()
		return ctx.Err()
	}
	// Once queued the batch will be written; wait for the outcome even if
	// ctx ends, so a committed batch is never reported as failed.
	return <-r.done
}

// Emit queues one of Paymon's own entries (payment events, server
// errors) for Ingest without waiting, so a payment never waits on the log
// store. If the queue is full the entry is dropped and a warning logged:
// a burst of own events must not stall payments.
func (s *Service) Emit(e Entry) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return
	}
	select {
	case s.emitq <- e:
	default:
		n := s.dropped.Add(1)
		s.log.Warn("log queue full: dropped one of paymon's own log entries", "dropped_total", n, "message", e.Message)
	}
}

func (s *Service) emitter() {
	defer s.emitWG.Done()
	batch := make([]Entry, 0, 256)
	for e := range s.emitq {
		batch = append(batch[:0], e)
	fill:
		for len(batch) < 1000 {
			select {
			case e, ok := <-s.emitq:
				if !ok {
					break fill
				}
				batch = append(batch, e)
			default:
				break fill
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := s.ingest(ctx, FormatOwn, SourcePaymon, slices.Clone(batch), true)
		cancel()
		if err != nil {
			s.log.Error("cannot store paymon's own log entries", "entries", len(batch), "err", err)
		}
	}
}

func (s *Service) flusher() {
	defer s.stopped.Done()
	for {
		var batch []*ingestReq // a new slice each time: afterStore still reads the last one
		select {
		case r := <-s.reqs:
			batch = []*ingestReq{r}
		case <-s.stop:
			for {
				select {
				case r := <-s.reqs:
					s.flush([]*ingestReq{r})
				default:
					return
				}
			}
		}
		n := len(batch[0].entries)
	fill:
		for n < s.opt.MaxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
				n += len(r.entries)
			default:
				break fill
			}
		}
		s.flush(batch)
	}
}

func (s *Service) flush(batch []*ingestReq) {
	all, r := batch[0].entries, batch[0].rollup
	if len(batch) > 1 {
		n, nc, nm := 0, 0, 0
		for _, q := range batch {
			n, nc, nm = n+len(q.entries), nc+len(q.rollup.Counts), nm+len(q.rollup.Messages)
		}
		all = make([]Entry, 0, n)
		// Increments of several requests may share a counter: adapters
		// add each one, so concatenating them is exact.
		r = Rollup{Counts: make([]CountIncrement, 0, nc), Messages: make([]MessageIncrement, 0, nm)}
		for _, q := range batch {
			all = append(all, q.entries...)
			r.Counts = append(r.Counts, q.rollup.Counts...)
			r.Messages = append(r.Messages, q.rollup.Messages...)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.store.InsertEntries(ctx, all, r); err != nil {
		err = fmt.Errorf("cannot store log entries: %w", err)
		for _, q := range batch {
			q.done <- err
		}
		return
	}
	// The cache, the hooks and the answers run on their own goroutine so
	// that the next store write starts meanwhile.
	s.after <- storedBatch{reqs: batch, entries: all}
}

type storedBatch struct {
	reqs    []*ingestReq
	entries []Entry
}

// afterStore handles stored batches in order. Requests are answered once
// the cache has their batch (so a POST's entries are in /logs/recent when
// it returns) and before the hooks run, so that a slow subscriber of the
// live feed never holds up shippers.
func (s *Service) afterStore() {
	defer s.afterWG.Done()
	for b := range s.after {
		all := b.entries
		metrics.LogIngestBatchSize.Observe(float64(len(all)))
		for _, q := range b.reqs {
			var perLevel [5]int
			for i := range q.entries {
				perLevel[levelIndex(q.entries[i].Level)]++
			}
			for i, n := range perLevel {
				if n > 0 {
					metrics.LogsIngested.WithLabelValues(string(Levels[i]), q.format).Add(float64(n))
				}
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		s.cacheEntries(ctx, all)
		for _, q := range b.reqs {
			q.done <- nil
		}
		for _, h := range s.hooks {
			h(ctx, all)
		}
		cancel()
	}
}

func levelIndex(l Level) int {
	switch l {
	case LevelDebug:
		return 0
	case LevelWarn:
		return 2
	case LevelError:
		return 3
	case LevelFatal:
		return 4
	}
	return 1
}

// cacheEntries pushes the newest entries (and the newest critical ones)
// of a stored batch, oldest first so the newest ends at the head. Older
// entries would be pushed out by the cap anyway.
func (s *Service) cacheEntries(ctx context.Context, all []Entry) {
	if s.cache == nil {
		return
	}
	push := func(key string, es []*Entry, max int, ttl time.Duration) {
		slices.SortFunc(es, func(a, b *Entry) int { return strings.Compare(a.ID, b.ID) })
		if len(es) > max {
			es = es[len(es)-max:]
		}
		for _, e := range es {
			b, err := json.Marshal(e)
			if err == nil {
				err = s.cache.ListPush(ctx, key, b, max, ttl)
			}
			if err != nil {
				s.log.Warn("cannot cache log entries", "key", key, "err", err)
				return
			}
		}
	}
	recent := make([]*Entry, 0, min(len(all), s.opt.RecentSize))
	var critical []*Entry
	for i := len(all) - 1; i >= 0; i-- {
		if len(recent) < s.opt.RecentSize {
			recent = append(recent, &all[i])
		}
		if all[i].Level.Critical() {
			critical = append(critical, &all[i])
		}
	}
	push(recentKey, recent, s.opt.RecentSize, s.opt.RecentTTL)
	push(criticalKey, critical, s.opt.CriticalSize, s.opt.CriticalTTL)
}

// Recent returns up to n entries, newest first, of the given levels (all
// when empty), from the cache when it can answer and from the store
// otherwise. source says which ("cache" or "store").
func (s *Service) Recent(ctx context.Context, n int, levels []Level) ([]Entry, string, error) {
	if n <= 0 {
		n = 50
	}
	key, max := recentKey, s.opt.RecentSize
	if len(levels) > 0 {
		key, max = criticalKey, s.opt.CriticalSize
		for _, l := range levels {
			if !l.Critical() {
				key = ""
			}
		}
	}
	if s.cache != nil && key != "" && n <= max {
		raw, err := s.cache.ListRange(ctx, key, max)
		if err != nil {
			s.log.Warn("recent logs: cache unavailable, reading the store", "err", err)
		} else if len(raw) > 0 {
			// A list shorter than its cap may have been emptied (restart,
			// eviction) since older entries were stored: then only the
			// store can fill a page, unless the page is already full.
			out := make([]Entry, 0, n)
			for _, b := range raw {
				var e Entry
				if json.Unmarshal(b, &e) != nil {
					continue
				}
				if len(levels) == 0 || slices.Contains(levels, e.Level) {
					out = append(out, e)
				}
			}
			slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(b.ID, a.ID) })
			if len(out) >= n || len(raw) >= max {
				return out[:min(n, len(out))], "cache", nil
			}
		}
	}
	es, _, err := s.store.SearchEntries(ctx, Filter{Levels: levels, Limit: n})
	return es, "store", err
}

// MaxSearchLimit is the largest page Search returns.
const MaxSearchLimit = 1000

// Search returns a page of entries matching f, newest first.
func (s *Service) Search(ctx context.Context, f Filter) ([]Entry, bool, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > MaxSearchLimit {
		f.Limit = MaxSearchLimit
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return nil, false, fmt.Errorf("%w: from must be before to", ErrInvalidFilter)
	}
	if !f.From.IsZero() {
		// An entry's time is at most MaxFuture after its receipt, so no
		// entry received before From-MaxFuture can match.
		f.MinID = IDFloor(f.From.Add(-s.opt.Limits.MaxFuture))
	}
	return s.store.SearchEntries(ctx, f)
}

// Sweep deletes entries past their level's retention and counters past
// RollupRetention. It returns how many entries it removed.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	now := s.opt.Now()
	var total int64
	var errs []error
	for _, l := range Levels {
		d, ok := s.opt.Retention[l]
		if !ok || d <= 0 {
			continue
		}
		n, err := s.store.DeleteEntries(ctx, l, now.Add(-d))
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("cannot sweep %s entries: %w", l, err))
		}
	}
	if _, err := s.store.DeleteRollups(ctx, now.Add(-s.opt.RollupRetention)); err != nil {
		errs = append(errs, fmt.Errorf("cannot sweep log roll-ups: %w", err))
	}
	return total, errors.Join(errs...)
}

// IDFloor is the smallest id that id.New("log") can return at time t or
// later: ids sort by their creation millisecond. Stores use it to turn a
// receipt-time bound into an id range.
func IDFloor(t time.Time) string { return id.Floor("log", t) }
