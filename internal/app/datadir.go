package app

import (
	"fmt"

	"github.com/paymon/paymon/internal/store/sqlite"
)

// warnLoosePermissions says, at start, which parts of the data dir other
// local users can read: the database holds the JWT signing secret and the
// password hashes. Paymon creates them owner-only; looser modes come from
// an older version or from someone's chmod, and are left for the operator
// to fix rather than changed behind their back.
func (a *App) warnLoosePermissions() {
	loose, err := sqlite.LoosePermissions(a.cfg.DataDir)
	if err != nil {
		a.log.Warn("cannot check the data dir's permissions", "err", err)
		return
	}
	for _, l := range loose {
		want := "0600"
		if l.Path == a.cfg.DataDir {
			want = "0700"
		}
		a.log.Warn(fmt.Sprintf("%s is accessible to other local users (mode %#o); it holds the JWT secret and password hashes: chmod %s %s", l.Path, l.Mode, want, l.Path),
			"path", l.Path, "mode", fmt.Sprintf("%#o", l.Mode))
	}
}
