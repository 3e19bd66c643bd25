package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDocs(t *testing.T) {
	isolate(t)
	for _, tt := range []struct {
		format, file, want string
	}{
		{"markdown", "montool_serve.md", "montool serve [flags]"},
		{"man", "montool-serve.1", "montool serve [flags]"},
	} {
		t.Run(tt.format, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "docs")
			if _, _, err := execute(t, runners{}, "docs", tt.format, dir); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			// One page for the root and each command but help.
			if want := len(newRootCmd(runners{}).Commands()); len(entries) < want {
				t.Errorf("%d pages, want at least %d", len(entries), want)
			}
			page, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(page), tt.want) || !strings.Contains(string(page), "--data-dir") {
				t.Errorf("%s lacks the usage or a flag:\n%s", tt.file, page)
			}
		})
	}
	_, _, err := execute(t, runners{}, "docs", "pdf", t.TempDir())
	checkErr(t, err, `format "pdf": want markdown or man`)
}
