package cmd

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/montool/montool/internal/event"
)

func TestClientsCommand(t *testing.T) {
	isolate(t)
	url, st := newTestServer(t)
	for _, c := range []string{"web-02", "web-01", "db-1"} {
		if _, err := st.Apply(context.Background(), []event.Event{{ClientID: c, ID: "e1", Timestamp: 1, Type: event.Cumulative, Key: "k", Value: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	stdout, _, err := execute(t, runners{}, "clients", "--server", url)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"CLIENT_ID", "EVENTS"}, {"db-1", "1"}, {"web-01", "1"}, {"web-02", "1"}, {"3", "clients,", "3", "events"}}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("clients printed %q, want %d lines", stdout, len(want))
	}
	for i, w := range want {
		if got := strings.Fields(lines[i]); strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("line %d = %q, want the fields %q", i, lines[i], w)
		}
	}
	if strings.Index(lines[0], "EVENTS") != strings.LastIndex(lines[1], "1") {
		t.Errorf("columns not aligned:\n%s", stdout)
	}

	stdout, _, err = execute(t, runners{}, "clients", "--server", url, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Clients []event.ClientInfo `json:"clients"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || len(got.Clients) != 3 || got.Clients[0].ClientID != "db-1" {
		t.Errorf("clients -o json printed %q (%v), want the 3 clients in order", stdout, err)
	}
}

func TestClientsCommandErrors(t *testing.T) {
	isolate(t)
	for _, tt := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"bad output", []string{"clients", "-o", "xml"}, `-o "xml": must be table or json`},
		{"no server", []string{"clients", "--server", closedServerURL(t)}, "cannot reach the montool server"},
		{"an argument", []string{"clients", "web-01"}, `takes no arguments, got "web-01"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := execute(t, runners{}, tt.args...)
			checkErr(t, err, tt.wantErr)
		})
	}
}

// TestClientsTableEscapesIDs lists clients whose ids a terminal would act
// on: held from before ids had to be free of control characters, or with
// format characters ids may hold. The table shows them quoted, with escapes.
func TestClientsTableEscapesIDs(t *testing.T) {
	isolate(t)
	url, st := newTestServer(t)
	for _, c := range []string{"web-01", "web\x1b[31m-02", "\x1b]0;owned\x07", "db\u009b2J", "rtl\u202e10-bew", "tab\there", `"quoted"`} {
		if _, err := st.Apply(context.Background(), []event.Event{{ClientID: c, ID: "e1", Timestamp: 1, Type: event.Cumulative, Key: "k", Value: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	stdout, _, err := execute(t, runners{}, "clients", "--server", url)
	if err != nil {
		t.Fatal(err)
	}
	checkShowsNoControls(t, stdout)
	for _, want := range []string{"\nweb-01 ", `"web\x1b[31m-02"`, `"\x1b]0;owned\a"`, `"db\u009b2J"`, `"rtl\u202e10-bew"`, `"tab\there"`, `"\"quoted\""`, "7 clients, 7 events"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("clients printed no %s:\n%s", want, stdout)
		}
	}
	// The quoted ids take their width in the columns.
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	col := strings.Index(lines[0], "EVENTS")
	for _, l := range lines[1 : len(lines)-1] {
		if col >= len(l) || l[col] != '1' {
			t.Errorf("the count of %q is not under EVENTS:\n%s", l, stdout)
		}
	}
}

// TestClientsCountsInWords: the last line of the table says one client and
// one event in the singular.
func TestClientsCountsInWords(t *testing.T) {
	isolate(t)
	url, st := newTestServer(t)
	if _, err := st.Apply(context.Background(), []event.Event{{ClientID: "web-01", ID: "e1", Timestamp: 1, Type: event.Cumulative, Key: "k", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := execute(t, runners{}, "clients", "--server", url)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(stdout, "\n1 client, 1 event\n") {
		t.Errorf("clients printed %q, want it to end with \"1 client, 1 event\"", stdout)
	}
}
