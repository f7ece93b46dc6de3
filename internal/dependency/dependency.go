// Package dependency names the one failure every adapter shares: a store,
// cache or bus that cannot be reached. Handlers turn it into 503 with
// Retry-After; domain code never needs to know which adapter failed.
package dependency

import (
	"errors"
	"fmt"
)

// ErrUnavailable marks an error caused by an unreachable dependency.
var ErrUnavailable = errors.New("dependency unavailable")

// Unavailable wraps err so that errors.Is(err, ErrUnavailable) holds while
// the original stays reachable for logs.
func Unavailable(name string, err error) error {
	return fmt.Errorf("%s unavailable: %w", name, errors.Join(ErrUnavailable, err))
}
