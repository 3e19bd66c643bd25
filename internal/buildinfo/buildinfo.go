// Package buildinfo says what a montool binary is, from the build
// information the go command stamps into it.
package buildinfo

import (
	"fmt"
	"io"
	"runtime/debug"
)

// Write prints what info tells of the build: the module version
// ("(devel)" for a build from a working tree), the commit and its time,
// whether the tree had changes, and the Go version.
func Write(w io.Writer, info *debug.BuildInfo) error {
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	commit, when, modified := "unknown", "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified {
		commit += " (with changes)"
	}
	if when != "" {
		commit += " of " + when
	}
	_, err := fmt.Fprintf(w, "montool %s\ncommit  %s\ngo      %s\n", version, commit, info.GoVersion)
	return err
}
