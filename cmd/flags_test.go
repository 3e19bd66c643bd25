package cmd

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/viper"

	"github.com/montool/montool/internal/event"
)

// These tests check what each command line resolves to, with the commands
// replaced by captures: nothing listens and nothing is sent.

func TestServeFlags(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantAddr   string
		wantBody   int64
		wantBatch  int
		wantShutdn time.Duration
		wantErr    string // "|"-separated parts of the error; "" for none
	}{
		{
			name:     "defaults",
			args:     []string{"serve"},
			wantAddr: ":8080", wantBody: 8 << 20, wantBatch: 10000, wantShutdn: 10 * time.Second,
		},
		{
			name:     "addr",
			args:     []string{"serve", "--addr", "127.0.0.1:9090"},
			wantAddr: "127.0.0.1:9090", wantBody: 8 << 20, wantBatch: 10000, wantShutdn: 10 * time.Second,
		},
		{
			name:     "addr with equals sign",
			args:     []string{"serve", "--addr=127.0.0.1:0"},
			wantAddr: "127.0.0.1:0", wantBody: 8 << 20, wantBatch: 10000, wantShutdn: 10 * time.Second,
		},
		{
			name:     "max body bytes",
			args:     []string{"serve", "--max-body-bytes", "1024"},
			wantAddr: ":8080", wantBody: 1024, wantBatch: 10000, wantShutdn: 10 * time.Second,
		},
		{
			name:     "max batch events",
			args:     []string{"serve", "--max-batch-events", "5"},
			wantAddr: ":8080", wantBody: 8 << 20, wantBatch: 5, wantShutdn: 10 * time.Second,
		},
		{
			name:     "shutdown timeout in seconds",
			args:     []string{"serve", "--shutdown-timeout", "30s"},
			wantAddr: ":8080", wantBody: 8 << 20, wantBatch: 10000, wantShutdn: 30 * time.Second,
		},
		{
			name:     "shutdown timeout in minutes",
			args:     []string{"serve", "--shutdown-timeout", "5m"},
			wantAddr: ":8080", wantBody: 8 << 20, wantBatch: 10000, wantShutdn: 5 * time.Minute,
		},
		{
			name:     "every flag at once",
			args:     []string{"serve", "--addr", "127.0.0.1:7000", "--max-body-bytes=2048", "--max-batch-events=7", "--shutdown-timeout=1m30s"},
			wantAddr: "127.0.0.1:7000", wantBody: 2048, wantBatch: 7, wantShutdn: 90 * time.Second,
		},
		{name: "max body bytes not a number", args: []string{"serve", "--max-body-bytes", "abc"}, wantErr: `"abc"|--max-body-bytes`},
		{name: "max batch events not an integer", args: []string{"serve", "--max-batch-events", "1.5"}, wantErr: `"1.5"|--max-batch-events`},
		{name: "shutdown timeout with a bad unit", args: []string{"serve", "--shutdown-timeout", "5x"}, wantErr: `"5x"|--shutdown-timeout`},
		{name: "shutdown timeout without a unit", args: []string{"serve", "--shutdown-timeout", "30"}, wantErr: `"30"|--shutdown-timeout`},
		{name: "addr without a value", args: []string{"serve", "--addr"}, wantErr: "--addr"},
		{name: "unknown flag", args: []string{"serve", "--port", "80"}, wantErr: "unknown flag --port|montool serve --help"},
		{name: "unexpected argument", args: []string{"serve", "extra"}, wantErr: `takes no arguments, got "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			c, err := resolve(t, tt.args...)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				if c.calls != 0 {
					t.Errorf("serve ran %d times after a bad command line, want 0", c.calls)
				}
				return
			}
			o := c.serve
			if o == nil {
				t.Fatal("serve did not run")
			}
			if o.Server.Addr != tt.wantAddr {
				t.Errorf("Addr = %q, want %q", o.Server.Addr, tt.wantAddr)
			}
			if o.Server.MaxBodyBytes != tt.wantBody {
				t.Errorf("MaxBodyBytes = %d, want %d", o.Server.MaxBodyBytes, tt.wantBody)
			}
			if o.Server.MaxBatchEvents != tt.wantBatch {
				t.Errorf("MaxBatchEvents = %d, want %d", o.Server.MaxBatchEvents, tt.wantBatch)
			}
			if o.Server.ShutdownTimeout != tt.wantShutdn {
				t.Errorf("ShutdownTimeout = %s, want %s", o.Server.ShutdownTimeout, tt.wantShutdn)
			}
			if o.Log == nil {
				t.Error("Log is nil")
			}
		})
	}
}

// defaultKeys is the key set documented in config.example.yaml.
var defaultKeys = []struct {
	name string
	typ  event.Type
}{
	{"cpu_usage_percent", event.TimeSeries},
	{"memory_used_bytes", event.TimeSeries},
	{"request_latency_ms", event.TimeSeries},
	{"http_requests_total", event.Cumulative},
	{"errors_total", event.Cumulative},
	{"bytes_sent_total", event.Cumulative},
}

func TestAgentsFlags(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		wantServer   string
		wantCount    int
		wantRate     float64
		wantDuration time.Duration
		wantErr      string
	}{
		{
			name:       "defaults",
			args:       []string{"agents"},
			wantServer: "http://127.0.0.1:8080", wantCount: 5, wantRate: 2, wantDuration: 0,
		},
		{
			name:       "count",
			args:       []string{"agents", "--count", "20"},
			wantServer: "http://127.0.0.1:8080", wantCount: 20, wantRate: 2,
		},
		{
			name:       "fractional rate",
			args:       []string{"agents", "--rate", "0.5"},
			wantServer: "http://127.0.0.1:8080", wantCount: 5, wantRate: 0.5,
		},
		{
			name:       "duration in seconds",
			args:       []string{"agents", "--duration", "30s"},
			wantServer: "http://127.0.0.1:8080", wantCount: 5, wantRate: 2, wantDuration: 30 * time.Second,
		},
		{
			name:       "duration in minutes",
			args:       []string{"agents", "--duration", "5m"},
			wantServer: "http://127.0.0.1:8080", wantCount: 5, wantRate: 2, wantDuration: 5 * time.Minute,
		},
		{
			name:       "duration mixing units",
			args:       []string{"agents", "--duration", "1h2m3s"},
			wantServer: "http://127.0.0.1:8080", wantCount: 5, wantRate: 2, wantDuration: time.Hour + 2*time.Minute + 3*time.Second,
		},
		{
			name:       "server after the command",
			args:       []string{"agents", "--server", "http://10.0.0.5:8080"},
			wantServer: "http://10.0.0.5:8080", wantCount: 5, wantRate: 2,
		},
		{
			name:       "server before the command",
			args:       []string{"--server", "http://10.0.0.6:8080", "agents"},
			wantServer: "http://10.0.0.6:8080", wantCount: 5, wantRate: 2,
		},
		{
			name:       "every flag at once",
			args:       []string{"agents", "--count=3", "--rate=20", "--duration=500ms", "--server=http://127.0.0.1:1"},
			wantServer: "http://127.0.0.1:1", wantCount: 3, wantRate: 20, wantDuration: 500 * time.Millisecond,
		},
		// Out-of-range numbers parse here; runAgents rejects them (see
		// TestAgentsRejectsBadValues).
		{
			name:       "negative rate parses",
			args:       []string{"agents", "--rate", "-1"},
			wantServer: "http://127.0.0.1:8080", wantCount: 5, wantRate: -1,
		},
		{name: "count not a number", args: []string{"agents", "--count", "abc"}, wantErr: `"abc"|--count`},
		{name: "count not an integer", args: []string{"agents", "--count", "1.5"}, wantErr: `"1.5"|--count`},
		{name: "rate not a number", args: []string{"agents", "--rate", "fast"}, wantErr: `"fast"|--rate`},
		{name: "duration with a bad unit", args: []string{"agents", "--duration", "5x"}, wantErr: `"5x"|--duration`},
		{name: "duration without a unit", args: []string{"agents", "--duration", "30"}, wantErr: `"30"|--duration`},
		{name: "unknown flag", args: []string{"agents", "--agents", "3"}, wantErr: "unknown flag --agents|--help"},
		{name: "unknown shorthand flag", args: []string{"agents", "-n", "3"}, wantErr: "-n|--help"},
		{name: "unexpected argument", args: []string{"agents", "3"}, wantErr: `takes no arguments, got "3"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			c, err := resolve(t, tt.args...)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				if c.calls != 0 {
					t.Errorf("agents ran %d times after a bad command line, want 0", c.calls)
				}
				return
			}
			o := c.agents
			if o == nil {
				t.Fatal("agents did not run")
			}
			if o.Server != tt.wantServer {
				t.Errorf("Server = %q, want %q", o.Server, tt.wantServer)
			}
			if o.Agents.Count != tt.wantCount {
				t.Errorf("Count = %d, want %d", o.Agents.Count, tt.wantCount)
			}
			if o.Agents.Rate != tt.wantRate {
				t.Errorf("Rate = %g, want %g", o.Agents.Rate, tt.wantRate)
			}
			if o.Agents.Duration != tt.wantDuration {
				t.Errorf("Duration = %s, want %s", o.Agents.Duration, tt.wantDuration)
			}
			if len(o.Agents.Keys) != len(defaultKeys) {
				t.Fatalf("got %d keys, want the %d default keys", len(o.Agents.Keys), len(defaultKeys))
			}
			for i, want := range defaultKeys {
				if got := o.Agents.Keys[i]; got.Name != want.name || got.Type != want.typ {
					t.Errorf("key %d = %s %s, want %s %s", i, got.Name, got.Type, want.name, want.typ)
				}
			}
			if o.Out == nil {
				t.Error("Out is nil")
			}
			if o.Progress != nil {
				t.Error("Progress is on though standard error is not a terminal")
			}
		})
	}
}

// TestAgentsRejectsBadValues runs the real command: values that parse but
// cannot work are refused before any agent starts.
func TestAgentsRejectsBadValues(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "negative rate", args: []string{"--rate", "-1"}, wantErr: "rate|-1"},
		{name: "zero rate", args: []string{"--rate", "0"}, wantErr: "rate"},
		{name: "zero count", args: []string{"--count", "0"}, wantErr: "count|0"},
		{name: "negative count", args: []string{"--count", "-3"}, wantErr: "count|-3"},
		{name: "negative duration", args: []string{"--duration", "-5s"}, wantErr: "duration|-5s"},
		{name: "server URL without a scheme", args: []string{"--server", "127.0.0.1:8080"}, wantErr: `"127.0.0.1:8080"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			args := append([]string{"agents", "--server", closedServerURL(t), "--duration", "1s"}, tt.args...)
			stdout, _, err := execute(t, runners{}, args...)
			checkErr(t, err, tt.wantErr)
			if strings.Contains(stdout, "started") {
				t.Errorf("an agent started after a bad value:\n%s", stdout)
			}
		})
	}
}

func TestDumpFlags(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		wantServer   string
		wantClientID string
		wantOutput   string
		wantErr      string
	}{
		{name: "defaults", args: []string{"dump", "c1"}, wantServer: "http://127.0.0.1:8080", wantClientID: "c1", wantOutput: "json"},
		{name: "table output", args: []string{"dump", "c1", "-o", "table"}, wantServer: "http://127.0.0.1:8080", wantClientID: "c1", wantOutput: "table"},
		{name: "long output flag", args: []string{"dump", "--output=json", "c1"}, wantServer: "http://127.0.0.1:8080", wantClientID: "c1", wantOutput: "json"},
		{name: "server", args: []string{"dump", "c1", "--server", "http://127.0.0.1:9999"}, wantServer: "http://127.0.0.1:9999", wantClientID: "c1", wantOutput: "json"},
		{name: "client id kept as given", args: []string{"dump", "web-01"}, wantServer: "http://127.0.0.1:8080", wantClientID: "web-01", wantOutput: "json"},
		{name: "no client id", args: []string{"dump"}, wantErr: "got no arguments|CLIENT_ID"},
		{name: "two client ids", args: []string{"dump", "c1", "c2"}, wantErr: "arg|2"},
		{name: "bad output format", args: []string{"dump", "c1", "-o", "bad"}, wantErr: `"bad"|json, table, ndjson or csv`},
		{name: "empty output format", args: []string{"dump", "c1", "-o", ""}, wantErr: "json, table, ndjson or csv"},
		{name: "ndjson output", args: []string{"dump", "c1", "-o", "ndjson"}, wantServer: "http://127.0.0.1:8080", wantClientID: "c1", wantOutput: "ndjson"},
		{name: "csv output", args: []string{"dump", "c1", "-o", "csv"}, wantServer: "http://127.0.0.1:8080", wantClientID: "c1", wantOutput: "csv"},
		{name: "negative limit", args: []string{"dump", "c1", "--limit", "-1"}, wantErr: "--limit must not be negative, not -1"},
		{name: "watch too often", args: []string{"dump", "c1", "--watch", "--interval", "10ms"}, wantErr: "--interval must be at least 100ms, not 10ms"},
		{name: "unknown flag", args: []string{"dump", "c1", "--format", "table"}, wantErr: "unknown flag --format|montool dump --help"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			c, err := resolve(t, tt.args...)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				if c.calls != 0 {
					t.Errorf("dump ran %d times after a bad command line, want 0", c.calls)
				}
				return
			}
			o := c.dump
			if o == nil {
				t.Fatal("dump did not run")
			}
			if o.Server != tt.wantServer {
				t.Errorf("Server = %q, want %q", o.Server, tt.wantServer)
			}
			if o.ClientID != tt.wantClientID {
				t.Errorf("ClientID = %q, want %q", o.ClientID, tt.wantClientID)
			}
			if o.Output != tt.wantOutput {
				t.Errorf("Output = %q, want %q", o.Output, tt.wantOutput)
			}
			if o.Out == nil {
				t.Error("Out is nil")
			}
		})
	}
}

// uuidRE matches a UUID in its canonical lower-case text form.
var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// hostClientID is the client id send uses by default: the UUID v5 of the
// host name in the DNS namespace.
func hostClientID(t *testing.T) string {
	t.Helper()
	host, err := os.Hostname()
	if err != nil {
		t.Skipf("host name unknown: %v", err)
	}
	return uuid.NewSHA1(uuid.NameSpaceDNS, []byte(host)).String()
}

func TestSendFlags(t *testing.T) {
	const (
		upperUUID = "3F1C9D1E-7D4B-4C8A-9A53-0A0E1B7C2D11"
		lowerUUID = "3f1c9d1e-7d4b-4c8a-9a53-0a0e1b7c2d11"
	)
	tests := []struct {
		name     string
		args     []string
		want     event.Event // zero ClientID, ID or Timestamp: the default, checked apart
		wantSrv  string
		wantErr  string
		noRunner bool
	}{
		{
			name:    "key and value only",
			args:    []string{"send", "--key", "cpu", "--value", "37.5"},
			want:    event.Event{Key: "cpu", Value: 37.5, Type: event.TimeSeries},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "integer value",
			args:    []string{"send", "--key", "k", "--value", "3"},
			want:    event.Event{Key: "k", Value: 3, Type: event.TimeSeries},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "negative fraction",
			args:    []string{"send", "--key", "k", "--value=-0.5"},
			want:    event.Event{Key: "k", Value: -0.5, Type: event.TimeSeries},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "exponent",
			args:    []string{"send", "--key", "k", "--value", "1e3"},
			want:    event.Event{Key: "k", Value: 1000, Type: event.TimeSeries},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "cumulative type",
			args:    []string{"send", "--key", "k", "--value", "3", "--type", "CUMULATIVE"},
			want:    event.Event{Key: "k", Value: 3, Type: event.Cumulative},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "type in lower case",
			args:    []string{"send", "--key", "k", "--value", "3", "--type", "cumulative"},
			want:    event.Event{Key: "k", Value: 3, Type: event.Cumulative},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "time-series type given",
			args:    []string{"send", "--key", "http_requests_total", "--value", "3", "--type", "TIME-SERIES"},
			want:    event.Event{Key: "http_requests_total", Value: 3, Type: event.TimeSeries},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "type of a default counter key",
			args:    []string{"send", "--key", "http_requests_total", "--value", "3"},
			want:    event.Event{Key: "http_requests_total", Value: 3, Type: event.Cumulative},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "client id",
			args:    []string{"send", "--key", "k", "--value", "1", "--client-id", "c1"},
			want:    event.Event{Key: "k", Value: 1, Type: event.TimeSeries, ClientID: "c1"},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "upper-case UUID client id is lower-cased",
			args:    []string{"send", "--key", "k", "--value", "1", "--client-id", upperUUID},
			want:    event.Event{Key: "k", Value: 1, Type: event.TimeSeries, ClientID: lowerUUID},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "upper-case UUID event id is lower-cased",
			args:    []string{"send", "--key", "k", "--value", "1", "--event-id", upperUUID},
			want:    event.Event{Key: "k", Value: 1, Type: event.TimeSeries, ID: lowerUUID},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "non-UUID ids kept as given",
			args:    []string{"send", "--key", "k", "--value", "1", "--client-id", "Web-01", "--event-id", "E-1"},
			want:    event.Event{Key: "k", Value: 1, Type: event.TimeSeries, ClientID: "Web-01", ID: "E-1"},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "timestamp in seconds",
			args:    []string{"send", "--key", "k", "--value", "1", "--timestamp", "1763850000"},
			want:    event.Event{Key: "k", Value: 1, Type: event.TimeSeries, Timestamp: 1763850000_000000000},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "timestamp in milliseconds",
			args:    []string{"send", "--key", "k", "--value", "1", "--timestamp", "1763850001123"},
			want:    event.Event{Key: "k", Value: 1, Type: event.TimeSeries, Timestamp: 1763850001_123000000},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "timestamp in seconds with a fraction",
			args:    []string{"send", "--key", "k", "--value", "1", "--timestamp", "1763850000.25"},
			want:    event.Event{Key: "k", Value: 1, Type: event.TimeSeries, Timestamp: 1763850000_250000000},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "timestamp in RFC 3339",
			args:    []string{"send", "--key", "k", "--value", "1", "--timestamp", "2026-11-26T10:00:00Z"},
			want:    event.Event{Key: "k", Value: 1, Type: event.TimeSeries, Timestamp: 1795687200_000000000},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "timestamp in RFC 3339 with an offset",
			args:    []string{"send", "--key", "k", "--value", "1", "--timestamp", "2026-11-26T11:00:00+01:00"},
			want:    event.Event{Key: "k", Value: 1, Type: event.TimeSeries, Timestamp: 1795687200_000000000},
			wantSrv: "http://127.0.0.1:8080",
		},
		{
			name:    "server",
			args:    []string{"send", "--key", "k", "--value", "1", "--server", "http://127.0.0.1:9999"},
			want:    event.Event{Key: "k", Value: 1, Type: event.TimeSeries},
			wantSrv: "http://127.0.0.1:9999",
		},
		{name: "no key", args: []string{"send", "--value", "1"}, wantErr: `required flag(s) "key" not set`},
		{name: "no value", args: []string{"send", "--key", "k"}, wantErr: `required flag(s) "value" not set`},
		{name: "neither key nor value", args: []string{"send"}, wantErr: `"key"|"value"`},
		{name: "empty key", args: []string{"send", "--key", "", "--value", "1"}, wantErr: "--key|empty"},
		{name: "value not a number", args: []string{"send", "--key", "k", "--value", "abc"}, wantErr: `--value "abc"|finite number`},
		{name: "value NaN", args: []string{"send", "--key", "k", "--value", "NaN"}, wantErr: `--value "NaN"`},
		{name: "value Inf", args: []string{"send", "--key", "k", "--value", "Inf"}, wantErr: `--value "Inf"`},
		{name: "value out of range", args: []string{"send", "--key", "k", "--value", "1e400"}, wantErr: `--value "1e400"|finite`},
		{name: "value empty", args: []string{"send", "--key", "k", "--value", ""}, wantErr: `--value ""`},
		{name: "bogus type", args: []string{"send", "--key", "k", "--value", "1", "--type", "bogus"}, wantErr: `--type|"bogus"|CUMULATIVE or TIME-SERIES`},
		{name: "negative timestamp", args: []string{"send", "--key", "k", "--value", "1", "--timestamp", "-5"}, wantErr: `--timestamp "-5"|negative`},
		{name: "garbage timestamp", args: []string{"send", "--key", "k", "--value", "1", "--timestamp", "yesterday"}, wantErr: `--timestamp "yesterday"|RFC 3339`},
		{name: "timestamp past 2262", args: []string{"send", "--key", "k", "--value", "1", "--timestamp", "1e30"}, wantErr: `--timestamp "1e30"|range`},
		{name: "unknown flag", args: []string{"send", "--key", "k", "--value", "1", "--tag", "x"}, wantErr: "unknown flag --tag|montool send --help"},
		{name: "unexpected argument", args: []string{"send", "--key", "k", "--value", "1", "extra"}, wantErr: `takes no arguments, got "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			before := time.Now()
			c, err := resolve(t, tt.args...)
			after := time.Now()
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				if c.calls != 0 {
					t.Errorf("send ran %d times after a bad command line, want 0", c.calls)
				}
				return
			}
			o := c.send
			if o == nil {
				t.Fatal("send did not run")
			}
			if o.Server != tt.wantSrv {
				t.Errorf("Server = %q, want %q", o.Server, tt.wantSrv)
			}
			ev := o.Event
			if ev.Key != tt.want.Key || ev.Value != tt.want.Value || ev.Type != tt.want.Type {
				t.Errorf("key, value, type = %q, %g, %s; want %q, %g, %s", ev.Key, ev.Value, ev.Type, tt.want.Key, tt.want.Value, tt.want.Type)
			}
			wantClient := tt.want.ClientID
			if wantClient == "" {
				wantClient = hostClientID(t)
			}
			if ev.ClientID != wantClient {
				t.Errorf("ClientID = %q, want %q", ev.ClientID, wantClient)
			}
			if tt.want.ID != "" {
				if ev.ID != tt.want.ID {
					t.Errorf("ID = %q, want %q", ev.ID, tt.want.ID)
				}
			} else if !uuidRE.MatchString(ev.ID) {
				t.Errorf("default ID = %q, want a lower-case UUID", ev.ID)
			}
			if tt.want.Timestamp != 0 {
				if ev.Timestamp != tt.want.Timestamp {
					t.Errorf("Timestamp = %d, want %d", ev.Timestamp, tt.want.Timestamp)
				}
			} else if ns := int64(ev.Timestamp); ns < before.UnixNano() || ns > after.UnixNano() {
				t.Errorf("default Timestamp = %d, want now, between %d and %d", ns, before.UnixNano(), after.UnixNano())
			}
			if o.Out == nil {
				t.Error("Out is nil")
			}
		})
	}
}

func TestSendDefaultClientIDIsStableHostUUID(t *testing.T) {
	isolate(t)
	want := hostClientID(t)
	var ids []string
	for run := range 2 {
		c, err := resolve(t, "send", "--key", "k", "--value", "1")
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		ids = append(ids, c.send.Event.ClientID)
	}
	if ids[0] != ids[1] {
		t.Errorf("client id changed between two runs: %q then %q", ids[0], ids[1])
	}
	u, err := uuid.Parse(ids[0])
	if err != nil {
		t.Fatalf("client id %q is not a UUID: %v", ids[0], err)
	}
	if u.Version() != 5 {
		t.Errorf("client id %q is a version %d UUID, want version 5", ids[0], u.Version())
	}
	if ids[0] != want {
		t.Errorf("client id = %q, want %q, the UUID v5 of the host name", ids[0], want)
	}
}

func TestSendDefaultEventIDIsNewEachRun(t *testing.T) {
	isolate(t)
	var ids []string
	for run := range 2 {
		c, err := resolve(t, "send", "--key", "k", "--value", "1")
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		ids = append(ids, c.send.Event.ID)
	}
	for _, id := range ids {
		if !uuidRE.MatchString(id) {
			t.Errorf("event id %q is not a lower-case UUID", id)
		}
	}
	if ids[0] == ids[1] {
		t.Errorf("two runs used the same event id %q", ids[0])
	}
}

func TestSendDefaultTypeFromKeySet(t *testing.T) {
	tests := []struct {
		name     string
		config   string // testdata file; "" for none
		key      string
		flags    []string
		wantType event.Type
	}{
		{name: "configured cumulative key", config: "montool.yaml", key: "foo", wantType: event.Cumulative},
		{name: "configured time-series key", config: "montool.yaml", key: "bar", wantType: event.TimeSeries},
		{name: "key not in the configured set", config: "montool.yaml", key: "baz", wantType: event.TimeSeries},
		{name: "default counter not in the configured set", config: "montool.yaml", key: "http_requests_total", wantType: event.TimeSeries},
		{name: "type flag beats the configured set", config: "montool.yaml", key: "foo", flags: []string{"--type", "TIME-SERIES"}, wantType: event.TimeSeries},
		{name: "no config: unknown key", key: "foo", wantType: event.TimeSeries},
		{name: "no config: default counter key", key: "errors_total", wantType: event.Cumulative},
		{name: "no config: default gauge key", key: "cpu_usage_percent", wantType: event.TimeSeries},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			args := []string{"send", "--key", tt.key, "--value", "1"}
			if tt.config != "" {
				args = append(args, "--config", testdata(tt.config))
			}
			c, err := resolve(t, append(args, tt.flags...)...)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.send.Event.Type; got != tt.wantType {
				t.Errorf("type of %q = %s, want %s", tt.key, got, tt.wantType)
			}
		})
	}
}

// lowestLevel returns the lowest log level l is enabled for.
func lowestLevel(l *slog.Logger) string {
	for _, lvl := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if l.Enabled(context.Background(), lvl) {
			return lvl.String()
		}
	}
	return "none"
}

func TestLogFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantLevel string
		wantErr   string
	}{
		{name: "default level", args: []string{"serve"}, wantLevel: "INFO"},
		{name: "debug", args: []string{"serve", "--log-level", "debug"}, wantLevel: "DEBUG"},
		{name: "warn before the command", args: []string{"--log-level", "warn", "serve"}, wantLevel: "WARN"},
		{name: "error", args: []string{"serve", "--log-level=error"}, wantLevel: "ERROR"},
		{name: "json format", args: []string{"serve", "--log-format", "json"}, wantLevel: "INFO"},
		{name: "bogus level", args: []string{"serve", "--log-level", "bogus"}, wantErr: `"bogus"|debug, info, warn or error`},
		{name: "bogus format", args: []string{"serve", "--log-format", "bogus"}, wantErr: `"bogus"|text or json`},
		{name: "bogus level on a client command", args: []string{"dump", "c1", "--log-level", "loud"}, wantErr: `"loud"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			c, err := resolve(t, tt.args...)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				if c.calls != 0 {
					t.Errorf("a command ran %d times after a bad log setting, want 0", c.calls)
				}
				return
			}
			if got := lowestLevel(c.serve.Log); got != tt.wantLevel {
				t.Errorf("lowest enabled level = %s, want %s", got, tt.wantLevel)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	isolate(t)
	_, _, err := execute(t, (&captured{}).runners(), "start")
	checkErr(t, err, `unknown command "start"`)
}

// TestServeDebugAddrFlags: the profiler's address must be loopback unless
// --insecure-debug-addr says otherwise; a port alone (":6060") is every
// interface, not loopback. A host name is checked where it is listened on.
func TestServeDebugAddrFlags(t *testing.T) {
	refused := "is not a loopback address|--insecure-debug-addr"
	tests := []struct {
		name         string
		args         []string
		env          map[string]string
		wantInsecure bool
		wantErr      string
	}{
		{name: "off", args: []string{"serve"}},
		{name: "IPv4 loopback", args: []string{"serve", "--debug-addr", "127.0.0.1:6060"}},
		{name: "other IPv4 loopback", args: []string{"serve", "--debug-addr", "127.0.0.2:6060"}},
		{name: "IPv6 loopback", args: []string{"serve", "--debug-addr", "[::1]:6060"}},
		{name: "localhost", args: []string{"serve", "--debug-addr", "localhost:6060"}},
		{name: "every IPv4 interface", args: []string{"serve", "--debug-addr", "0.0.0.0:6060"}, wantErr: `"0.0.0.0:6060"|` + refused},
		{name: "a port alone", args: []string{"serve", "--debug-addr", ":6060"}, wantErr: `":6060"|every interface|` + refused},
		{name: "every IPv6 interface", args: []string{"serve", "--debug-addr", "[::]:6060"}, wantErr: `"[::]:6060"|` + refused},
		{name: "an address of the network", args: []string{"serve", "--debug-addr", "192.0.2.7:6060"}, wantErr: `"192.0.2.7:6060"|` + refused},
		{name: "IPv4-mapped IPv6 of every interface", args: []string{"serve", "--debug-addr", "[::ffff:0.0.0.0]:6060"}, wantErr: refused},
		{name: "no port", args: []string{"serve", "--debug-addr", "127.0.0.1"}, wantErr: `--debug-addr "127.0.0.1"`},
		{
			name: "every interface, insecure", args: []string{"serve", "--debug-addr", "0.0.0.0:6060", "--insecure-debug-addr"},
			wantInsecure: true,
		},
		{name: "from the environment", args: []string{"serve"}, env: map[string]string{"MONTOOL_SERVE_DEBUG_ADDR": ":6060"}, wantErr: refused},
		{
			name: "from the environment, insecure", args: []string{"serve"},
			env:          map[string]string{"MONTOOL_SERVE_DEBUG_ADDR": ":6060", "MONTOOL_SERVE_INSECURE_DEBUG_ADDR": "true"},
			wantInsecure: true,
		},
		{name: "insecure without an address", args: []string{"serve", "--insecure-debug-addr"}, wantInsecure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := resolve(t, tt.args...)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				if c.calls != 0 {
					t.Error("serve ran with a debug address it should have refused")
				}
				return
			}
			if c.serve.InsecureDebugAddr != tt.wantInsecure {
				t.Errorf("InsecureDebugAddr = %v, want %v", c.serve.InsecureDebugAddr, tt.wantInsecure)
			}
		})
	}
}

// TestServeDebugAddrExampleConfig: the example config sets the profiler's
// keys, to their defaults.
func TestServeDebugAddrExampleConfig(t *testing.T) {
	example, err := filepath.Abs(filepath.Join("..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	isolate(t)
	c, err := resolve(t, "serve", "--config", example)
	if err != nil {
		t.Fatal(err)
	}
	if c.serve.DebugAddr != "" || c.serve.InsecureDebugAddr {
		t.Errorf("with the example config: debug addr %q, insecure %v; want the defaults \"\" and false", c.serve.DebugAddr, c.serve.InsecureDebugAddr)
	}
	v := viper.New()
	v.SetConfigFile(example)
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"serve.debug_addr", "serve.insecure_debug_addr"} {
		if !v.IsSet(key) {
			t.Errorf("the example config does not set %s", key)
		}
	}
}
