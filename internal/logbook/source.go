package logbook

import (
	"context"
	"fmt"
)

// IngestFrom is IngestFormat for entries written with the credential
// source (see SourceOf): every entry records it, whatever it said.
func (s *Service) IngestFrom(ctx context.Context, format, source string, entries []Entry) error {
	if source == "" || source == SourcePaymon {
		return fmt.Errorf("cannot ingest: source %q is not a sender's credential", source)
	}
	return s.ingest(ctx, format, source, entries, false)
}
