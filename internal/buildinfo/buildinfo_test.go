package buildinfo_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/montool/montool/internal/buildinfo"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/ with what the tests get")

// TestWrite: a binary says its version, its commit with the commit's time
// and whether the tree had changes, and its Go version; what the build did
// not stamp is said to be unknown.
func TestWrite(t *testing.T) {
	tests := []struct {
		name string
		info debug.BuildInfo
	}{
		{"release", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-11-26T12:00:00Z"}, {Key: "vcs.modified", Value: "false"},
		}}},
		{"changed-tree", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "def456"}, {Key: "vcs.time", Value: "2026-11-27T08:30:00Z"}, {Key: "vcs.modified", Value: "true"},
		}}},
		{"no-vcs", debug.BuildInfo{GoVersion: "go1.26.8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := buildinfo.Write(&b, &tt.info); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s differs (go test -update rewrites it if the change is meant):\n--- got\n%s\n--- want\n%s", path, b.Bytes(), want)
			}
		})
	}
}
