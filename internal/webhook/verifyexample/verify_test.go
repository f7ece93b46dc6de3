package verifyexample_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paymon/paymon/internal/testenv"
	"github.com/paymon/paymon/internal/webhook"
	"github.com/paymon/paymon/internal/webhook/verifyexample"
)

// TestExampleVerifiesPaymonSignatures runs the documented receiver on
// requests signed the way Paymon signs them.
func TestExampleVerifiesPaymonSignatures(t *testing.T) {
	body := []byte(`{"id":"evt_01abc_2","type":"payment.succeeded","data":{}}`)
	var got []string
	h := verifyexample.Handler("whsec_right", func(id string, _ []byte) { got = append(got, id) })
	send := func(header string) int {
		req := httptest.NewRequest("POST", "/hooks", bytes.NewReader(body))
		req.Header.Set("Paymon-Signature", header)
		req.Header.Set("Paymon-Event-Id", "evt_01abc_2")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	now := time.Now()
	if c := send(webhook.Sign(now, body, "whsec_right")); c != http.StatusNoContent {
		t.Fatalf("valid signature: %d", c)
	}
	if c := send(webhook.Sign(now, body, "whsec_new", "whsec_right")); c != http.StatusNoContent {
		t.Fatalf("valid signature during a rotation: %d", c)
	}
	for name, header := range map[string]string{
		"wrong secret": webhook.Sign(now, body, "whsec_wrong"),
		"old":          webhook.Sign(now.Add(-time.Hour), body, "whsec_right"),
		"malformed":    "v1=abc",
		"missing":      "",
	} {
		if c := send(header); c != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, c)
		}
	}
	if len(got) != 2 {
		t.Fatalf("handled %d events, want 2", len(got))
	}
}

// TestDocsShowThisExample keeps docs/webhooks.md showing exactly the
// code that the test above runs.
func TestDocsShowThisExample(t *testing.T) {
	code, err := os.ReadFile("verify.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(testenv.Root(), "docs", "webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```go\n"+string(code)+"```\n") {
		t.Fatal("docs/webhooks.md does not contain internal/webhook/verifyexample/verify.go verbatim in a ```go block")
	}
}
