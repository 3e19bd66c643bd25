package cmd

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/event"
)

// TestDumpTimeFlags: --from and --to are checked before any request and
// a value they cannot take names the flag.
func TestDumpTimeFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // parts of the error; nil for none
	}{
		{"unix seconds", []string{"--from", "1763850000"}, nil},
		{"RFC 3339", []string{"--from", "2026-11-26T10:00:00Z", "--to", "2026-11-26T11:00:00+01:00"}, nil},
		{"a time ago", []string{"--from", "90m", "--to", "1h"}, nil},
		{"not a time", []string{"--from", "yesterday"}, []string{"--from", `"yesterday"`, "RFC 3339", "1h"}},
		{"not a time (to)", []string{"--to", "soon"}, []string{"--to", `"soon"`}},
		{"negative", []string{"--from", "-5"}, []string{"--from", `"-5"`, "negative"}},
		{"a time ahead", []string{"--to", "-1h"}, []string{"--to", `"-1h"`, "ago"}},
		{"from after to", []string{"--from", "1h", "--to", "2h"}, []string{"--from", "after", "--to"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			c, err := resolve(t, append([]string{"dump", "web-01"}, tt.args...)...)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkOneLine(t, err, tt.want...)
			if strings.Contains(err.Error(), "HTTP") {
				t.Errorf("error %q came from the server", err)
			}
			if c.calls != 0 {
				t.Errorf("dump ran %d times, want 0", c.calls)
			}
		})
	}
}

// TestDumpTimeRange: --from and --to in RFC 3339 or as a time ago reach
// the server in its form and keep the events they say.
func TestDumpTimeRange(t *testing.T) {
	isolate(t)
	url, st := newTestServer(t)
	now := time.Now()
	var events []event.Event
	for i, ago := range []time.Duration{3 * time.Hour, 2 * time.Hour, 30 * time.Minute} {
		events = append(events, event.Event{ClientID: "web-01", ID: string(rune('a' + i)), Timestamp: event.FromTime(now.Add(-ago)),
			Type: event.TimeSeries, Key: "cpu", Value: float64(i)})
	}
	if _, err := st.Apply(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // the event ids, in order
	}{
		{"the last hour", []string{"--from", "1h"}, "c"},
		{"up to an hour ago", []string{"--to", "1h"}, "a b"},
		{"between", []string{"--from", "150m", "--to", "1h"}, "b"},
		{"RFC 3339", []string{"--from", now.Add(-150 * time.Minute).Format(time.RFC3339), "--to", now.Add(-time.Hour).UTC().Format(time.RFC3339Nano)}, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := execute(t, runners{}, append([]string{"dump", "web-01", "-o", "ndjson", "--server", url}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for l := range strings.SplitSeq(strings.TrimSpace(stdout), "\n") {
				var e struct {
					ID string `json:"event_id"`
				}
				if err := json.Unmarshal([]byte(l), &e); err != nil {
					t.Fatalf("line %q: %v", l, err)
				}
				got = append(got, e.ID)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("dump %v gave %v, want %s", tt.args, got, tt.want)
			}
		})
	}
}
