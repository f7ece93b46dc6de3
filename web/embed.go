//go:build !noui

// Package web serves the Angular dashboard that is built into web/dist.
// Build it with `make web` (npm ci && npm run build in web/); build the
// binary with `-tags noui` to leave the dashboard out.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed all:dist
var distFS embed.FS

// Handler serves the embedded dashboard with SPA fallback. See handler.
func Handler() http.Handler {
	sub, err := fs.Sub(distFS, "dist/paymon/browser")
	if err != nil {
		// fs.Sub only fails on an invalid path, which is a constant here.
		panic("web: cannot open embedded dist: " + err.Error())
	}
	return handler(sub)
}
