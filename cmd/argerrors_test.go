package cmd

import (
	"strings"
	"testing"
)

// TestBoolFlagValueAfterSpace: a switch takes its value after "=" only, so
// the word after a space is an argument; the error says so and how to
// write it.
func TestBoolFlagValueAfterSpace(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"auto bool", []string{"agents", "--gzip", "maybe"}, []string{"--gzip", "true, false or auto", "--gzip=false", `"maybe"`}},
		{"auto bool given false", []string{"agents", "--gzip", "false"}, []string{"--gzip", "--gzip=false", `"false"`}},
		{"plain bool", []string{"serve", "--insecure-open", "false"}, []string{"--insecure-open", "true or false", "--insecure-open=false"}},
		{"persistent bool", []string{"clients", "--insecure-skip-verify", "no"}, []string{"--insecure-skip-verify", "--insecure-skip-verify=false"}},
		{"bool before an argument", []string{"dump", "--watch", "false", "web-01"}, []string{"--watch", "--watch=false", `"false"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			c, err := resolve(t, tt.args...)
			checkOneLine(t, err, tt.want...)
			if c.calls != 0 {
				t.Errorf("the command ran %d times, want 0", c.calls)
			}
		})
	}
}

// TestArgumentErrors: a command given arguments it does not take says so
// with its usage line, and fails; a parent of commands given one it does
// not have names the ones it has instead of showing its help.
func TestArgumentErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"two arguments missing", []string{"docs"}, []string{"montool docs", "got no arguments", "usage: montool docs markdown|man DIR"}},
		{"one argument missing", []string{"docs", "man"}, []string{`got 1 argument ("man")`, "usage: montool docs markdown|man DIR"}},
		{"an argument too many", []string{"clients", "extra-arg"}, []string{"montool clients takes no arguments", `"extra-arg"`, "usage: montool clients [flags]"}},
		{"dump without a client", []string{"dump"}, []string{"got no arguments", "usage: montool dump CLIENT_ID"}},
		{"dump with two clients", []string{"dump", "a", "b"}, []string{`got 2 arguments ("a" "b")`, "usage: montool dump CLIENT_ID"}},
		{"a shell completion has no arguments", []string{"completion", "bash", "now"}, []string{"montool completion bash takes no arguments", `"now"`}},
		{"an unknown shell", []string{"completion", "tcsh"}, []string{`montool completion has no command "tcsh"`, "bash, fish, powershell or zsh", "usage: montool completion"}},
		{"a misspelt command", []string{"token", "nwe"}, []string{`montool token has no command "nwe"`, "new", "usage: montool token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			stdout, _, err := execute(t, (&captured{}).runners(), tt.args...)
			checkOneLine(t, err, tt.want...)
			if strings.Contains(stdout, "Usage:") {
				t.Errorf("help shown besides the error:\n%s", stdout)
			}
		})
	}
}

// TestParentsWithoutArgumentsShowHelp: a parent of commands given none
// still shows its help, and a shell completion still prints its script
// where the command writes.
func TestParentsWithoutArgumentsShowHelp(t *testing.T) {
	for _, args := range [][]string{{"completion"}, {"token"}} {
		isolate(t)
		stdout, _, err := execute(t, (&captured{}).runners(), args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.Contains(stdout, "Available Commands:") {
			t.Errorf("%v wrote no help:\n%s", args, stdout)
		}
	}
	isolate(t)
	stdout, _, err := execute(t, (&captured{}).runners(), "completion", "bash")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "bash completion") {
		t.Errorf("completion bash wrote no script to the command's output:\n%.200s", stdout)
	}
}

// TestUnknownCommandSuggestsOneMatch: a misspelt command name that is close
// to one command gets a "did you mean"; one close to several gets none, as
// the list of commands already says what there is.
func TestUnknownCommandSuggestsOneMatch(t *testing.T) {
	tests := []struct {
		args    []string
		suggest string // "" for none
	}{
		{[]string{"completion", "zhs"}, "(did you mean zsh?)"},
		{[]string{"completion", "tcsh"}, ""},
	}
	for _, tt := range tests {
		isolate(t)
		_, _, err := execute(t, (&captured{}).runners(), tt.args...)
		if err == nil {
			t.Fatalf("%v: no error", tt.args)
		}
		if got := strings.Contains(err.Error(), "did you mean"); got != (tt.suggest != "") || !strings.Contains(err.Error(), tt.suggest) {
			t.Errorf("%v: %q, want suggestion %q", tt.args, err, tt.suggest)
		}
	}
}
