package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

const indexHTML = `<!doctype html><html><body><pm-root></pm-root><script src="main-ABCDEFGH.js"></script></body></html>`

func builtFS() fstest.MapFS {
	return fstest.MapFS{
		"index.html":                   {Data: []byte(indexHTML)},
		"main-ABCDEFGH.js":             {Data: []byte("console.log('main')")},
		"styles-Z1Y2X3W4.css":          {Data: []byte("body{}")},
		"favicon.ico":                  {Data: []byte("ico")},
		"media/font-QWERTY12.woff2":    {Data: []byte("font")},
		"chunk-1234ABCD.js":            {Data: []byte("chunk")},
		"assets/not-hashed/readme.txt": {Data: []byte("hello")},
	}
}

func do(t *testing.T, h http.Handler, method, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return res, string(body)
}

func TestHandlerBuiltApp(t *testing.T) {
	h := handler(builtFS())
	tests := []struct {
		name       string
		method     string
		target     string
		wantStatus int
		wantBody   string // substring; "" = don't check
		wantCache  string // exact Cache-Control; "" = don't check
		wantType   string // Content-Type prefix; "" = don't check
	}{
		{"root serves index", "GET", "/", 200, "<pm-root>", "no-cache", "text/html"},
		{"explicit index", "GET", "/index.html", 200, "<pm-root>", "no-cache", "text/html"},
		{"SPA fallback payment detail", "GET", "/payments/abc", 200, "<pm-root>", "no-cache", "text/html"},
		{"SPA fallback logs", "GET", "/logs", 200, "<pm-root>", "no-cache", "text/html"},
		{"SPA fallback with query", "GET", "/payments?status=failed", 200, "<pm-root>", "no-cache", "text/html"},
		{"SPA fallback on a directory", "GET", "/media", 200, "<pm-root>", "no-cache", "text/html"},
		{"hashed js asset", "GET", "/main-ABCDEFGH.js", 200, "console.log", "public, max-age=31536000, immutable", "text/javascript"},
		{"hashed css asset", "GET", "/styles-Z1Y2X3W4.css", 200, "body{}", "public, max-age=31536000, immutable", "text/css"},
		{"hashed nested asset", "GET", "/media/font-QWERTY12.woff2", 200, "font", "public, max-age=31536000, immutable", ""},
		{"unhashed asset revalidates", "GET", "/favicon.ico", 200, "ico", "no-cache", ""},
		{"missing asset is 404", "GET", "/main-XYZ.js", 404, "", "", ""},
		{"missing nested asset is 404", "GET", "/media/missing.png", 404, "", "", ""},
		{"api path never served", "GET", "/api/v1/payments", 404, "", "", ""},
		{"api root never served", "GET", "/api", 404, "", "", ""},
		{"api unknown path not SPA", "GET", "/api/v1/nope/deeper", 404, "", "", ""},
		{"path traversal is cleaned", "GET", "/../../etc/passwd", 200, "<pm-root>", "no-cache", "text/html"},
		{"HEAD index", "HEAD", "/payments/abc", 200, "", "no-cache", "text/html"},
		{"POST not allowed", "POST", "/", 405, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, body := do(t, h, tc.method, tc.target)
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", res.StatusCode, tc.wantStatus, body)
			}
			if tc.wantBody != "" && !strings.Contains(body, tc.wantBody) {
				t.Errorf("body = %q, want it to contain %q", body, tc.wantBody)
			}
			if tc.wantStatus == 200 && tc.wantBody == "" && tc.method == "GET" {
				t.Errorf("test case must check the body")
			}
			if tc.wantCache != "" {
				if got := res.Header.Get("Cache-Control"); got != tc.wantCache {
					t.Errorf("Cache-Control = %q, want %q", got, tc.wantCache)
				}
			}
			if tc.wantType != "" {
				if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, tc.wantType) {
					t.Errorf("Content-Type = %q, want prefix %q", got, tc.wantType)
				}
			}
			if tc.wantStatus == 404 && strings.Contains(body, "<pm-root>") {
				t.Errorf("404 must not serve index.html")
			}
		})
	}
}

func TestHandlerNotBuilt(t *testing.T) {
	h := handler(fstest.MapFS{})
	for _, target := range []string{"/", "/payments/abc"} {
		res, body := do(t, h, "GET", target)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status = %d, want 200", target, res.StatusCode)
		}
		if !strings.Contains(body, "Dashboard not built") || !strings.Contains(body, "make web") {
			t.Errorf("GET %s: body = %q, want the not-built page", target, body)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET %s: Content-Type = %q", target, ct)
		}
	}
	if res, _ := do(t, h, "GET", "/main-ABCDEFGH.js"); res.StatusCode != http.StatusNotFound {
		t.Errorf("missing asset when not built: status = %d, want 404", res.StatusCode)
	}
	if res, _ := do(t, h, "GET", "/api/v1/payments"); res.StatusCode != http.StatusNotFound {
		t.Errorf("api path when not built: status = %d, want 404", res.StatusCode)
	}
}

func TestHandlerEmbedded(t *testing.T) {
	// Whatever is in dist (built or not), the exported handler answers / with 200.
	res, body := do(t, Handler(), "GET", "/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", res.StatusCode)
	}
	if !strings.Contains(body, "<html") && !strings.Contains(body, "<!doctype") {
		t.Errorf("body is not HTML: %q", body)
	}
}
