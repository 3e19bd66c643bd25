package cmd

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/viper"

	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

func TestAgentsBatchFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantBatch int
		wantGzip  bool
		wantErr   string // "|"-separated parts of the error; "" for none
	}{
		{name: "defaults: one event a request, plain", args: nil, wantBatch: 1, wantGzip: false},
		{name: "a batch is gzip", args: []string{"--batch", "10"}, wantBatch: 10, wantGzip: true},
		{name: "gzip turned off", args: []string{"--batch", "10", "--gzip=false"}, wantBatch: 10, wantGzip: false},
		{name: "gzip turned off with 0", args: []string{"--batch=10", "--gzip=0"}, wantBatch: 10, wantGzip: false},
		{name: "gzip asked for one event a request", args: []string{"--gzip"}, wantBatch: 1, wantGzip: true},
		{name: "gzip true", args: []string{"--batch", "1", "--gzip=true"}, wantBatch: 1, wantGzip: true},
		{name: "gzip auto with a batch", args: []string{"--batch", "5", "--gzip=auto"}, wantBatch: 5, wantGzip: true},
		{name: "gzip auto without a batch", args: []string{"--gzip=auto"}, wantBatch: 1, wantGzip: false},
		{name: "gzip before batch", args: []string{"--gzip=false", "--batch", "50"}, wantBatch: 50, wantGzip: false},
		// Out-of-range numbers parse here; runAgents rejects them (see
		// TestAgentsRejectsBadBatch).
		{name: "batch 0 parses", args: []string{"--batch", "0"}, wantBatch: 0, wantGzip: false},
		{name: "batch not a number", args: []string{"--batch", "many"}, wantErr: `"many"|--batch`},
		{name: "batch not an integer", args: []string{"--batch", "2.5"}, wantErr: `"2.5"|--batch`},
		{name: "gzip not a bool", args: []string{"--gzip=maybe"}, wantErr: `"maybe"|--gzip|true, false or auto`},
		{name: "gzip value after a space", args: []string{"--gzip", "false"}, wantErr: `--gzip takes true, false or auto after "="|"false"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			c, err := resolve(t, append([]string{"agents"}, tt.args...)...)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				if c.calls != 0 {
					t.Errorf("agents ran %d times after a bad command line, want 0", c.calls)
				}
				return
			}
			checkBatch(t, c, tt.wantBatch, tt.wantGzip)
		})
	}
}

// checkBatch checks the batch size and gzip the agents resolved to.
func checkBatch(t *testing.T, c *captured, wantBatch int, wantGzip bool) {
	t.Helper()
	if c.agents == nil {
		t.Fatal("agents did not run")
	}
	if got := c.agents.Agents.Batch; got != wantBatch {
		t.Errorf("Batch = %d, want %d", got, wantBatch)
	}
	if got := c.agents.Agents.Gzip; got != wantGzip {
		t.Errorf("Gzip = %v, want %v", got, wantGzip)
	}
}

// TestAgentsBatchConfig checks agents.batch and agents.gzip from the config
// file and the environment, and their precedence: flag > env > file.
func TestAgentsBatchConfig(t *testing.T) {
	tests := []struct {
		name      string
		file      string // the agents section of the config file; "" for no file
		env       map[string]string
		args      []string
		wantBatch int
		wantGzip  bool
		wantErr   string
	}{
		{name: "file batch", file: "batch: 8", wantBatch: 8, wantGzip: true},
		{name: "file batch without gzip", file: "batch: 8\n  gzip: false", wantBatch: 8, wantGzip: false},
		{name: "file gzip without batch", file: "gzip: true", wantBatch: 1, wantGzip: true},
		{name: "file gzip auto", file: "batch: 4\n  gzip: auto", wantBatch: 4, wantGzip: true},
		{name: "env batch", env: map[string]string{"MONTOOL_AGENTS_BATCH": "20"}, wantBatch: 20, wantGzip: true},
		{name: "env batch without gzip", env: map[string]string{"MONTOOL_AGENTS_BATCH": "20", "MONTOOL_AGENTS_GZIP": "false"}, wantBatch: 20, wantGzip: false},
		{name: "env beats file", file: "batch: 8\n  gzip: true", env: map[string]string{"MONTOOL_AGENTS_BATCH": "20", "MONTOOL_AGENTS_GZIP": "false"}, wantBatch: 20, wantGzip: false},
		{
			name: "flags beat env and file", file: "batch: 8", env: map[string]string{"MONTOOL_AGENTS_BATCH": "20", "MONTOOL_AGENTS_GZIP": "false"},
			args: []string{"--batch", "30", "--gzip"}, wantBatch: 30, wantGzip: true,
		},
		{name: "gzip flag off beats a batch in the env", env: map[string]string{"MONTOOL_AGENTS_BATCH": "20"}, args: []string{"--gzip=false"}, wantBatch: 20, wantGzip: false},
		{name: "invalid batch in the env", env: map[string]string{"MONTOOL_AGENTS_BATCH": "lots"}, wantErr: `agents.batch|"lots"`},
		{name: "invalid gzip in the env", env: map[string]string{"MONTOOL_AGENTS_GZIP": "sometimes"}, wantErr: `agents.gzip|"sometimes"|true, false or auto`},
		{name: "invalid gzip in the file", file: "gzip: 7", wantErr: `agents.gzip|"7"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wd := isolate(t)
			args := []string{"agents"}
			if tt.file != "" {
				path := filepath.Join(wd, "batch.yaml")
				if err := os.WriteFile(path, []byte("agents:\n  "+tt.file+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", path)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := resolve(t, append(args, tt.args...)...)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				if c.calls != 0 {
					t.Errorf("agents ran %d times with a bad configuration, want 0", c.calls)
				}
				return
			}
			checkBatch(t, c, tt.wantBatch, tt.wantGzip)
		})
	}
}

// TestAgentsBatchExampleConfig reads the documented example config, whose
// values are said to be the defaults.
func TestAgentsBatchExampleConfig(t *testing.T) {
	example, err := filepath.Abs(filepath.Join("..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	isolate(t)
	c, err := resolve(t, "agents", "--config", example)
	if err != nil {
		t.Fatal(err)
	}
	checkBatch(t, c, 1, false)
	v := viper.New()
	v.SetConfigFile(example)
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"agents.batch", "agents.gzip"} {
		if !v.IsSet(key) {
			t.Errorf("the example config does not set %s", key)
		}
	}
}

// TestAgentsRejectsBadBatch runs the real command: a batch size that parses
// but cannot work is refused before any agent starts.
func TestAgentsRejectsBadBatch(t *testing.T) {
	tests := []struct {
		name    string
		batch   string
		wantErr string
	}{
		{name: "zero", batch: "0", wantErr: "batch must be from 1 to 10000 events per request, not 0"},
		{name: "negative", batch: "-3", wantErr: "batch|not -3"},
		{name: "over the limit", batch: "10001", wantErr: "batch|not 10001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			stdout, _, err := execute(t, runners{}, "agents", "--server", closedServerURL(t), "--duration", "1s", "--batch", tt.batch)
			checkErr(t, err, tt.wantErr)
			if strings.Contains(stdout, "started") {
				t.Errorf("an agent started after a bad batch size:\n%s", stdout)
			}
		})
	}
}

// postCounter counts the POSTs of events that reach next, and what was in
// them.
type postCounter struct {
	next http.Handler

	mu      sync.Mutex
	posts   int      // POSTs of events
	plain   int      // of which not gzip
	events  int      // events in them all
	badBody []string // why each body that could not be read could not
}

func (p *postCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/events" {
		p.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	gz := r.Header.Get("Content-Encoding") == "gzip"
	plain := body
	var bad string
	if gz {
		if zr, err := gzip.NewReader(bytes.NewReader(body)); err != nil {
			bad = "not gzip: " + err.Error()
		} else if plain, err = io.ReadAll(zr); err != nil {
			bad = "broken gzip: " + err.Error()
		}
	}
	var batch []json.RawMessage
	n := 0
	if bad == "" {
		if err := json.Unmarshal(plain, &batch); err == nil {
			n = len(batch)
		} else if json.Valid(plain) {
			n = 1
		} else {
			bad = "not JSON: " + string(plain)
		}
	}
	p.mu.Lock()
	p.posts++
	p.events += n
	if !gz {
		p.plain++
	}
	if bad != "" {
		p.badBody = append(p.badBody, bad)
	}
	p.mu.Unlock()
	p.next.ServeHTTP(w, r)
}

func TestAgentsBatchAgainstServer(t *testing.T) {
	isolate(t)
	st := storetest.NewMemory(t, store.Policy{})
	srv, err := server.New(server.DefaultConfig(), st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	counter := &postCounter{next: srv.Handler()}
	ts := httptest.NewServer(counter)
	t.Cleanup(ts.Close)

	stdout, _, err := execute(t, runners{}, "agents", "--server", ts.URL, "--count", "3", "--rate", "50", "--batch", "10", "--duration", "500ms")
	if err != nil {
		t.Fatalf("agents: %v\n%s", err, stdout)
	}
	run := parseAgents(t, stdout)
	if len(run.started) != 3 {
		t.Fatalf("got %d started agents, want 3:\n%s", len(run.started), stdout)
	}
	for _, id := range run.started {
		row, ok := run.rows[id]
		if !ok {
			t.Errorf("no summary row for %s:\n%s", id, stdout)
			continue
		}
		if row["ACCEPTED"] < 1 || row["ACCEPTED"] != row["SENT"] {
			t.Errorf("agent %s: accepted %d of %d events, want all of them and some:\n%s", id, row["ACCEPTED"], row["SENT"], stdout)
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

	total := run.rows["total"]
	counter.mu.Lock()
	defer counter.mu.Unlock()
	if counter.events != total["SENT"] {
		t.Errorf("the requests held %d events, the agents sent %d", counter.events, total["SENT"])
	}
	if counter.posts >= counter.events {
		t.Errorf("%d requests for %d events, want fewer requests than events", counter.posts, counter.events)
	}
	if counter.plain != 0 || len(counter.badBody) != 0 {
		t.Errorf("of %d requests, %d were not gzip; unreadable bodies: %q", counter.posts, counter.plain, counter.badBody)
	}
}
