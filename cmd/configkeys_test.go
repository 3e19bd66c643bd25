package cmd

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spf13/pflag"

	"github.com/montool/montool/internal/configkey"
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

// TestConfigKeysOfEveryCommand: the keys the configuration may hold are
// those of every command's flags, whichever way each was bound, and the
// structured keys.
func TestConfigKeysOfEveryCommand(t *testing.T) {
	want := []string{
		"agents.batch", "agents.client_prefix", "agents.count", "agents.duration", "agents.gzip", "agents.identities", "agents.rate",
		"ca_cert", "client_id", "insecure_skip_verify", "keys", "log_format", "log_level",
		"serve.accept_data_loss", "serve.addr", "serve.client_ttl", "serve.data_dir", "serve.debug_addr", "serve.fsync",
		"serve.fsync_interval", "serve.insecure_debug_addr", "serve.insecure_open", "serve.max_batch_events",
		"serve.max_body_bytes", "serve.max_body_memory", "serve.max_clients", "serve.max_in_flight",
		"serve.max_keys_per_client", "serve.max_memory", "serve.metrics_public", "serve.rate_burst", "serve.rate_limit",
		"serve.retention", "serve.shutdown_timeout", "serve.snapshot_interval", "serve.tls_cert", "serve.tls_key",
		"server", "token", "tokens",
	}
	if got := configKeys(NewRootCmd()); !slices.Equal(got, want) {
		t.Errorf("configKeys =\n%q\nwant\n%q", got, want)
	}
}

// TestServeKeysFollowTheRule: every flag of serve is set by the key
// configkey.Bind(fs, "serve") gives it, so that the rule can bind them all.
func TestServeKeysFollowTheRule(t *testing.T) {
	serve, _, err := NewRootCmd().Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	serve.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		if k := f.Annotations[configkey.Annotation]; len(k) == 0 || k[0] != configkey.Name("serve", f.Name) {
			t.Errorf("--%s is set by %q, want %q", f.Name, k, configkey.Name("serve", f.Name))
		}
	})
}
