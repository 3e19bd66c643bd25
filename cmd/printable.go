package cmd

import "github.com/montool/montool/internal/termtext"

// printable returns s as the tables of the commands show it; see
// termtext.Printable.
func printable(s string) string { return termtext.Printable(s) }
