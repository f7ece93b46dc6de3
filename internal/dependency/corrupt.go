package dependency

import (
	"errors"
	"fmt"
)

// ErrCorrupt marks an error caused by a damaged store: unlike
// ErrUnavailable it does not heal by waiting, so handlers answer without
// Retry-After and readiness fails until an operator restores the data.
var ErrCorrupt = errors.New("store corrupt")

// Corrupt wraps err so that errors.Is(err, ErrCorrupt) holds.
func Corrupt(name string, err error) error {
	return fmt.Errorf("%s corrupt: %w", name, errors.Join(ErrCorrupt, err))
}
