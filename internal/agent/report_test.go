package agent_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/agent"
	"github.com/montool/montool/internal/apiclient"
	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/outputtest"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/ with what the tests get")

// checkGolden compares got with testdata/name.golden, or rewrites the
// file with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what was written (go test -update rewrites it if the change is meant):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestSummaryWrite: the summary is a table of each agent and the total,
// then each kind of rejection, with what a server holds escaped.
func TestSummaryWrite(t *testing.T) {
	tests := []struct {
		name    string
		summary agent.Summary
	}{
		{"summary-accepted", agent.Summary{Elapsed: 1001234567 * time.Nanosecond, Agents: []agent.Stats{
			{ClientID: "017fc29d-7e99-4327-9ced-c632a70b6411", Sent: 6, Accepted: 6},
			{ClientID: "54dc352d-4e5a-4cdb-baf7-fd675913b032", Sent: 120, Accepted: 100, Duplicates: 3, Rejected: 7, Errors: 10, Retries: 2},
		}}},
		{"summary-rejected", agent.Summary{Elapsed: 300 * time.Millisecond, Agents: []agent.Stats{
			{ClientID: "lab-1", Sent: 6, Rejected: 6},
			{ClientID: "web\x1b[31m-02", Sent: 5, Rejected: 5},
		}, Rejections: []agent.Rejection{
			{Code: "forbidden", Message: "this token may not write events of this client"},
			{Code: "invalid", Message: "event_value: must be\x07 a number"},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.summary.Write(&b); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name, b.Bytes())
		})
	}
}

// TestWriteProgress: the progress line rewrites the line before with the
// counts and the rate, and says while sends fail that the agents retry.
func TestWriteProgress(t *testing.T) {
	total := agent.Stats{Sent: 250, Accepted: 240, Duplicates: 4, Rejected: 3, Errors: 3, Retries: 9}
	tests := []struct {
		name     string
		progress agent.Progress
	}{
		{"progress-answered", agent.Progress{Elapsed: 12500 * time.Millisecond, Total: total}},
		{"progress-unreachable", agent.Progress{Elapsed: 12500 * time.Millisecond, Total: total, Failing: true, FailingFor: 6700 * time.Millisecond}},
		{"progress-answering-503", agent.Progress{Elapsed: 12500 * time.Millisecond, Total: total, Failing: true, FailingFor: 700 * time.Millisecond, Status: 503}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			agent.WriteProgress(&b, tt.progress)
			checkGolden(t, tt.name, b.Bytes())
		})
	}
}

// identities returns the identities of agents with the given client ids.
func identities(clientIDs ...string) []agent.Identity {
	ids := make([]agent.Identity, len(clientIDs))
	for i, id := range clientIDs {
		ids[i] = agent.Identity{ClientID: id}
	}
	return ids
}

// runScripted runs a fleet of the given agents for 200ms against a sender
// that answers each send to a client id as answer says.
func runScripted(t *testing.T, answer func(clientID string, events []event.Event) (*event.Summary, error), clientIDs ...string) *agent.Fleet {
	t.Helper()
	cfg := testConfig()
	cfg.Count, cfg.Identities, cfg.Duration = len(clientIDs), identities(clientIDs...), 200*time.Millisecond
	f, err := agent.NewFleet(cfg, &scripted{answer: func(_ int64, events []event.Event) (*event.Summary, error) {
		return answer(events[0].ClientID, events)
	}})
	if err != nil {
		t.Fatal(err)
	}
	_ = runToEnd(t, f)
	return f
}

// rejectAs answers every send by rejecting its events with code and msg.
func rejectAs(code, msg string, events []event.Event) (*event.Summary, error) {
	return &event.Summary{Rejected: len(events), Errors: []event.ItemError{{Code: code, Message: msg}}}, &apiclient.Error{Status: 403, Code: code}
}

// TestFleetSummary: the summary holds each agent's stats in order, and
// each kind of rejection once, with the message of the first agent that
// met it.
func TestFleetSummary(t *testing.T) {
	f := runScripted(t, func(clientID string, events []event.Event) (*event.Summary, error) {
		if clientID == "b" {
			return rejectAs("invalid", "bad b", events)
		}
		return rejectAs("forbidden", "not yours "+clientID, events)
	}, "a", "b", "c")
	s := f.Summary(time.Second)
	if len(s.Agents) != 3 || s.Agents[0].ClientID != "a" || s.Agents[1].ClientID != "b" || s.Agents[2].ClientID != "c" {
		t.Fatalf("Agents = %+v, want the stats of a, b and c", s.Agents)
	}
	want := []agent.Rejection{{Code: "forbidden", Message: "not yours a"}, {Code: "invalid", Message: "bad b"}}
	if len(s.Rejections) != 2 || s.Rejections[0] != want[0] || s.Rejections[1] != want[1] {
		t.Errorf("Rejections = %+v, want %+v", s.Rejections, want)
	}
	tot := s.Total()
	if tot.Sent != s.Agents[0].Sent+s.Agents[1].Sent+s.Agents[2].Sent || tot.Rejected != tot.Sent || tot.ClientID != "" {
		t.Errorf("Total = %+v, want every event of the agents sent and rejected", tot)
	}
}

// TestNoneAccepted: a fleet fails when an agent had none of its events
// accepted, with the first reason a server gave.
func TestNoneAccepted(t *testing.T) {
	accept := func(_ string, events []event.Event) (*event.Summary, error) {
		return &event.Summary{Accepted: len(events)}, nil
	}
	tests := []struct {
		name    string
		answer  func(clientID string, events []event.Event) (*event.Summary, error)
		agents  []string
		wantErr string // "" for none
	}{
		{"all accepted", accept, []string{"a", "b"}, ""},
		{"one agent refused", func(clientID string, events []event.Event) (*event.Summary, error) {
			if clientID == "b" {
				return rejectAs("forbidden", "not yours", events)
			}
			return accept(clientID, events)
		}, []string{"a", "b"}, "agent 2 had none of its events accepted (forbidden: not yours)"},
		{"every agent refused", func(_ string, events []event.Event) (*event.Summary, error) {
			return rejectAs("forbidden", "not yours", events)
		}, []string{"a", "b"}, "2 agents had none of their events accepted (forbidden: not yours)"},
		{"refused as a whole", func(string, []event.Event) (*event.Summary, error) {
			return nil, &apiclient.Error{Status: 413, Code: "too_large"}
		}, []string{"a"}, "agent 1 had none of its events accepted (see the errors above)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runScripted(t, tt.answer, tt.agents...).NoneAccepted()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want none", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("got %v, want %s", err, tt.wantErr)
			}
		})
	}
}

// TestProgressWhileFailing: while sends fail, the progress says so, with
// the status the server answers.
func TestProgressWhileFailing(t *testing.T) {
	failed := make(chan struct{})
	f, err := agent.NewFleet(testConfig(), &scripted{answer: func(n int64, _ []event.Event) (*event.Summary, error) {
		if n == 2 { // a retry: the first failure is counted
			close(failed)
		}
		return nil, &apiclient.Error{Status: 503, Code: "unavailable"}
	}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	<-failed
	p := f.Progress(start)
	if !p.Failing || p.Status != 503 || p.FailingFor > time.Since(start) || p.Elapsed <= 0 {
		t.Errorf("Progress = %+v, want failing with 503 since after the start", p)
	}
	cancel()
	<-done
}

// TestProgressSaysUnreachable: while the server is down the progress line
// says for how long, and that the agents retry.
func TestProgressSaysUnreachable(t *testing.T) {
	cfg := testConfig()
	cfg.Count = 2
	f := newFleet(t, cfg, closedURL(t))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	out := outputtest.New()
	stop := f.ShowProgress(out, time.Now())
	out.WaitFor(t, regexp.MustCompile(`server unreachable for [0-9]+s, retrying`), waitLimit, nil)
	stop()
	cancel()
	<-done
	if !strings.HasSuffix(out.String(), "\r\033[K") {
		t.Errorf("the progress line is not cleared when it stops: %q", out.String())
	}
}

// TestParseIdentities: one agent a line, its client id and maybe its
// token; blank lines and comments left out.
func TestParseIdentities(t *testing.T) {
	tests := []struct {
		name, text string
		want       []agent.Identity
		wantErr    string
	}{
		{name: "ids and tokens", text: "web-01 mt_a\n\n# the lab\nlab-01\n  web-02\tmt_b  \r\n",
			want: []agent.Identity{{ClientID: "web-01", Token: "mt_a"}, {ClientID: "lab-01"}, {ClientID: "web-02", Token: "mt_b"}}},
		{name: "a field too many", text: "web-01 mt_a\nweb-02 mt_b extra\n", wantErr: "agents.txt:2: want a client id and a token, found 3 fields"},
		{name: "no agent", text: "# none yet\n\n", wantErr: "agents.txt: no agent in it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := agent.ParseIdentities("agents.txt", []byte(tt.text))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("agent %d = %+v, want %+v", i+1, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestRunReported: a fleet says each agent's client id as it starts, its
// summary when it stops, and fails when an agent had nothing accepted.
func TestRunReported(t *testing.T) {
	tests := []struct {
		name    string
		answer  func(n int64, events []event.Event) (*event.Summary, error)
		wantErr string // "" for none
	}{
		{"accepted", func(_ int64, events []event.Event) (*event.Summary, error) {
			return &event.Summary{Accepted: len(events)}, nil
		}, ""},
		{"rejected", func(_ int64, events []event.Event) (*event.Summary, error) {
			return rejectAs("forbidden", "not yours", events)
		}, "2 agents had none of their events accepted (forbidden: not yours)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Count, cfg.Identities, cfg.Duration = 2, identities("web-01", "web-02"), 100*time.Millisecond
			f, err := agent.NewFleet(cfg, &scripted{answer: tt.answer})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			got := ""
			if err := f.RunReported(t.Context(), &out, nil); err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("got error %q, want %q", got, tt.wantErr)
			}
			started := "agent 1 started: client_id web-01\nagent 2 started: client_id web-02\n\nran "
			if !strings.HasPrefix(out.String(), started) || !strings.Contains(out.String(), "\ntotal ") {
				t.Errorf("the report is\n%s\nwant the agents started, then the summary", out.String())
			}
		})
	}
}
