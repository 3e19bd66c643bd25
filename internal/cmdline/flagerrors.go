package cmdline

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// taker is a flag value that says what it takes, in the user's words, for
// the messages about a value it cannot take.
type taker interface {
	Takes() string
}

// Takes returns what the value of f must be, such as "a whole number,
// such as 10".
func Takes(f *pflag.Flag) string {
	if t, ok := f.Value.(taker); ok {
		return t.Takes()
	}
	switch f.Value.Type() {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number, such as 10"
	case "float32", "float64":
		return "a number, such as 2 or 0.5"
	case "duration":
		return "a duration with a unit, such as 500ms, 30s, 5m or 1h"
	case "bool":
		return "true or false"
	}
	return "text"
}

// label names f as the user may write it: "--rate", or "-o/--output"
// for a flag with a shorthand.
func label(f *pflag.Flag) string {
	if f.Shorthand != "" {
		return "-" + f.Shorthand + "/--" + f.Name
	}
	return "--" + f.Name
}

// ValueError says, in one line, that what (a flag, a config key or an
// environment variable that sets f) cannot be value, and what it takes.
func ValueError(what string, f *pflag.Flag, value string, cause error) error {
	if errors.Is(cause, strconv.ErrRange) {
		return fmt.Errorf("%s %q is out of range: it takes %s", what, value, Takes(f))
	}
	return fmt.Errorf("%s takes %s, not %q", what, Takes(f), value)
}

// FlagError words an error of parsing c's flags in one line that names the
// flag and what it takes.
func FlagError(c *cobra.Command, err error) error {
	var invalid *pflag.InvalidValueError
	if errors.As(err, &invalid) {
		return ValueError(label(invalid.GetFlag()), invalid.GetFlag(), invalid.GetValue(), invalid.Unwrap())
	}
	var needs *pflag.ValueRequiredError
	if errors.As(err, &needs) {
		f := needs.GetFlag()
		takes := ""
		if t := Takes(f); t != "text" {
			takes = ": " + t
		}
		return fmt.Errorf("%s needs a value%s; see %s --help", label(f), takes, c.CommandPath())
	}
	var unknown *pflag.NotExistError
	if errors.As(err, &unknown) {
		name := "--" + unknown.GetSpecifiedName()
		if short := unknown.GetSpecifiedShortnames(); short != "" {
			name = "-" + unknown.GetSpecifiedName()
		}
		return fmt.Errorf("unknown flag %s for %s; see %s --help", name, c.CommandPath(), c.CommandPath())
	}
	return fmt.Errorf("%w; see %s --help", err, c.CommandPath())
}
