// Package cmdline holds what montool's commands share below cobra and
// pflag: the flag values they lack (sizes with units, booleans that may be
// auto, timestamps), and the wording of a wrong flag, value, argument or command in one
// line that names it and says what it takes.
package cmdline
