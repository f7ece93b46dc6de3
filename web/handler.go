package web

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"
)

// hashedAsset matches the file names the Angular build gives to content-hashed
// output (main-7QPTBWGS.js, chunk-AB12CD34.js, styles-XYZ12345.css, media/x-HASH.woff2).
var hashedAsset = regexp.MustCompile(`-[A-Za-z0-9]{8,}\.[A-Za-z0-9]+$`)

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Paymon</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;margin:3rem">
<h1>Paymon</h1>
<p>Dashboard not built: run <code>make web</code>, then rebuild the binary.</p>
<p>The API is available under <code>/api/v1/</code>.</p>
</body></html>
`

// handler serves the single-page app found at the root of fsys:
//   - an existing file is served as is; content-hashed assets are cached
//     for a year (immutable), everything else must be revalidated;
//   - a missing path with a file extension (a missing asset) is a 404;
//   - any other path (a client-side route such as /payments/abc) gets
//     index.html with Cache-Control: no-cache;
//   - paths under /api/ are never served from here (404): the API mux
//     handles them before this handler;
//   - without index.html (app not built) the fallback is a small page
//     saying how to build it, with status 200.
func handler(fsys fs.FS) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		urlPath := r.URL.Path
		if urlPath == "/api" || strings.HasPrefix(urlPath, "/api/") {
			http.NotFound(w, r)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+urlPath), "/")
		if name == "" {
			name = "index.html"
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")

		if name != "index.html" {
			served, err := serveFile(w, r, fsys, name)
			if served {
				return
			}
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				http.Error(w, "cannot read file", http.StatusInternalServerError)
				return
			}
			if path.Ext(name) != "" {
				http.NotFound(w, r)
				return
			}
		}

		index, err := fs.ReadFile(fsys, "index.html")
		if err != nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			w.WriteHeader(http.StatusOK)
			if r.Method != http.MethodHead {
				_, _ = io.WriteString(w, notBuiltPage)
			}
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(index))
	})
}

// serveFile writes the regular file name from fsys. It reports false when
// there is no such regular file (a directory counts as missing).
func serveFile(w http.ResponseWriter, r *http.Request, fsys fs.FS, name string) (bool, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	if !st.Mode().IsRegular() {
		return false, fs.ErrNotExist
	}
	if hashedAsset.MatchString(name) {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	if rs, ok := f.(io.ReadSeeker); ok {
		http.ServeContent(w, r, name, time.Time{}, rs)
		return true, nil
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return false, err
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
	return true, nil
}
