package cmd

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print montool's version, the commit it was built from, and its Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, ok := debug.ReadBuildInfo()
			if !ok {
				return fmt.Errorf("this binary carries no build information")
			}
			return writeVersion(cmd.OutOrStdout(), info)
		},
	}
}

// writeVersion prints what info tells of the build: the module version
// ("(devel)" for a build from a working tree), the commit and its time,
// whether the tree had changes, and the Go version.
func writeVersion(w io.Writer, info *debug.BuildInfo) error {
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
