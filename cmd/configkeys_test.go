package cmd

import (
	"os"
	"path/filepath"
	"testing"
)

// TestConfigUnknownKeys: a key of the config file that no setting reads is
// refused with the file and the key it is most likely a typo of, while
// the keys of every command pass, whichever command runs.
func TestConfigUnknownKeys(t *testing.T) {
	tests := []struct {
		name string
		args []string
		file string
		want []string // nil for no error
	}{
		{"a typo in a section", []string{"serve"}, "serve: {adr: \":9\"}\n", []string{"unknown key serve.adr", "did you mean serve.addr?"}},
		{"a typo at the top", []string{"serve"}, "tokenz: []\n", []string{"unknown key tokenz", "did you mean token or tokens?"}},
		{"a key in the wrong section", []string{"agents"}, "agents: {addr: \":9\"}\n", []string{"unknown key agents.addr", "did you mean serve.addr?"}},
		{"nothing like it", []string{"serve"}, "colour: blue\n", []string{"unknown key colour"}},
		{"two of them", []string{"serve"}, "serve: {adr: x}\nlog_levle: debug\n", []string{"serve.adr", "log_levle", "did you mean log_level?"}},
		{"a section given a value", []string{"serve"}, "serve: 5\n", []string{"serve", "section", "serve.addr"}},
		{"another command's keys", []string{"dump", "web-01"}, "serve: {addr: \":9\"}\nagents: {count: 3}\nclient_id: x\n", nil},
		{"the structured keys", []string{"serve"}, "keys:\n  - {name: foo, type: CUMULATIVE, min: 1, max: 2}\ntokens: []\n", nil},
		{"any letter case", []string{"serve"}, "Serve: {Addr: \"127.0.0.1:9\"}\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := isolate(t)
			file := filepath.Join(dir, "montool.yaml")
			if err := os.WriteFile(file, []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := resolve(t, tt.args...) // found in the working directory
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkOneLine(t, err, append(tt.want, file)...)
			if c.calls != 0 {
				t.Errorf("the command ran %d times, want 0", c.calls)
			}
		})
	}
}
