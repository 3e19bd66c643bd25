package cmd

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/montool/montool/internal/event"
)

// setting is one configurable value, with the value each layer gives it in
// these tests. testdata/montool.yaml holds the file values.
type setting struct {
	name    string
	cmdArgs []string                 // the command line without the flag
	flag    []string                 // the flag that sets the value
	envName string                   // the environment variable that sets it
	envVal  string                   // its value in the environment
	get     func(c *captured) string // the resolved value
	// The value expected from each layer.
	def, file, env, flagVal string
}

var settings = []setting{
	{
		name: "serve.addr", cmdArgs: []string{"serve"}, flag: []string{"--addr", "127.0.0.1:9300"},
		envName: "MONTOOL_SERVE_ADDR", envVal: "127.0.0.1:9200",
		get: func(c *captured) string { return c.serve.Server.Addr },
		def: ":8080", file: "127.0.0.1:9100", env: "127.0.0.1:9200", flagVal: "127.0.0.1:9300",
	},
	{
		name: "serve.max_body_memory", cmdArgs: []string{"serve"}, flag: []string{"--max-body-memory", "300MiB"},
		envName: "MONTOOL_SERVE_MAX_BODY_MEMORY", envVal: "100000000",
		get: func(c *captured) string { return strconv.FormatInt(c.serve.Server.MaxBodyMemory, 10) },
		def: "268435456", file: "67108864", env: "100000000", flagVal: "314572800",
	},
	{
		name: "serve.max_body_bytes", cmdArgs: []string{"serve"}, flag: []string{"--max-body-bytes", "4096"},
		envName: "MONTOOL_SERVE_MAX_BODY_BYTES", envVal: "2048",
		get: func(c *captured) string { return strconv.FormatInt(c.serve.Server.MaxBodyBytes, 10) },
		def: "8388608", file: "1048576", env: "2048", flagVal: "4096",
	},
	{
		name: "serve.max_batch_events", cmdArgs: []string{"serve"}, flag: []string{"--max-batch-events", "30"},
		envName: "MONTOOL_SERVE_MAX_BATCH_EVENTS", envVal: "20",
		get: func(c *captured) string { return strconv.Itoa(c.serve.Server.MaxBatchEvents) },
		def: "10000", file: "500", env: "20", flagVal: "30",
	},
	{
		name: "serve.shutdown_timeout", cmdArgs: []string{"serve"}, flag: []string{"--shutdown-timeout", "1m"},
		envName: "MONTOOL_SERVE_SHUTDOWN_TIMEOUT", envVal: "20s",
		get: func(c *captured) string { return c.serve.Server.ShutdownTimeout.String() },
		def: "10s", file: "3s", env: "20s", flagVal: "1m0s",
	},
	{
		name: "serve.data_dir", cmdArgs: []string{"serve"}, flag: []string{"--data-dir", "/srv/montool-flag"},
		envName: "MONTOOL_SERVE_DATA_DIR", envVal: "/srv/montool-env",
		get: func(c *captured) string { return c.serve.Durable.Dir },
		def: "", file: "/srv/montool-file", env: "/srv/montool-env", flagVal: "/srv/montool-flag",
	},
	{
		name: "serve.fsync", cmdArgs: []string{"serve"}, flag: []string{"--fsync", "never"},
		envName: "MONTOOL_SERVE_FSYNC", envVal: "always",
		get: func(c *captured) string { return c.serve.Fsync },
		def: "always", file: "interval", env: "always", flagVal: "never",
	},
	{
		name: "serve.fsync_interval", cmdArgs: []string{"serve"}, flag: []string{"--fsync-interval", "250ms"},
		envName: "MONTOOL_SERVE_FSYNC_INTERVAL", envVal: "5s",
		get: func(c *captured) string { return c.serve.Durable.SyncInterval.String() },
		def: "1s", file: "2s", env: "5s", flagVal: "250ms",
	},
	{
		name: "serve.snapshot_interval", cmdArgs: []string{"serve"}, flag: []string{"--snapshot-interval", "0"},
		envName: "MONTOOL_SERVE_SNAPSHOT_INTERVAL", envVal: "30m",
		get: func(c *captured) string { return c.serve.Durable.SnapshotInterval.String() },
		def: "5m0s", file: "1m0s", env: "30m0s", flagVal: "0s",
	},
	{
		name: "serve.max_clients", cmdArgs: []string{"serve"}, flag: []string{"--max-clients", "300"},
		envName: "MONTOOL_SERVE_MAX_CLIENTS", envVal: "200",
		get: func(c *captured) string { return strconv.Itoa(c.serve.Policy.Limits.MaxClients) },
		def: "0", file: "100", env: "200", flagVal: "300",
	},
	{
		name: "serve.max_keys_per_client", cmdArgs: []string{"serve"}, flag: []string{"--max-keys-per-client", "70"},
		envName: "MONTOOL_SERVE_MAX_KEYS_PER_CLIENT", envVal: "60",
		get: func(c *captured) string { return strconv.Itoa(c.serve.Policy.Limits.MaxKeysPerClient) },
		def: "0", file: "50", env: "60", flagVal: "70",
	},
	{
		name: "serve.max_memory", cmdArgs: []string{"serve"}, flag: []string{"--max-memory", "500MB"},
		envName: "MONTOOL_SERVE_MAX_MEMORY", envVal: "2048",
		get: func(c *captured) string { return strconv.FormatInt(c.serve.Policy.Limits.MaxBytes, 10) },
		def: "0", file: "1073741824", env: "2048", flagVal: "500000000",
	},
	{
		name: "serve.client_ttl", cmdArgs: []string{"serve"}, flag: []string{"--client-ttl", "1h"},
		envName: "MONTOOL_SERVE_CLIENT_TTL", envVal: "7m",
		get: func(c *captured) string { return c.serve.Policy.ClientTTL.String() },
		def: "0s", file: "24h0m0s", env: "7m0s", flagVal: "1h0m0s",
	},
	{
		name: "serve.retention", cmdArgs: []string{"serve"}, flag: []string{"--retention", "48h"},
		envName: "MONTOOL_SERVE_RETENTION", envVal: "2h",
		get: func(c *captured) string { return c.serve.Policy.Retention.String() },
		def: "0s", file: "720h0m0s", env: "2h0m0s", flagVal: "48h0m0s",
	},
	{
		name: "serve.rate_limit", cmdArgs: []string{"serve"}, flag: []string{"--rate-limit", "0.5"},
		envName: "MONTOOL_SERVE_RATE_LIMIT", envVal: "20",
		get: func(c *captured) string { return strconv.FormatFloat(c.serve.Server.RateLimit, 'g', -1, 64) },
		def: "0", file: "50", env: "20", flagVal: "0.5",
	},
	{
		name: "serve.rate_burst", cmdArgs: []string{"serve"}, flag: []string{"--rate-burst", "7"},
		envName: "MONTOOL_SERVE_RATE_BURST", envVal: "9",
		get: func(c *captured) string { return strconv.Itoa(c.serve.Server.RateBurst) },
		def: "0", file: "500", env: "9", flagVal: "7",
	},
	{
		name: "serve.max_in_flight", cmdArgs: []string{"serve"}, flag: []string{"--max-in-flight", "3"},
		envName: "MONTOOL_SERVE_MAX_IN_FLIGHT", envVal: "16",
		get: func(c *captured) string { return strconv.Itoa(c.serve.Server.MaxInFlight) },
		def: "0", file: "64", env: "16", flagVal: "3",
	},
	{
		name: "server (dump)", cmdArgs: []string{"dump", "c1"}, flag: []string{"--server", "http://127.0.0.1:9301"},
		envName: "MONTOOL_SERVER", envVal: "http://127.0.0.1:9201",
		get: func(c *captured) string { return c.dump.Server },
		def: "http://127.0.0.1:8080", file: "http://127.0.0.1:9101", env: "http://127.0.0.1:9201", flagVal: "http://127.0.0.1:9301",
	},
	{
		name: "server (send)", cmdArgs: []string{"send", "--key", "k", "--value", "1"}, flag: []string{"--server", "http://127.0.0.1:9301"},
		envName: "MONTOOL_SERVER", envVal: "http://127.0.0.1:9201",
		get: func(c *captured) string { return c.send.Server },
		def: "http://127.0.0.1:8080", file: "http://127.0.0.1:9101", env: "http://127.0.0.1:9201", flagVal: "http://127.0.0.1:9301",
	},
	{
		name: "server (agents)", cmdArgs: []string{"agents"}, flag: []string{"--server", "http://127.0.0.1:9301"},
		envName: "MONTOOL_SERVER", envVal: "http://127.0.0.1:9201",
		get: func(c *captured) string { return c.agents.Server },
		def: "http://127.0.0.1:8080", file: "http://127.0.0.1:9101", env: "http://127.0.0.1:9201", flagVal: "http://127.0.0.1:9301",
	},
	{
		name: "agents.count", cmdArgs: []string{"agents"}, flag: []string{"--count", "9"},
		envName: "MONTOOL_AGENTS_COUNT", envVal: "8",
		get: func(c *captured) string { return strconv.Itoa(c.agents.Agents.Count) },
		def: "5", file: "7", env: "8", flagVal: "9",
	},
	{
		name: "agents.rate", cmdArgs: []string{"agents"}, flag: []string{"--rate", "0.25"},
		envName: "MONTOOL_AGENTS_RATE", envVal: "12",
		get: func(c *captured) string { return strconv.FormatFloat(c.agents.Agents.Rate, 'g', -1, 64) },
		def: "2", file: "4.5", env: "12", flagVal: "0.25",
	},
	{
		name: "agents.duration", cmdArgs: []string{"agents"}, flag: []string{"--duration", "45s"},
		envName: "MONTOOL_AGENTS_DURATION", envVal: "2m",
		get: func(c *captured) string { return c.agents.Agents.Duration.String() },
		def: "0s", file: "1m30s", env: "2m0s", flagVal: "45s",
	},
	{
		name: "log_level", cmdArgs: []string{"serve"}, flag: []string{"--log-level", "error"},
		envName: "MONTOOL_LOG_LEVEL", envVal: "warn",
		get: func(c *captured) string { return lowestLevel(c.serve.Log) },
		def: "INFO", file: "DEBUG", env: "WARN", flagVal: "ERROR",
	},
	{
		name: "log_format", cmdArgs: []string{"serve"}, flag: []string{"--log-format", "json"},
		envName: "MONTOOL_LOG_FORMAT", envVal: "text",
		get: func(c *captured) string { return logFormat(c.serve.Log) },
		def: "text", file: "json", env: "text", flagVal: "json",
	},
	{
		name: "client_id", cmdArgs: []string{"send", "--key", "k", "--value", "1"}, flag: []string{"--client-id", "flag-client"},
		envName: "MONTOOL_CLIENT_ID", envVal: "env-client",
		get: func(c *captured) string { return c.send.Event.ClientID },
		def: "", file: "file-client", env: "env-client", flagVal: "flag-client", // "" is the host UUID
	},
}

// logFormat returns "json" or "text" after the handler of l.
func logFormat(l *slog.Logger) string {
	switch l.Handler().(type) {
	case *slog.JSONHandler:
		return "json"
	case *slog.TextHandler:
		return "text"
	}
	return fmt.Sprintf("%T", l.Handler())
}

// TestConfigPrecedence proves flag > environment > file > default for each
// setting, one layer added at a time.
func TestConfigPrecedence(t *testing.T) {
	layers := []struct {
		name             string
		file, env, flags bool
	}{
		{name: "neither", file: false, env: false, flags: false},
		{name: "file only", file: true},
		{name: "file and env", file: true, env: true},
		{name: "file env and flag", file: true, env: true, flags: true},
		{name: "env only", env: true},
		{name: "flag only", flags: true},
		{name: "file and flag", file: true, flags: true},
	}
	for _, s := range settings {
		for _, l := range layers {
			t.Run(s.name+"/"+l.name, func(t *testing.T) {
				isolate(t)
				args := append([]string(nil), s.cmdArgs...)
				want := s.def
				if l.file {
					args = append(args, "--config", testdata("montool.yaml"))
					want = s.file
				}
				if l.env {
					t.Setenv(s.envName, s.envVal)
					want = s.env
				}
				if l.flags {
					args = append(args, s.flag...)
					want = s.flagVal
				}
				if s.name == "client_id" && want == "" {
					want = hostClientID(t)
				}
				c, err := resolve(t, args...)
				if err != nil {
					t.Fatalf("%v: %v", args, err)
				}
				if got := s.get(c); got != want {
					t.Errorf("%s = %q, want %q", s.name, got, want)
				}
			})
		}
	}
}

// TestConfigFileKeys checks that the file's key set reaches the agents.
func TestConfigFileKeys(t *testing.T) {
	isolate(t)
	c, err := resolve(t, "agents", "--config", testdata("montool.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	keys := c.agents.Agents.Keys
	if len(keys) != 2 {
		t.Fatalf("got %d keys, want the 2 of the file: %+v", len(keys), keys)
	}
	want := []struct {
		name     string
		typ      event.Type
		min, max float64
		integer  bool
	}{
		{"foo", event.Cumulative, 1, 10, true},
		{"bar", event.TimeSeries, 0, 1, false},
	}
	for i, w := range want {
		k := keys[i]
		if k.Name != w.name || k.Type != w.typ || k.Min != w.min || k.Max != w.max || k.Integer != w.integer {
			t.Errorf("key %d = %+v, want %+v", i, k, w)
		}
	}
}

// TestExampleConfigGivesDefaults reads the documented example config, whose
// values are said to be the defaults.
func TestExampleConfigGivesDefaults(t *testing.T) {
	example, err := filepath.Abs(filepath.Join("..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(example); err != nil {
		t.Skipf("no example config: %v", err)
	}
	for _, s := range settings {
		if s.name == "client_id" { // commented out in the example
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			isolate(t)
			c, err := resolve(t, append(s.cmdArgs, "--config", example)...)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.get(c); got != s.def {
				t.Errorf("%s = %q with the example config, want the default %q", s.name, got, s.def)
			}
		})
	}
	t.Run("keys", func(t *testing.T) {
		isolate(t)
		c, err := resolve(t, "agents", "--config", example)
		if err != nil {
			t.Fatal(err)
		}
		keys := c.agents.Agents.Keys
		if len(keys) != len(defaultKeys) {
			t.Fatalf("got %d keys, want %d", len(keys), len(defaultKeys))
		}
		for i, want := range defaultKeys {
			if keys[i].Name != want.name || keys[i].Type != want.typ {
				t.Errorf("key %d = %s %s, want %s %s", i, keys[i].Name, keys[i].Type, want.name, want.typ)
			}
		}
	})
}

func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{name: "missing --config file", args: []string{"serve", "--config", "no-such-file.yaml"}, wantErr: "no-such-file.yaml"},
		{name: "missing MONTOOL_CONFIG file", args: []string{"serve"}, env: map[string]string{"MONTOOL_CONFIG": "/nonexistent/montool.yaml"}, wantErr: "/nonexistent/montool.yaml"},
		{name: "malformed YAML", args: []string{"serve", "--config", testdata("malformed.yaml")}, wantErr: "read config"},
		{name: "invalid value in the file", args: []string{"agents", "--config", testdata("bad_count.yaml")}, wantErr: `agents.count|"many"`},
		{name: "invalid value in the environment", args: []string{"agents"}, env: map[string]string{"MONTOOL_AGENTS_COUNT": "lots"}, wantErr: `agents.count|"lots"`},
		{name: "invalid duration in the environment", args: []string{"agents"}, env: map[string]string{"MONTOOL_AGENTS_DURATION": "5x"}, wantErr: `agents.duration|"5x"`},
		{name: "bogus log level in the environment", args: []string{"serve"}, env: map[string]string{"MONTOOL_LOG_LEVEL": "bogus"}, wantErr: `"bogus"`},
		{name: "bogus log format in the environment", args: []string{"serve"}, env: map[string]string{"MONTOOL_LOG_FORMAT": "xml"}, wantErr: `"xml"`},
		{name: "bad key type in the file (agents)", args: []string{"agents", "--config", testdata("bad_key_type.yaml")}, wantErr: `keys|"foo"|GAUGE`},
		{name: "bad key type in the file (send)", args: []string{"send", "--key", "foo", "--value", "1", "--config", testdata("bad_key_type.yaml")}, wantErr: `keys|GAUGE`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := resolve(t, tt.args...)
			checkErr(t, err, tt.wantErr)
			if c.calls != 0 {
				t.Errorf("a command ran %d times with a bad configuration, want 0", c.calls)
			}
		})
	}
}

// copyTestdata copies a testdata file to dst, creating its directory.
func copyTestdata(t *testing.T, name, dst string) {
	t.Helper()
	b, err := os.ReadFile(testdata(name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConfigFileSearch checks where montool looks for its config file
// without --config. Which file was read shows in serve.addr: 127.0.0.1:9100
// in montool.yaml, 127.0.0.1:9400 in other.yaml.
func TestConfigFileSearch(t *testing.T) {
	tests := []struct {
		name     string
		cwdFile  string // testdata file copied to ./montool.yaml
		userFile string // testdata file copied to $XDG_CONFIG_HOME/montool/montool.yaml
		envFile  string // testdata file named by MONTOOL_CONFIG
		flagFile string // testdata file named by --config
		wantAddr string
	}{
		{name: "no file anywhere", wantAddr: ":8080"},
		{name: "current directory", cwdFile: "montool.yaml", wantAddr: "127.0.0.1:9100"},
		{name: "user config dir", userFile: "other.yaml", wantAddr: "127.0.0.1:9400"},
		{name: "current directory before user config dir", cwdFile: "montool.yaml", userFile: "other.yaml", wantAddr: "127.0.0.1:9100"},
		{name: "MONTOOL_CONFIG", envFile: "other.yaml", wantAddr: "127.0.0.1:9400"},
		{name: "MONTOOL_CONFIG before current directory", cwdFile: "montool.yaml", envFile: "other.yaml", wantAddr: "127.0.0.1:9400"},
		{name: "--config before MONTOOL_CONFIG", envFile: "other.yaml", flagFile: "montool.yaml", wantAddr: "127.0.0.1:9100"},
		{name: "--config before current directory", cwdFile: "other.yaml", flagFile: "montool.yaml", wantAddr: "127.0.0.1:9100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wd := isolate(t)
			if tt.cwdFile != "" {
				copyTestdata(t, tt.cwdFile, filepath.Join(wd, "montool.yaml"))
			}
			if tt.userFile != "" {
				copyTestdata(t, tt.userFile, filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "montool", "montool.yaml"))
			}
			if tt.envFile != "" {
				t.Setenv("MONTOOL_CONFIG", testdata(tt.envFile))
			}
			args := []string{"serve"}
			if tt.flagFile != "" {
				args = append(args, "--config", testdata(tt.flagFile))
			}
			c, err := resolve(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.serve.Server.Addr; got != tt.wantAddr {
				t.Errorf("Addr = %q, want %q", got, tt.wantAddr)
			}
		})
	}
}

// TestConfigFileInCurrentDirMalformed checks that a broken ./montool.yaml
// is reported rather than silently skipped.
func TestConfigFileInCurrentDirMalformed(t *testing.T) {
	wd := isolate(t)
	copyTestdata(t, "malformed.yaml", filepath.Join(wd, "montool.yaml"))
	_, err := resolve(t, "serve")
	checkErr(t, err, "read config")
}
