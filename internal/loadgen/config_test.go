package loadgen

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name      string
		change    func(*Config)
		wantField string // "" for a valid config
		wantValue string
	}{
		{name: "defaults", change: func(*Config) {}},
		{name: "events only", change: func(c *Config) { c.Duration, c.Events = 0, 100 }},
		{name: "single events, no cumulative, every key cumulative", change: func(c *Config) { c.Batch, c.Cumulative = 1, 0 }},
		{name: "all cumulative", change: func(c *Config) { c.Cumulative = 1 }},
		{name: "ndjson", change: func(c *Config) { c.Format = NDJSON }},
		{name: "duplicates just under 1", change: func(c *Config) { c.Duplicates = 0.99 }},
		{name: "no clients", change: func(c *Config) { c.Clients = 0 }, wantField: "clients", wantValue: "0"},
		{name: "too many clients", change: func(c *Config) { c.Clients = MaxClients + 1 }, wantField: "clients", wantValue: "1000001"},
		{name: "no keys", change: func(c *Config) { c.Keys = -1 }, wantField: "keys", wantValue: "-1"},
		{name: "batch 0", change: func(c *Config) { c.Batch = 0 }, wantField: "batch", wantValue: "0"},
		{name: "batch too large", change: func(c *Config) { c.Batch = MaxBatch + 1 }, wantField: "batch", wantValue: "100001"},
		{name: "no connections", change: func(c *Config) { c.Connections = 0 }, wantField: "connections", wantValue: "0"},
		{name: "too many connections", change: func(c *Config) { c.Connections = 5000 }, wantField: "connections", wantValue: "5000"},
		{name: "cumulative above 1", change: func(c *Config) { c.Cumulative = 1.5 }, wantField: "cumulative", wantValue: "1.5"},
		{name: "cumulative negative", change: func(c *Config) { c.Cumulative = -0.1 }, wantField: "cumulative", wantValue: "-0.1"},
		{name: "cumulative NaN", change: func(c *Config) { c.Cumulative = math.NaN() }, wantField: "cumulative", wantValue: "NaN"},
		{name: "negative duration", change: func(c *Config) { c.Duration = -time.Second }, wantField: "duration", wantValue: "-1s"},
		{name: "negative events", change: func(c *Config) { c.Events = -3 }, wantField: "events", wantValue: "-3"},
		{name: "no end", change: func(c *Config) { c.Duration, c.Events = 0, 0 }, wantField: "duration", wantValue: "0"},
		{name: "duplicates 1.5", change: func(c *Config) { c.Duplicates = 1.5 }, wantField: "duplicates", wantValue: "1.5"},
		{name: "duplicates 1", change: func(c *Config) { c.Duplicates = 1 }, wantField: "duplicates", wantValue: "1"},
		{name: "duplicates negative", change: func(c *Config) { c.Duplicates = -0.5 }, wantField: "duplicates", wantValue: "-0.5"},
		{name: "format xml", change: func(c *Config) { c.Format = "xml" }, wantField: "format", wantValue: `"xml"`},
		{name: "format empty", change: func(c *Config) { c.Format = "" }, wantField: "format", wantValue: `""`},
		{name: "negative pregeneration", change: func(c *Config) { c.PregenerateBytes = -1 }, wantField: "pregenerate-bytes", wantValue: "-1"},
		{name: "no request timeout", change: func(c *Config) { c.RequestTimeout = 0 }, wantField: "request-timeout", wantValue: "0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.change(&cfg)
			err := cfg.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FieldError", err)
			}
			if fe.Field != tt.wantField || fe.Value != tt.wantValue || fe.Message == "" {
				t.Errorf("got field %q value %q message %q, want field %q value %q", fe.Field, fe.Value, fe.Message, tt.wantField, tt.wantValue)
			}
		})
	}
}

func TestDefaultConnections(t *testing.T) {
	if got := DefaultConnections(1); got != 32 {
		t.Errorf("DefaultConnections(1) = %d, want 32", got)
	}
	if got := DefaultConnections(1000); got != 4 {
		t.Errorf("DefaultConnections(1000) = %d, want 4", got)
	}
	if got := DefaultConfig().Connections; got != 4 {
		t.Errorf("DefaultConfig().Connections = %d, want 4", got)
	}
}
