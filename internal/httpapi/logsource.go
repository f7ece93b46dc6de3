package httpapi

import (
	"github.com/paymon/paymon/internal/auth"
	"github.com/paymon/paymon/internal/logbook"
)

// entrySource is what a stored log entry records as its writer: the
// credential the request authenticated with, never anything the body
// says, so an entry can always be traced to the key or user that sent it
// and told apart from Paymon's own.
func entrySource(p auth.Principal) string {
	return logbook.SourceOf(p.Kind, p.ID)
}
