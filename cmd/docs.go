package cmd

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func newDocsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "docs markdown|man DIR",
		Short: "Write the documentation of every command, as Markdown or man pages",
		Long: `Write one page for every montool command into DIR (made if need be): Markdown
files (montool.md, montool_serve.md, ...) or man pages in section 1
(montool.1, montool-serve.1, ...), from the same text as --help.`,
		Example: `  montool docs markdown docs/cli
  montool docs man /usr/local/share/man/man1`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, dir := args[0], args[1]
			if format != "markdown" && format != "man" {
				return fmt.Errorf("format %q: want markdown or man", format)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true // no date: the same text makes the same pages
			if format == "man" {
				return doc.GenManTree(root, &doc.GenManHeader{Title: "MONTOOL", Section: "1", Source: "montool"}, dir)
			}
			return doc.GenMarkdownTree(root, dir)
		},
	}
}
