package configkey_test

import (
	"slices"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/montool/montool/internal/configkey"
)

// TestBind: each flag bound is set by the key of its name in snake case
// in the section; with no names, every flag but --config is.
func TestBind(t *testing.T) {
	tests := []struct {
		name    string
		section string
		names   []string
		want    map[string]string // flag → key; "" for none
	}{
		{"a section, every flag", "agents", nil, map[string]string{"count": "agents.count", "client-prefix": "agents.client_prefix", "config": ""}},
		{"no section, every flag", "", nil, map[string]string{"count": "count", "client-prefix": "client_prefix", "config": ""}},
		{"the names given only", "", []string{"client-prefix"}, map[string]string{"count": "", "client-prefix": "client_prefix", "config": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			fs.Int("count", 0, "")
			fs.String("client-prefix", "", "")
			fs.String("config", "", "")
			configkey.Bind(fs, tt.section, tt.names...)
			for flag, want := range tt.want {
				if got := configkey.Of(fs.Lookup(flag)); got != want {
					t.Errorf("--%s is set by %q, want %q", flag, got, want)
				}
			}
		})
	}
}

// TestAll: the keys of a tree are those of every command's flags, its
// persistent ones and its own, with the structured keys, each once.
func TestAll(t *testing.T) {
	root := &cobra.Command{Use: "tool"}
	root.PersistentFlags().String("server", "", "")
	root.PersistentFlags().String("config", "", "")
	configkey.Bind(root.PersistentFlags(), "")
	serve := &cobra.Command{Use: "serve"}
	serve.Flags().String("addr", "", "")
	serve.Flags().Int("max-clients", 0, "")
	configkey.Bind(serve.Flags(), "serve")
	send := &cobra.Command{Use: "send"}
	send.Flags().String("client-id", "", "")
	send.Flags().String("key", "", "")
	configkey.Set(send.Flags(), "client-id", "client_id")
	root.AddCommand(serve, send)

	want := []string{"client_id", "keys", "serve.addr", "serve.max_clients", "server"}
	if got := configkey.All(root, "keys"); !slices.Equal(got, want) {
		t.Errorf("All = %q, want %q", got, want)
	}
}

// TestCheck: a key no setting reads is refused, with the known key it is
// most likely a typo of; a section given a value says what it holds.
func TestCheck(t *testing.T) {
	known := []string{"keys", "log_level", "serve.addr", "serve.max_clients", "server", "token", "tokens"}
	structured := []string{"keys", "tokens"}
	tests := []struct {
		name string
		keys []string
		want string // "" for none
	}{
		{"known keys", []string{"serve.addr", "server", "tokens.0.name", "keys.1.type"}, ""},
		{"a typo in a section", []string{"serve.adr"}, "config f.yaml: unknown key serve.adr (did you mean serve.addr?)"},
		{"a typo close to two", []string{"tokenz"}, "config f.yaml: unknown key tokenz (did you mean token or tokens?)"},
		{"a key in the wrong section", []string{"agents.addr"}, "config f.yaml: unknown key agents.addr (did you mean serve.addr?)"},
		{"nothing like it", []string{"colour"}, "config f.yaml: unknown key colour"},
		{"a section given a value", []string{"serve"}, "config f.yaml: serve is a section of keys such as serve.addr, not a value"},
		{"two of them", []string{"serve.adr", "log_levle"}, "config f.yaml: unknown key serve.adr (did you mean serve.addr?); unknown key log_levle (did you mean log_level?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := configkey.Check("f.yaml", tt.keys, known, structured)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want none", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}
