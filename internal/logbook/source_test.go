package logbook_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/logbook"
)

// Paymon's service name is reserved on every ingest path (they all go
// through CheckEntry), in any letter case.
func TestCheckEntryRefusesPaymonService(t *testing.T) {
	now := time.Now()
	for _, svc := range []string{"paymon", "PayMon", " paymon"} {
		e := logbook.Entry{Service: svc, Message: "payment refunded"}
		var de *logbook.DecodeError
		if err := logbook.CheckEntry(&e, now, logbook.DefaultLimits); !errors.As(err, &de) || de.Field != "service" {
			t.Errorf("service %q: err = %v, want an invalid service", svc, err)
		}
	}
	e := logbook.Entry{Service: "paymon-proxy", Message: "ok"}
	if err := logbook.CheckEntry(&e, now, logbook.DefaultLimits); err != nil {
		t.Errorf("paymon-proxy refused: %v", err)
	}
}

// IngestFrom stamps every entry with the sender's credential whatever the
// entry said; only Emit writes as Paymon.
func TestIngestRecordsSource(t *testing.T) {
	db := newDB(t)
	s := newService(t, db, nil, logbook.Options{})
	ctx := context.Background()
	in := []logbook.Entry{{Service: "checkout", Message: "a", Source: logbook.SourcePaymon}, {Service: "checkout", Message: "b"}}
	if err := s.IngestFrom(ctx, logbook.FormatJSON, "key:key_1", in); err != nil {
		t.Fatal(err)
	}
	if err := s.IngestFrom(ctx, logbook.FormatJSON, logbook.SourcePaymon, []logbook.Entry{{Service: "checkout", Message: "c"}}); err == nil {
		t.Error("IngestFrom took Paymon's own source")
	}
	if err := s.Ingest(ctx, []logbook.Entry{{Service: "checkout", Message: "d", Source: logbook.SourcePaymon}}); err != nil {
		t.Fatal(err)
	}
	s.Emit(logbook.Entry{Service: logbook.OwnService, Message: "own", Time: time.Now()})
	if err := s.Close(); err != nil { // writes the emit queue
		t.Fatal(err)
	}
	got, _, err := db.SearchEntries(ctx, logbook.Filter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "key:key_1", "b": "key:key_1", "d": "", "own": "paymon"}
	if len(got) != len(want) {
		t.Fatalf("stored %d entries, want %d", len(got), len(want))
	}
	for _, e := range got {
		if e.Source != want[e.Message] {
			t.Errorf("entry %q: source %q, want %q", e.Message, e.Source, want[e.Message])
		}
	}
}
