package cmd

import (
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	isolate(t)
	stdout, _, err := execute(t, runners{}, "version")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout, "montool ") || !strings.Contains(stdout, "\ngo      go1.") {
		t.Errorf("version printed %q, want the version, commit and Go version", stdout)
	}
}
