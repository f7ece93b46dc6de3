package logbook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// StatsQuery is what GET /api/v1/logs/stats asks. Zero times default to
// the last 24 hours; a zero Step is chosen to give at most 120 points.
type StatsQuery struct {
	Service  string
	From, To time.Time
	Step     time.Duration
}

// Stats is the statistics response, shaped as DESIGN.md says.
type Stats struct {
	From        time.Time        `json:"from"`
	To          time.Time        `json:"to"`
	Step        string           `json:"step"`
	Total       int64            `json:"total"`
	ByLevel     map[Level]int64  `json:"by_level"`
	ByService   map[string]int64 `json:"by_service"`
	ErrorRate   float64          `json:"error_rate"`
	Series      []SeriesPoint    `json:"series"`
	TopMessages []MessageCount   `json:"top_messages"`
}

// SeriesPoint is one step of the series.
type SeriesPoint struct {
	Time    time.Time       `json:"time"`
	ByLevel map[Level]int64 `json:"by_level"`
}

// Bounds of a stats query.
const (
	MaxStatsPoints = 1500
	TopMessages    = 10
)

var autoSteps = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour,
	3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// Stats answers from the roll-up counters only, never from the entries:
// its cost depends on the time range, not on how many entries there are.
// From is floored and To raised to a multiple of Step (UTC), so every
// point covers a whole step.
func (s *Service) Stats(ctx context.Context, q StatsQuery) (*Stats, error) {
	now := s.opt.Now().UTC()
	if q.To.IsZero() {
		q.To = now
	}
	if q.From.IsZero() {
		q.From = q.To.Add(-24 * time.Hour)
	}
	if !q.From.Before(q.To) {
		return nil, fmt.Errorf("%w: from must be before to", ErrInvalidFilter)
	}
	if q.To.Sub(q.From) > s.opt.RollupRetention {
		return nil, fmt.Errorf("%w: the range may span at most %s (how long counters are kept)", ErrInvalidFilter, FormatStep(s.opt.RollupRetention))
	}
	if q.Step == 0 {
		q.Step = autoSteps[len(autoSteps)-1]
		for _, st := range autoSteps {
			if q.To.Sub(q.From)/st <= 120 {
				q.Step = st
				break
			}
		}
	}
	if q.Step < time.Minute || q.Step%time.Minute != 0 {
		return nil, fmt.Errorf("%w: step must be a whole number of minutes, like 1m, 5m or 1h", ErrInvalidFilter)
	}
	from := q.From.UTC().Truncate(q.Step)
	to := q.To.UTC().Truncate(q.Step)
	if to.Before(q.To) {
		to = to.Add(q.Step)
	}
	points := int(to.Sub(from) / q.Step)
	if points > MaxStatsPoints {
		return nil, fmt.Errorf("%w: from, to and step give %d points; at most %d", ErrInvalidFilter, points, MaxStatsPoints)
	}
	cq := CountQuery{Res: ResolutionFor(q.Step), From: from, To: to, Step: q.Step, Service: q.Service}
	hq := cq
	hq.Res, hq.From = ResHour, from.Truncate(time.Hour)
	if hq.To = to.Truncate(time.Hour); hq.To.Before(to) {
		hq.To = hq.To.Add(time.Hour)
	}
	// The three reads are independent: run them side by side.
	var (
		wg                        sync.WaitGroup
		counts                    []BucketCount
		byService                 map[string]int64
		top                       []MessageCount
		errCounts, errSvc, errTop error
	)
	wg.Add(3)
	go func() { defer wg.Done(); counts, errCounts = s.store.CountsByLevel(ctx, cq) }()
	go func() { defer wg.Done(); byService, errSvc = s.store.CountsByService(ctx, cq) }()
	go func() { defer wg.Done(); top, errTop = s.store.TopMessages(ctx, hq, TopMessages) }()
	wg.Wait()
	if err := errors.Join(errCounts, errSvc, errTop); err != nil {
		return nil, fmt.Errorf("cannot read log counters: %w", err)
	}

	st := &Stats{From: from, To: to, Step: FormatStep(q.Step), ByLevel: zeroLevels(), ByService: byService,
		Series: make([]SeriesPoint, points), TopMessages: top}
	if st.ByService == nil {
		st.ByService = map[string]int64{}
	}
	if st.TopMessages == nil {
		st.TopMessages = []MessageCount{}
	}
	for i := range st.Series {
		st.Series[i] = SeriesPoint{Time: from.Add(time.Duration(i) * q.Step), ByLevel: zeroLevels()}
	}
	for _, c := range counts {
		i := int(c.Bucket.Sub(from) / q.Step)
		if i < 0 || i >= points || !c.Level.Valid() {
			continue
		}
		st.Series[i].ByLevel[c.Level] += c.N
		st.ByLevel[c.Level] += c.N
		st.Total += c.N
	}
	if st.Total > 0 {
		st.ErrorRate = float64(st.ByLevel[LevelError]+st.ByLevel[LevelFatal]) / float64(st.Total)
	}
	return st, nil
}

func zeroLevels() map[Level]int64 {
	m := make(map[Level]int64, len(Levels))
	for _, l := range Levels {
		m[l] = 0
	}
	return m
}

// FormatStep renders a duration without zero units: "5m", "1h", "1h30m".
func FormatStep(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
