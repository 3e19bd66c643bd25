package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/montool/montool/internal/auth"
	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/outputtest"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// These tests run the real commands against a real HTTP server on loopback.

// summary is the JSON answer send prints.
type summary struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Rejected   int `json:"rejected"`
	Errors     []struct {
		Index   int    `json:"index"`
		EventID string `json:"event_id"`
		Code    string `json:"code"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

func TestSendToServer(t *testing.T) {
	isolate(t)
	url, st := newTestServer(t)
	base := []string{"send", "--server", url, "--client-id", "c1", "--key", "k"}
	steps := []struct {
		name           string
		args           []string
		wantAccepted   int
		wantDuplicates int
		wantRejected   int
		wantConflict   bool   // the error is a conflict
		wantErrText    string // "|"-separated parts of the error message
		wantCode       string // code of the summary's one error
	}{
		{
			name:         "first send is accepted",
			args:         []string{"--value", "3", "--type", "CUMULATIVE", "--event-id", "e1", "--timestamp", "1763850000"},
			wantAccepted: 1,
		},
		{
			name:           "same event again is a duplicate",
			args:           []string{"--value", "3", "--type", "CUMULATIVE", "--event-id", "e1", "--timestamp", "1763850000"},
			wantDuplicates: 1,
		},
		{
			name:         "same event id with another value is a conflict",
			args:         []string{"--value", "4", "--type", "CUMULATIVE", "--event-id", "e1", "--timestamp", "1763850000"},
			wantRejected: 1, wantConflict: true, wantErrText: "event_id|409", wantCode: "conflict",
		},
		{
			name:         "same key with another type is a conflict",
			args:         []string{"--value", "4", "--type", "TIME-SERIES", "--event-id", "e2", "--timestamp", "1763850000"},
			wantRejected: 1, wantConflict: true, wantErrText: `"k"|CUMULATIVE|409`, wantCode: "conflict",
		},
		{
			name:         "a new event id by default is accepted",
			args:         []string{"--value", "2", "--type", "CUMULATIVE", "--timestamp", "1763850060"},
			wantAccepted: 1,
		},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			stdout, _, err := execute(t, runners{}, append(base, s.args...)...)
			if s.wantConflict {
				if err == nil {
					t.Fatal("got no error, want a conflict")
				}
				if !errors.Is(err, event.ErrConflict) {
					t.Errorf("error %q is not a conflict", err)
				}
				checkErr(t, err, s.wantErrText)
			} else if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			var got summary
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("output is not the JSON summary: %v\n%s", err, stdout)
			}
			if got.Accepted != s.wantAccepted || got.Duplicates != s.wantDuplicates || got.Rejected != s.wantRejected {
				t.Errorf("accepted, duplicates, rejected = %d, %d, %d; want %d, %d, %d",
					got.Accepted, got.Duplicates, got.Rejected, s.wantAccepted, s.wantDuplicates, s.wantRejected)
			}
			if len(got.Errors) != s.wantRejected {
				t.Fatalf("got %d errors in the summary, want %d:\n%s", len(got.Errors), s.wantRejected, stdout)
			}
			if s.wantCode != "" && got.Errors[0].Code != s.wantCode {
				t.Errorf("error code = %q, want %q", got.Errors[0].Code, s.wantCode)
			}
		})
	}

	d, err := st.Dump(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Series) != 1 || d.Series[0].Key != "k" || d.Series[0].Total != 5 || d.Series[0].Count != 2 {
		t.Errorf("the server holds %+v, want key k with total 5 from 2 events", d.Series)
	}
}

// seed stores the events the dump tests read, for client c1:
//
//	k CUMULATIVE: 3 at 1763850000 and 4.5 at 1763850060
//	g TIME-SERIES: 1 at 1763850300, 5 at 1763850100, 9 at 1763850200 (sent out of order)
func seed(t *testing.T, st *store.Memory) {
	t.Helper()
	events := []event.Event{
		{ClientID: "c1", ID: "e1", Timestamp: 1763850000_000000000, Type: event.Cumulative, Key: "k", Value: 3},
		{ClientID: "c1", ID: "e2", Timestamp: 1763850060_000000000, Type: event.Cumulative, Key: "k", Value: 4.5},
		{ClientID: "c1", ID: "e3", Timestamp: 1763850300_000000000, Type: event.TimeSeries, Key: "g", Value: 1},
		{ClientID: "c1", ID: "e4", Timestamp: 1763850100_000000000, Type: event.TimeSeries, Key: "g", Value: 5},
		{ClientID: "c1", ID: "e5", Timestamp: 1763850200_000000000, Type: event.TimeSeries, Key: "g", Value: 9},
	}
	results, err := st.Apply(context.Background(), events)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.Err != nil || r.Duplicate {
			t.Fatalf("seeding event %d: %+v", i, r)
		}
	}
}

func TestDumpJSON(t *testing.T) {
	isolate(t)
	url, st := newTestServer(t)
	seed(t, st)
	stdout, _, err := execute(t, runners{}, "dump", "c1", "--server", url)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"client_id": "c1", "events": {
		"g": [
			{"client_id": "c1", "event_id": "e4", "event_timestamp": 1763850100, "event_type": "TIME-SERIES", "event_key": "g", "event_value": 5},
			{"client_id": "c1", "event_id": "e5", "event_timestamp": 1763850200, "event_type": "TIME-SERIES", "event_key": "g", "event_value": 9},
			{"client_id": "c1", "event_id": "e3", "event_timestamp": 1763850300, "event_type": "TIME-SERIES", "event_key": "g", "event_value": 1}
		],
		"k": {"client_id": "c1", "event_type": "CUMULATIVE", "event_key": "k", "event_value": 7.5, "event_count": 2, "event_timestamp": 1763850060}
	}}`
	var got, wantV any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	if err := json.Unmarshal([]byte(want), &wantV); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, wantV) {
		t.Errorf("dump =\n%s\nwant the same data as\n%s", stdout, want)
	}
	// Pretty: one field a line, indented by two spaces, one newline at the end.
	if !strings.HasPrefix(stdout, "{\n  \"client_id\": \"c1\",\n  \"events\": {\n") || !strings.HasSuffix(stdout, "\n}\n") {
		t.Errorf("dump is not pretty-printed JSON:\n%s", stdout)
	}
}

func TestDumpTable(t *testing.T) {
	isolate(t)
	url, st := newTestServer(t)
	seed(t, st)
	stdout, _, err := execute(t, runners{}, "dump", "c1", "-o", "table", "--server", url)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	header := -1
	for i, l := range lines {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "KEY" {
			header = i
			break
		}
	}
	if header < 0 {
		t.Fatalf("no header row in:\n%s", stdout)
	}
	// g's values in time order are 5, 9, 1: a middle, a top and a bottom bar.
	want := [][]string{
		{"KEY", "TYPE", "COUNT", "TOTAL", "LAST", "MIN", "MAX", "LATEST", "TREND"},
		{"g", "TIME-SERIES", "3", "-", "1", "1", "9", "2025-11-22T22:25:00Z", "▅█▁", "1–9"},
		{"k", "CUMULATIVE", "2", "7.5", "-", "-", "-", "2025-11-22T22:21:00Z", "-"},
	}
	rows := lines[header:]
	if len(rows) != len(want) {
		t.Fatalf("got %d rows from the header on, want %d:\n%s", len(rows), len(want), stdout)
	}
	for i, w := range want {
		if got := strings.Fields(rows[i]); !reflect.DeepEqual(got, w) {
			t.Errorf("row %d = %q, want %q", i, got, w)
		}
	}
	// Numbers end where their headers end.
	for _, col := range []string{"COUNT", "TOTAL", "MAX"} {
		end := strings.Index(rows[0], col) + len(col)
		for _, row := range rows[1:] {
			if end > len(row) || row[end-1] == ' ' || (end < len(row) && row[end] != ' ') {
				t.Errorf("column %s is not aligned right in %q", col, row)
			}
		}
	}
	if !strings.Contains(strings.Join(lines[:header], "\n"), "c1") {
		t.Errorf("the table does not name the client above its header:\n%s", stdout)
	}
}

// TestDumpTableEscapesStrings dumps as a table a client whose id a terminal
// would act on, held from before ids had to be free of control characters,
// with keys of format characters: the table shows them quoted, with
// escapes, and keeps its columns.
func TestDumpTableEscapesStrings(t *testing.T) {
	isolate(t)
	url, st := newTestServer(t)
	const client = "c\x1b[2J\x1b[H"
	events := []event.Event{
		{ClientID: client, ID: "e\x1b[5m1", Timestamp: 1763850000_000000000, Type: event.TimeSeries, Key: "g\u202eevil", Value: 1},
		{ClientID: client, ID: "e\u009b2", Timestamp: 1763850060_000000000, Type: event.TimeSeries, Key: "g\u202eevil", Value: 2},
		{ClientID: client, ID: "e3", Timestamp: 1763850000_000000000, Type: event.Cumulative, Key: "k\u00a0\u200b", Value: 3},
		{ClientID: client, ID: "e4", Timestamp: 1763850000_000000000, Type: event.Cumulative, Key: "température", Value: 4},
	}
	if _, err := st.Apply(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := execute(t, runners{}, "dump", client, "-o", "table", "--server", url)
	if err != nil {
		t.Fatal(err)
	}
	checkShowsNoControls(t, stdout)
	if !strings.HasPrefix(stdout, `client "c\x1b[2J\x1b[H"`+"\n") {
		t.Errorf("the table does not name the client quoted:\n%s", stdout)
	}
	// Each row starts with its key, and its type starts where TYPE does.
	rows := map[string]string{}
	typeCol := -1
	for line := range strings.SplitSeq(stdout, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		col := utf8.RuneCountInString(line[:strings.Index(line, f[1])])
		if f[0] == "KEY" {
			typeCol = col
			continue
		}
		if typeCol < 0 {
			continue // above the header
		}
		rows[f[0]] = f[1]
		if col != typeCol {
			t.Errorf("the type of %s is in column %d, TYPE in %d:\n%s", f[0], col, typeCol, stdout)
		}
	}
	want := map[string]string{`"g\u202eevil"`: "TIME-SERIES", `"k\u00a0\u200b"`: "CUMULATIVE", "température": "CUMULATIVE"}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows (key: type) = %q, want %q:\n%s", rows, want, stdout)
	}
}

// TestDumpClientIDWithSpecialCharacters sends and dumps a client id that
// must be escaped in the URL path.
func TestDumpClientIDWithSpecialCharacters(t *testing.T) {
	isolate(t)
	url, _ := newTestServer(t)
	const id = "rack 7/web-01?x#y"
	if _, _, err := execute(t, runners{}, "send", "--server", url, "--client-id", id, "--key", "k", "--value", "1"); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := execute(t, runners{}, "dump", id, "--server", url)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	if got.ClientID != id {
		t.Errorf("client_id = %q, want %q", got.ClientID, id)
	}
}

// TestUpperCaseUUIDClientID checks that a UUID client id names one client
// whatever the letter case it is typed in.
func TestUpperCaseUUIDClientID(t *testing.T) {
	isolate(t)
	url, st := newTestServer(t)
	const (
		upper = "3F1C9D1E-7D4B-4C8A-9A53-0A0E1B7C2D11"
		lower = "3f1c9d1e-7d4b-4c8a-9a53-0a0e1b7c2d11"
	)
	if _, _, err := execute(t, runners{}, "send", "--server", url, "--client-id", upper, "--key", "k", "--value", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Dump(context.Background(), lower); err != nil {
		t.Errorf("no data under the lower-case id: %v", err)
	}
	for _, id := range []string{upper, lower} {
		stdout, _, err := execute(t, runners{}, "dump", id, "--server", url)
		if err != nil {
			t.Fatalf("dump %s: %v", id, err)
		}
		var got struct {
			ClientID string `json:"client_id"`
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("dump %s: output is not JSON: %v\n%s", id, err, stdout)
		}
		if got.ClientID != lower {
			t.Errorf("dump %s: client_id = %q, want %q", id, got.ClientID, lower)
		}
	}
}

func TestClientCommandErrors(t *testing.T) {
	liveURL, _ := newTestServer(t)
	deadURL := closedServerURL(t)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "dump of an unknown client", args: []string{"dump", "unknown", "--server", liveURL}, wantErr: `"unknown"|404`},
		{name: "dump from a closed server", args: []string{"dump", "c1", "--server", deadURL}, wantErr: "cannot reach the montool server|" + deadURL},
		{name: "dump as table from a closed server", args: []string{"dump", "c1", "-o", "table", "--server", deadURL}, wantErr: "cannot reach the montool server"},
		{name: "send to a closed server", args: []string{"send", "--key", "k", "--value", "1", "--server", deadURL}, wantErr: "cannot reach the montool server|" + deadURL},
		{name: "dump from a server URL without a scheme", args: []string{"dump", "c1", "--server", "localhost"}, wantErr: `"localhost"|http://`},
		{name: "send to a server URL with another scheme", args: []string{"send", "--key", "k", "--value", "1", "--server", "ftp://127.0.0.1"}, wantErr: `"ftp://127.0.0.1"|http://`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			stdout, _, err := execute(t, runners{}, tt.args...)
			checkErr(t, err, tt.wantErr)
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans more than one line: %q", err)
			}
			if stdout != "" {
				t.Errorf("printed %q on a failure, want nothing", stdout)
			}
		})
	}
}

// agentsRun is what `montool agents` printed, read back.
type agentsRun struct {
	started []string                  // client ids, in order
	rows    map[string]map[string]int // client id (or "total") → column → count
}

var startedRE = regexp.MustCompile(`(?m)^agent (\d+) started: client_id (\S+)$`)

// parseAgents reads the started lines and the summary table of the output
// of `montool agents`.
func parseAgents(t *testing.T, out string) agentsRun {
	t.Helper()
	var r agentsRun
	for i, m := range startedRE.FindAllStringSubmatch(out, -1) {
		if m[1] != strconv.Itoa(i+1) {
			t.Errorf("started line %d numbers the agent %s", i+1, m[1])
		}
		r.started = append(r.started, m[2])
	}
	cols := []string{"SENT", "ACCEPTED", "DUPLICATES", "REJECTED", "ERRORS", "RETRIES"}
	r.rows = map[string]map[string]int{}
	inTable := false
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] == "AGENT":
			want := append([]string{"AGENT", "CLIENT_ID"}, cols...)
			if !reflect.DeepEqual(f, want) {
				t.Errorf("summary header = %q, want %q", f, want)
			}
			inTable = true
		case inTable && len(f) == 8: // an agent's row
			r.rows[f[1]] = parseCounts(t, cols, f[2:])
		case inTable && len(f) == 7 && f[0] == "total": // the total row has no client id
			r.rows["total"] = parseCounts(t, cols, f[1:])
		case inTable && len(f) > 0:
			t.Errorf("unexpected summary row %q", line)
		}
	}
	return r
}

func parseCounts(t *testing.T, cols, fields []string) map[string]int {
	t.Helper()
	m := make(map[string]int, len(cols))
	for i, c := range cols {
		n, err := strconv.Atoi(fields[i])
		if err != nil {
			t.Errorf("column %s: %q is not a count", c, fields[i])
		}
		m[c] = n
	}
	return m
}

// eventCount returns how many events a dump holds, over every key.
func eventCount(d *event.Dump) int64 {
	var n int64
	for _, s := range d.Series {
		if s.Type == event.Cumulative {
			n += s.Count
		} else {
			n += int64(len(s.Samples))
		}
	}
	return n
}

func TestAgentsAgainstServer(t *testing.T) {
	isolate(t)
	url, st := newTestServer(t)
	stdout, _, err := execute(t, runners{}, "agents", "--server", url, "--count", "3", "--rate", "20", "--duration", "500ms")
	if err != nil {
		t.Fatalf("agents: %v\n%s", err, stdout)
	}
	if n := strings.Count(stdout, "client_id"); n != 3 {
		t.Errorf("got %d lines with a client_id, want 3:\n%s", n, stdout)
	}
	run := parseAgents(t, stdout)
	if len(run.started) != 3 {
		t.Fatalf("got %d started agents, want 3:\n%s", len(run.started), stdout)
	}
	if len(run.rows) != 4 {
		t.Errorf("summary has %d rows, want 3 agents and a total:\n%s", len(run.rows), stdout)
	}
	sum := map[string]int{}
	seen := map[string]bool{}
	for _, id := range run.started {
		if !uuidRE.MatchString(id) {
			t.Errorf("client id %q is not a lower-case UUID", id)
		}
		if seen[id] {
			t.Errorf("client id %q used by two agents", id)
		}
		seen[id] = true
		row, ok := run.rows[id]
		if !ok {
			t.Errorf("no summary row for %s:\n%s", id, stdout)
			continue
		}
		for c, n := range row {
			sum[c] += n
		}
		if row["ACCEPTED"] < 1 {
			t.Errorf("agent %s had no event accepted:\n%s", id, stdout)
		}
		d, err := st.Dump(context.Background(), id)
		if err != nil {
			t.Errorf("the server holds no data for %s: %v", id, err)
			continue
		}
		if got := eventCount(d); got != int64(row["ACCEPTED"]) {
			t.Errorf("the server holds %d events of %s, the summary says %d were accepted", got, id, row["ACCEPTED"])
		}
	}
	if total, ok := run.rows["total"]; !ok {
		t.Errorf("no total row:\n%s", stdout)
	} else if !reflect.DeepEqual(total, sum) {
		t.Errorf("total row = %v, want the sum of the agents' rows %v", total, sum)
	}
}

func TestAgentsAgainstClosedServer(t *testing.T) {
	isolate(t)
	url := closedServerURL(t)
	start := time.Now()
	stdout, _, err := execute(t, runners{}, "agents", "--server", url, "--count", "2", "--rate", "10", "--duration", "3s")
	elapsed := time.Since(start)
	checkErr(t, err, "cannot reach the montool server|"+url)
	if elapsed > 2*time.Second {
		t.Errorf("agents took %s to give up on a closed server, want under 2s", elapsed)
	}
	if strings.Contains(stdout, "started") {
		t.Errorf("agents started against a closed server:\n%s", stdout)
	}
}

// TestAgentsRunUntilCancelled checks that --duration 0 runs until the
// context ends (Ctrl-C), then prints the summary and returns nil.
func TestAgentsRunUntilCancelled(t *testing.T) {
	isolate(t)
	url, _ := newTestServer(t)
	out := outputtest.New()
	cmd := newRootCmd(runners{})
	cmd.SetArgs([]string{"agents", "--server", url, "--count", "2", "--rate", "50"})
	cmd.SetOut(out)
	cmd.SetErr(outputtest.New())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	out.WaitFor(t, regexp.MustCompile(`agent 2 started`), 10*time.Second, nil)
	select {
	case err := <-done:
		t.Fatalf("agents returned %v before the context ended", err)
	default:
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("agents returned %v after Ctrl-C, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agents still running 10s after the context ended")
	}
	if run := parseAgents(t, out.String()); len(run.rows) != 3 {
		t.Errorf("summary has %d rows, want 2 agents and a total:\n%s", len(run.rows), out.String())
	}
}

// TestAgentsIdentities runs two agents from an identities file, each with
// its own client id and token, against a server whose tokens grant each
// only its own client: both get their events in, and an agent whose token
// grants another client gets none in.
func TestAgentsIdentities(t *testing.T) {
	isolate(t)
	secrets := []string{auth.NewSecret(), auth.NewSecret(), auth.NewSecret()}
	tokens, err := auth.NewSet([]auth.Token{
		{Name: "a", Hash: auth.Hash(secrets[0]), Role: auth.RoleIngest, Clients: []string{"web-01"}},
		{Name: "b", Hash: auth.Hash(secrets[1]), Role: auth.RoleIngest, Clients: []string{"web-02"}},
		{Name: "c", Hash: auth.Hash(secrets[2]), Role: auth.RoleIngest, Clients: []string{"db-*"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.Tokens = tokens
	st := storetest.NewMemory(t, store.Policy{})
	srv, err := server.New(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	file := filepath.Join(t.TempDir(), "agents")
	// web-03 has token c, which grants db-* only.
	content := fmt.Sprintf("# id token\nweb-01 %s\nweb-02 %s\n\nweb-03 %s\n", secrets[0], secrets[1], secrets[2])
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := execute(t, runners{}, "agents", "--server", ts.URL, "--identities", file, "--rate", "20", "--duration", "500ms")
	// web-03 had nothing accepted, which fails the run, with the reason.
	checkErr(t, err, "agent 3 had none of its events accepted|forbidden")
	if !strings.Contains(stdout, "rejected (forbidden): ") {
		t.Errorf("no reason for web-03's rejections:\n%s", stdout)
	}
	for _, id := range []string{"web-01", "web-02"} {
		d, err := st.Dump(context.Background(), id)
		if err != nil || eventCount(d) == 0 {
			t.Errorf("the server holds no events of %s (%v):\n%s", id, err, stdout)
		}
	}
	if _, err := st.Dump(context.Background(), "web-03"); err == nil {
		t.Errorf("the server holds events of web-03, whose token does not grant it:\n%s", stdout)
	}
	if strings.Contains(stdout, secrets[0]) || strings.Contains(stdout, secrets[2]) {
		t.Errorf("agents printed a token:\n%s", stdout)
	}
}

// TestAgentsEscapeClientIDs runs an agent whose client id holds a format
// character, which ids may hold: its lines and the summary show it quoted.
func TestAgentsEscapeClientIDs(t *testing.T) {
	isolate(t)
	url, st := newTestServer(t)
	const id = "web\u202e10-bew"
	file := filepath.Join(t.TempDir(), "agents")
	if err := os.WriteFile(file, []byte(id+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := execute(t, runners{}, "agents", "--server", url, "--identities", file, "--rate", "20", "--duration", "300ms")
	if err != nil {
		t.Fatalf("agents: %v\n%s", err, stdout)
	}
	if _, err := st.Dump(context.Background(), id); err != nil {
		t.Errorf("the server holds no events of %q (%v):\n%s", id, err, stdout)
	}
	checkShowsNoControls(t, stdout)
	r := parseAgents(t, stdout)
	if want := []string{`"web\u202e10-bew"`}; !reflect.DeepEqual(r.started, want) {
		t.Errorf("started lines name %q, want %q:\n%s", r.started, want, stdout)
	}
	if _, ok := r.rows[`"web\u202e10-bew"`]; !ok {
		t.Errorf("the summary has no row for the quoted id:\n%s", stdout)
	}
}

// TestDumpQuery checks that dump's --key, --from, --to and --limit reach
// the server, and the ndjson and csv outputs.
func TestDumpQuery(t *testing.T) {
	isolate(t)
	url, st := newTestServer(t)
	var events []event.Event
	for i := range 5 {
		events = append(events, event.Event{ClientID: "web-01", ID: fmt.Sprintf("c%d", i), Timestamp: event.Timestamp(1763850000+60*int64(i)) * 1_000_000_000,
			Type: event.TimeSeries, Key: "cpu", Value: float64(i)})
	}
	events = append(events, event.Event{ClientID: "web-01", ID: "r1", Timestamp: 1763850000_000_000_000, Type: event.Cumulative, Key: "requests", Value: 3})
	if _, err := st.Apply(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string // the ids, or "requests" for the total, in order
	}{
		{"limit", []string{"--key", "cpu", "--limit", "2"}, []string{"c3", "c4"}},
		{"range", []string{"--key", "cpu", "--from", "1763850060", "--to", "1763850120000"}, []string{"c1", "c2"}},
		{"all keys", []string{"--limit", "1"}, []string{"c4", "requests"}},
	}
	for _, tt := range tests {
		for _, format := range []string{"ndjson", "csv"} {
			t.Run(tt.name+" "+format, func(t *testing.T) {
				stdout, _, err := execute(t, runners{}, append([]string{"dump", "--server", url, "web-01", "-o", format}, tt.args...)...)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				lines := strings.Split(strings.TrimSpace(stdout), "\n")
				if format == "csv" {
					lines = lines[1:] // the header
				}
				for _, l := range lines {
					switch {
					case strings.Contains(l, "CUMULATIVE"):
						got = append(got, "requests")
					case format == "csv":
						got = append(got, strings.Split(l, ",")[3])
					default:
						var e struct {
							ID string `json:"event_id"`
						}
						if err := json.Unmarshal([]byte(l), &e); err != nil {
							t.Fatalf("line %q: %v", l, err)
						}
						got = append(got, e.ID)
					}
				}
				if strings.Join(got, " ") != strings.Join(tt.want, " ") {
					t.Errorf("dump %v -o %s gave %v, want %v:\n%s", tt.args, format, got, tt.want, stdout)
				}
			})
		}
	}
}

// TestDumpWatch runs dump --watch until its context ends: the table comes
// again every interval, then the command ends without an error, on a new
// line.
func TestDumpWatch(t *testing.T) {
	isolate(t)
	url, st := newTestServer(t)
	seed(t, st)
	cmd := newRootCmd(runners{})
	var out strings.Builder
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"dump", "c1", "-o", "table", "--watch", "--interval", "100ms", "--server", url})
	ctx, cancel := context.WithTimeout(context.Background(), 450*time.Millisecond)
	defer cancel()
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatalf("dump --watch: %v", err)
	}
	if n := strings.Count(out.String(), "client c1"); n < 2 {
		t.Errorf("dump --watch showed the table %d times in 450ms at 100ms, want several:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), "(every 100ms, Ctrl-C to stop;") {
		t.Errorf("no footer in:\n%s", out.String())
	}
	// Once stopped (Ctrl-C), the output ends on a line of its own, so that
	// the shell's prompt does not land after the ^C the terminal shows.
	if !strings.HasSuffix(out.String(), ")\n\n") {
		t.Errorf("dump --watch ended with %q, want the footer and a newline", out.String()[max(0, out.Len()-40):])
	}
}
