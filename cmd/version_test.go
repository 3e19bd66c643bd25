package cmd

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestWriteVersion(t *testing.T) {
	tests := []struct {
		name string
		info debug.BuildInfo
		want []string
	}{
		{"a release", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-11-26T12:00:00Z"}, {Key: "vcs.modified", Value: "false"},
		}}, []string{"montool v1.2.3\n", "commit  abc123 of 2026-11-26T12:00:00Z\n", "go      go1.26.8\n"}},
		{"a working tree with changes", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "def456"}, {Key: "vcs.modified", Value: "true"},
		}}, []string{"montool (devel)\n", "commit  def456 (with changes)\n"}},
		{"no VCS information", debug.BuildInfo{GoVersion: "go1.26.8"}, []string{"montool (devel)\n", "commit  unknown\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := writeVersion(&b, &tt.info); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("got %q, want it to contain %q", b.String(), w)
				}
			}
		})
	}
}

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
