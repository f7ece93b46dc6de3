package shippers

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/paymon/paymon/internal/testenv"
)

// docFile matches the marker docs/shippers.md puts before a configuration
// the tests run: the next fenced block must be that file, byte for byte.
// testName is how a section names the test that runs it.
var testName = regexp.MustCompile(`\bTest[A-Z][A-Za-z0-9]*`)

func shippersTestSource(t *testing.T, dir string) string {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(src)
	}
	return b.String()
}

var docFile = regexp.MustCompile("<!-- file: (\\S+) -->\\s*\n```[a-z]*\n")

// Every configuration docs/shippers.md marks "run by the tests" is the
// file the tests run, so the documentation cannot drift from what works.
func TestShippersDocShowsTheFilesTheTestsRun(t *testing.T) {
	root := testenv.Root()
	doc, err := os.ReadFile(filepath.Join(root, "docs", "shippers.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	tests := shippersTestSource(t, filepath.Join(root, "internal", "shippers"))
	sections := strings.Split(text, "\n## ")[1:]
	if len(sections) < 10 {
		t.Fatalf("docs/shippers.md has %d shipper sections; want one per shipper the issue names", len(sections))
	}
	for _, sec := range sections {
		title, _, _ := strings.Cut(sec, "\n")
		run := strings.Contains(sec, "**Run by the tests**")
		notRun := strings.Contains(sec, "**Not runnable on the test machine**")
		if run == notRun {
			t.Errorf("section %q must say exactly one of \"Run by the tests\" or \"Not runnable on the test machine\"", title)
			continue
		}
		marks := docFile.FindAllStringSubmatchIndex(sec, -1)
		if run {
			names := testName.FindAllString(sec, -1)
			if len(names) == 0 {
				t.Errorf("section %q says it is run by the tests but names no test", title)
			}
			for _, n := range names {
				if !strings.Contains(tests, "func "+n+"(") {
					t.Errorf("section %q names %s, which internal/shippers does not have", title, n)
				}
			}
		}
		for _, m := range marks {
			rel := sec[m[2]:m[3]]
			body := sec[m[1]:]
			end := strings.Index(body, "\n```")
			if end < 0 {
				t.Errorf("%s: unterminated code block for %s", title, rel)
				continue
			}
			want, err := os.ReadFile(filepath.Join(root, rel))
			if err != nil {
				t.Errorf("%s: %v", title, err)
				continue
			}
			if got := body[:end+1]; got != string(want) {
				t.Errorf("%s: the block for %s differs from the file the tests run; paste the file again", title, rel)
			}
		}
	}
}
