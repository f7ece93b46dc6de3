//go:build noui

// Package web serves the Angular dashboard. This build (tag noui) embeds
// nothing: every page says the dashboard is not built.
package web

import (
	"io/fs"
	"net/http"
)

type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// Handler serves the "dashboard not built" page; the binary was built with
// the noui tag.
func Handler() http.Handler {
	return handler(emptyFS{})
}
