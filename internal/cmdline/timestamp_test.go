package cmdline_test

import (
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/cmdline"
	"github.com/montool/montool/internal/event"
)

func TestParseTimestamp(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    event.Timestamp
		wantErr string
	}{
		{in: "1795687200", want: event.FromTime(at)},
		{in: "1795687200000", want: event.FromTime(at)},
		{in: "1795687200.5", want: event.FromTime(at.Add(500 * time.Millisecond))},
		{in: "2026-11-26T10:00:00Z", want: event.FromTime(at)},
		{in: "2026-11-26T11:00:00.25+01:00", want: event.FromTime(at.Add(250 * time.Millisecond))},
		{in: "soon", wantErr: `--since "soon": must be a Unix timestamp (seconds, ms, µs or ns) or RFC 3339 text such as 2026-11-26T10:00:00Z`},
		{in: "2026-11-26", wantErr: `--since "2026-11-26": must be a Unix timestamp`},
		{in: "-5", wantErr: `--since "-5": `},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := cmdline.ParseTimestamp("since", tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error starting %q", err, tt.wantErr)
				}
				if tt.in == "-5" && strings.Contains(err.Error(), "must be a Unix timestamp") {
					t.Errorf("%v: a number says what is wrong with it, not what the flag takes", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
