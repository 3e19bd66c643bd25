package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkOneLine fails t unless err is one line that holds each of want and
// none of the Go internals a user has no use for.
func checkOneLine(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one holding %q", want)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error is more than one line:\n%s", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not hold %q", msg, w)
		}
	}
	for _, internal := range []string{"strconv", "Parse", "invalid syntax", "time: ", "accepts", "arg(s)"} {
		if strings.Contains(msg, internal) {
			t.Errorf("error %q shows Go internals (%q)", msg, internal)
		}
	}
}

// TestFlagValueErrors: a value a flag cannot take is told in one line that
// names the flag and what it takes, for every kind of flag.
func TestFlagValueErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"int", []string{"agents", "--count", "abc"}, []string{`--count`, "a whole number", `"abc"`}},
		{"int64", []string{"serve", "--max-body-bytes", "1.5"}, []string{`--max-body-bytes`, "a whole number", `"1.5"`}},
		{"float", []string{"agents", "--rate", "abc"}, []string{`--rate`, "a number", `"abc"`}},
		{"duration", []string{"agents", "--duration", "30"}, []string{`--duration`, "a duration with a unit", "30s", `"30"`}},
		{"bool", []string{"serve", "--insecure-open=maybe"}, []string{`--insecure-open`, "true or false", `"maybe"`}},
		{"auto bool", []string{"agents", "--gzip=maybe"}, []string{`--gzip`, "true, false or auto", `"maybe"`}},
		{"bytes", []string{"serve", "--max-memory", "lots"}, []string{`--max-memory`, "number of bytes", "MiB", `"lots"`}},
		{"shorthand", []string{"dump", "web-01", "-o"}, []string{"-o", "--output", "needs a value", "montool dump --help"}},
		{"string without a value", []string{"serve", "--addr"}, []string{"--addr", "needs a value"}},
		{"unknown flag", []string{"serve", "--port", "80"}, []string{"unknown flag --port", "montool serve --help"}},
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

// TestConfigValueErrors: a value of the config file or the environment
// that its flag cannot take names the key and the file (or the variable)
// and what it takes.
func TestConfigValueErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		file string // the config file's text; "" for none
		env  map[string]string
		want []string
	}{
		{"int in the file", []string{"serve"}, "serve: {max_clients: lots}\n", nil, []string{"serve.max_clients", "montool.yaml", "a whole number", `"lots"`}},
		{"float in the file", []string{"agents"}, "agents: {rate: fast}\n", nil, []string{"agents.rate", "montool.yaml", "a number", `"fast"`}},
		{"duration in the file", []string{"serve"}, "serve: {retention: 30}\n", nil, []string{"serve.retention", "a duration with a unit", `"30"`}},
		{"bool in the file", []string{"serve"}, "serve: {insecure_open: maybe}\n", nil, []string{"serve.insecure_open", "true or false", `"maybe"`}},
		{"bytes in the file", []string{"serve"}, "serve: {max_memory: lots}\n", nil, []string{"serve.max_memory", "number of bytes", `"lots"`}},
		{"a list for one value", []string{"serve"}, "serve: {addr: [a, b]}\n", nil, []string{"serve.addr", "one value, not a list"}},
		{"int in the environment", []string{"agents"}, "", map[string]string{"MONTOOL_AGENTS_COUNT": "lots"}, []string{"MONTOOL_AGENTS_COUNT", "a whole number", `"lots"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := isolate(t)
			args := tt.args
			if tt.file != "" {
				file := filepath.Join(dir, "montool.yaml")
				if err := os.WriteFile(file, []byte(tt.file), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", file)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := resolve(t, args...)
			checkOneLine(t, err, tt.want...)
			if c.calls != 0 {
				t.Errorf("the command ran %d times, want 0", c.calls)
			}
		})
	}
}
