package cmdline

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// WordArgs makes every command under c tell wrong arguments in one line
// with its usage: a command whose arguments do not fit its Args says what
// it takes, and a parent of commands given one it does not have names
// those it has, where cobra would show its help and succeed.
func WordArgs(c *cobra.Command) {
	for _, sub := range c.Commands() {
		WordArgs(sub)
	}
	if !c.HasParent() {
		return // the root's unknown commands are cobra's, with suggestions
	}
	if !c.Runnable() && c.HasSubCommands() {
		c.Args = cobra.ArbitraryArgs
		c.SuggestionsMinimumDistance = 2
		c.RunE = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return c.Help()
			}
			return unknownCommand(c, args[0])
		}
		return
	}
	if check := c.Args; check != nil {
		c.Args = func(c *cobra.Command, args []string) error {
			if check(c, args) == nil {
				return nil
			}
			return argsError(c, check(c, nil) == nil, args)
		}
	}
}

// argsError words arguments that c does not take: none at all when
// takesNone. A switch set just before (--gzip maybe) is most likely why:
// its value was meant for it but, after a space, is an argument.
func argsError(c *cobra.Command, takesNone bool, args []string) error {
	if f, arg := switchBefore(c, takesNone, args); f != nil {
		return fmt.Errorf("%s takes %s after \"=\", as in --%s=false: %q, after a space, is read as an argument; usage: %s",
			label(f), Takes(f), f.Name, arg, c.UseLine())
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = strconv.Quote(a)
	}
	if takesNone {
		return fmt.Errorf("%s takes no arguments, got %s; usage: %s", c.CommandPath(), strings.Join(quoted, " "), c.UseLine())
	}
	got := "no arguments"
	switch len(args) {
	case 0:
	case 1:
		got = "1 argument (" + quoted[0] + ")"
	default:
		got = strconv.Itoa(len(args)) + " arguments (" + strings.Join(quoted, " ") + ")"
	}
	return fmt.Errorf("%s got %s; usage: %s", c.CommandPath(), got, c.UseLine())
}

// switchBefore returns a switch of c (a flag that needs no value) that was
// set to its value without one, and the argument that most likely was
// meant as its value: one that reads as a switch's value (true, no,
// auto...), else, for a command that takes none, the first. It returns nil
// when there is none of either.
func switchBefore(c *cobra.Command, takesNone bool, args []string) (*pflag.Flag, string) {
	var sw *pflag.Flag
	c.Flags().Visit(func(f *pflag.Flag) {
		if sw == nil && f.NoOptDefVal != "" && f.Value.String() == f.NoOptDefVal {
			sw = f
		}
	})
	if sw == nil {
		return nil, ""
	}
	for _, a := range args {
		if _, err := strconv.ParseBool(a); err == nil || strings.EqualFold(a, "auto") {
			return sw, a
		}
	}
	if takesNone && len(args) > 0 {
		return sw, args[0]
	}
	return nil, ""
}

// unknownCommand says that parent c has no command name, and which it has.
func unknownCommand(c *cobra.Command, name string) error {
	var names []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	takes := ""
	switch len(names) {
	case 0:
	case 1:
		takes = "; it has " + names[0]
	default:
		takes = "; it has " + strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	}
	if s := c.SuggestionsFor(name); len(s) == 1 { // with more, the list says it
		takes += " (did you mean " + s[0] + "?)"
	}
	return fmt.Errorf("%s has no command %q%s; usage: %s [command]", c.CommandPath(), name, takes, c.CommandPath())
}

// rootOut writes to what the root command writes to when it is written
// to, so that a command built before the root's output is set (cobra's
// shell completions) writes where the root does.
type rootOut struct{ root *cobra.Command }

func (o rootOut) Write(p []byte) (int, error) { return o.root.OutOrStdout().Write(p) }

var _ io.Writer = rootOut{}

// AddCompletionCmd adds cobra's completion command to root now rather
// than when root runs, so that WordArgs can word its arguments too. Its
// scripts are written to what root writes to when they run.
func AddCompletionCmd(root *cobra.Command) {
	root.SetOut(rootOut{root})
	root.InitDefaultCompletionCmd()
	root.SetOut(nil)
}
