package cmdline_test

import (
	"errors"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/montool/montool/internal/cmdline"
)

// newTool returns a command tree with a flag of each kind, a command of
// one argument and a parent of two commands, wording its errors as
// montool's do.
func newTool() *cobra.Command {
	root := &cobra.Command{Use: "tool", SilenceUsage: true, SilenceErrors: true}
	run := &cobra.Command{Use: "run", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return nil }}
	fs := run.Flags()
	fs.Int("count", 1, "")
	fs.Float64("rate", 1, "")
	fs.Duration("wait", time.Second, "")
	fs.Bool("on", false, "")
	fs.StringP("output", "o", "", "")
	var size cmdline.ByteSize
	fs.Var(&size, "size", "")
	var gzip cmdline.AutoBool
	fs.VarPF(&gzip, "gzip", "", "").NoOptDefVal = "true"
	get := &cobra.Command{Use: "get NAME", Args: cobra.ExactArgs(1), RunE: func(*cobra.Command, []string) error { return nil }}
	shell := &cobra.Command{Use: "shell"}
	for _, name := range []string{"bash", "zsh"} {
		shell.AddCommand(&cobra.Command{Use: name, Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return nil }})
	}
	root.AddCommand(run, get, shell)
	root.SetFlagErrorFunc(cmdline.FlagError)
	cmdline.WordArgs(root)
	root.SetOut(io.Discard)
	return root
}

// TestErrorWording: a wrong flag, value, argument or command is told in
// one line that names it, says what it takes, and where to look.
func TestErrorWording(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--count", "abc"}, `--count takes a whole number, such as 10, not "abc"`},
		{[]string{"run", "--count", "99999999999999999999"}, `--count "99999999999999999999" is out of range: it takes a whole number, such as 10`},
		{[]string{"run", "--rate", "fast"}, `--rate takes a number, such as 2 or 0.5, not "fast"`},
		{[]string{"run", "--wait", "30"}, `--wait takes a duration with a unit, such as 500ms, 30s, 5m or 1h, not "30"`},
		{[]string{"run", "--on=maybe"}, `--on takes true or false, not "maybe"`},
		{[]string{"run", "--size", "lots"}, `--size takes a whole number of bytes, optionally with a unit such as 256MiB or 4GB, not "lots"`},
		{[]string{"run", "--gzip=maybe"}, `--gzip takes true, false or auto, not "maybe"`},
		{[]string{"run", "-o"}, "-o/--output needs a value; see tool run --help"},
		{[]string{"run", "--count"}, "--count needs a value: a whole number, such as 10; see tool run --help"},
		{[]string{"run", "--port", "80"}, "unknown flag --port for tool run; see tool run --help"},
		{[]string{"run", "-p"}, "unknown flag -p for tool run; see tool run --help"},
		{[]string{"run", "--gzip", "false"}, `--gzip takes true, false or auto after "=", as in --gzip=false: "false", after a space, is read as an argument; usage: tool run [flags]`},
		{[]string{"run", "--on", "now", "f"}, `--on takes true or false after "=", as in --on=false: "f", after a space, is read as an argument; usage: tool run [flags]`},
		{[]string{"run", "now"}, `tool run takes no arguments, got "now"; usage: tool run [flags]`},
		{[]string{"get"}, "tool get got no arguments; usage: tool get NAME [flags]"},
		{[]string{"get", "a", "b"}, `tool get got 2 arguments ("a" "b"); usage: tool get NAME [flags]`},
		{[]string{"shell", "tcsh"}, `tool shell has no command "tcsh"; it has bash or zsh; usage: tool shell [command]`},
		{[]string{"shell", "bas"}, `tool shell has no command "bas"; it has bash or zsh (did you mean bash?); usage: tool shell [command]`},
		{[]string{"shell", "bash", "now"}, `tool shell bash takes no arguments, got "now"; usage: tool shell bash [flags]`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			root := newTool()
			root.SetArgs(tt.args)
			err := root.Execute()
			if err == nil || err.Error() != tt.want {
				t.Fatalf("%q:\ngot  %v\nwant %s", tt.args, err, tt.want)
			}
		})
	}
}

// TestValueError: a value that something other than a flag set (a config
// key, an environment variable) is worded the same way, by its source.
func TestValueError(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.Int("count", 1, "")
	f := fs.Lookup("count")
	tests := []struct {
		cause error
		want  string
	}{
		{strconv.ErrSyntax, `config montool.yaml: agents.count takes a whole number, such as 10, not "lots"`},
		{strconv.ErrRange, `config montool.yaml: agents.count "lots" is out of range: it takes a whole number, such as 10`},
		{errors.New("other"), `config montool.yaml: agents.count takes a whole number, such as 10, not "lots"`},
	}
	for _, tt := range tests {
		if got := cmdline.ValueError("config montool.yaml: agents.count", f, "lots", tt.cause).Error(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}
