package cmd

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/loadgen"
	"github.com/montool/montool/internal/wal"
)

// captureBench returns runners that record the options bench resolves to
// instead of running it.
func captureBench(got **benchOptions, calls *int) runners {
	return runners{bench: func(_ context.Context, o *benchOptions) error {
		*got = o
		*calls++
		return nil
	}}
}

func TestBenchFlags(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		env          map[string]string
		want         func(o *benchOptions) // changes the defaults into what is wanted
		wantErr      string                // "|"-separated parts of the error; "" for none
		wantNoRunner bool
	}{
		{name: "defaults", args: []string{"bench"}, want: func(*benchOptions) {}},
		{name: "in-process", args: []string{"bench", "--in-process"}, want: func(o *benchOptions) { o.InProcess = true }},
		{name: "server", args: []string{"bench", "--server", "http://127.0.0.1:9999"}, want: func(o *benchOptions) { o.Server = "http://127.0.0.1:9999" }},
		{name: "server from the environment", args: []string{"bench"}, env: map[string]string{"MONTOOL_SERVER": "http://localhost:7070"},
			want: func(o *benchOptions) { o.Server = "http://localhost:7070" }},
		{name: "clients", args: []string{"bench", "--clients", "10"}, want: func(o *benchOptions) { o.Load.Clients = 10 }},
		{name: "keys", args: []string{"bench", "--keys=3"}, want: func(o *benchOptions) { o.Load.Keys = 3 }},
		{name: "batch 1 brings 32 connections", args: []string{"bench", "--batch", "1"}, want: func(o *benchOptions) { o.Load.Batch, o.Load.Connections = 1, 32 }},
		{name: "batch 500 keeps 4 connections", args: []string{"bench", "--batch", "500"}, want: func(o *benchOptions) { o.Load.Batch = 500 }},
		{name: "connections", args: []string{"bench", "--connections", "16"}, want: func(o *benchOptions) { o.Load.Connections = 16 }},
		{name: "batch 1 with connections set", args: []string{"bench", "--batch", "1", "--connections", "8"}, want: func(o *benchOptions) { o.Load.Batch, o.Load.Connections = 1, 8 }},
		{name: "cumulative", args: []string{"bench", "--cumulative", "0.5"}, want: func(o *benchOptions) { o.Load.Cumulative = 0.5 }},
		{name: "duration", args: []string{"bench", "--duration", "2m"}, want: func(o *benchOptions) { o.Load.Duration = 2 * time.Minute }},
		{name: "events", args: []string{"bench", "--events", "5000"}, want: func(o *benchOptions) { o.Load.Events = 5000 }},
		{name: "events without a time limit", args: []string{"bench", "--events", "5000", "--duration", "0"}, want: func(o *benchOptions) { o.Load.Events, o.Load.Duration = 5000, 0 }},
		{name: "duplicates", args: []string{"bench", "--duplicates", "0.25"}, want: func(o *benchOptions) { o.Load.Duplicates = 0.25 }},
		{name: "format ndjson in any case", args: []string{"bench", "--format", "NDJSON"}, want: func(o *benchOptions) { o.Load.Format = loadgen.NDJSON }},
		{name: "gzip", args: []string{"bench", "--gzip"}, want: func(o *benchOptions) { o.Load.Gzip = true }},
		{name: "compare-floor", args: []string{"bench", "--compare-floor"}, want: func(o *benchOptions) { o.Floor = true }},
		{name: "rounds", args: []string{"bench", "--rounds", "5"}, want: func(o *benchOptions) { o.Rounds = 5 }},
		{name: "rate", args: []string{"bench", "--rate", "15000"}, want: func(o *benchOptions) { o.Load.Rate = 15000 }},
		{name: "a fraction of a request a second", args: []string{"bench", "--rate=0.5"}, want: func(o *benchOptions) { o.Load.Rate = 0.5 }},
		{name: "rate 0 is as fast as possible", args: []string{"bench", "--rate", "0"}, want: func(*benchOptions) {}},
		{name: "preload", args: []string{"bench", "--preload", "10000000"}, want: func(o *benchOptions) { o.Load.Preload = 10_000_000 }},
		{name: "preload with the floor", args: []string{"bench", "--preload=5", "--compare-floor"}, want: func(o *benchOptions) { o.Load.Preload, o.Floor = 5, true }},
		{name: "compare-durable", args: []string{"bench", "--in-process", "--compare-durable"}, want: func(o *benchOptions) { o.InProcess, o.Durable = true, true }},
		{name: "compare-durable with its data dir and fsync", args: []string{"bench", "--in-process", "--compare-durable", "--data-dir", "/var/tmp", "--fsync", "never"},
			want: func(o *benchOptions) {
				o.InProcess, o.Durable, o.DataDir, o.Fsync, o.Sync = true, true, "/var/tmp", "never", wal.SyncNever
			}},
		{name: "every flag at once",
			args: []string{"bench", "--in-process", "--clients=7", "--keys=2", "--batch=50", "--connections=3", "--cumulative=0", "--duration=1s",
				"--events=100", "--duplicates=0.5", "--format=json", "--gzip", "--compare-floor", "--rounds=1", "--rate=20", "--preload=1000"},
			want: func(o *benchOptions) {
				o.InProcess, o.Floor, o.Rounds = true, true, 1
				o.Load.Clients, o.Load.Keys, o.Load.Batch, o.Load.Connections, o.Load.Cumulative = 7, 2, 50, 3, 0
				o.Load.Duration, o.Load.Events, o.Load.Duplicates, o.Load.Gzip = time.Second, 100, 0.5, true
				o.Load.Rate, o.Load.Preload = 20, 1000
			}},

		{name: "batch 0", args: []string{"bench", "--batch", "0"}, wantErr: "--batch 0: must be between 1 and"},
		{name: "batch not a number", args: []string{"bench", "--batch", "many"}, wantErr: `"many"|--batch`},
		{name: "duplicates 1.5", args: []string{"bench", "--duplicates", "1.5"}, wantErr: "--duplicates 1.5: must be a fraction"},
		{name: "duplicates 1", args: []string{"bench", "--duplicates", "1"}, wantErr: "--duplicates 1: must be a fraction of at least 0 and less than 1"},
		{name: "connections 0", args: []string{"bench", "--connections", "0"}, wantErr: "--connections 0: must be between 1 and 1024"},
		{name: "connections 0 with batch 1", args: []string{"bench", "--batch", "1", "--connections", "0"}, wantErr: "--connections 0"},
		{name: "format xml", args: []string{"bench", "--format", "xml"}, wantErr: `--format "xml": must be json or ndjson`},
		{name: "clients 0", args: []string{"bench", "--clients", "0"}, wantErr: "--clients 0"},
		{name: "keys negative", args: []string{"bench", "--keys", "-2"}, wantErr: "--keys -2"},
		{name: "cumulative 2", args: []string{"bench", "--cumulative", "2"}, wantErr: "--cumulative 2: must be a fraction between 0 and 1"},
		{name: "negative duration", args: []string{"bench", "--duration", "-1s"}, wantErr: "--duration -1s: must not be negative"},
		{name: "duration without a unit", args: []string{"bench", "--duration", "10"}, wantErr: `"10"|--duration`},
		{name: "no end at all", args: []string{"bench", "--duration", "0"}, wantErr: "--duration 0: a run needs an end"},
		{name: "negative events", args: []string{"bench", "--events", "-5"}, wantErr: "--events -5"},
		{name: "rounds 0", args: []string{"bench", "--rounds", "0"}, wantErr: "--rounds 0: must be between 1 and 100"},
		{name: "server and in-process", args: []string{"bench", "--in-process", "--server", "http://127.0.0.1:1"}, wantErr: "--server and --in-process exclude each other"},
		{name: "negative rate", args: []string{"bench", "--rate", "-1"}, wantErr: "--rate -1: must be a number of requests per second from 0"},
		{name: "rate too high", args: []string{"bench", "--rate", "2e7"}, wantErr: "--rate 2e+07: must be a number of requests per second from 0 (as fast as the server answers) to 10000000"},
		{name: "rate not a number", args: []string{"bench", "--rate", "fast"}, wantErr: `"fast"|--rate`},
		{name: "rate NaN", args: []string{"bench", "--rate", "NaN"}, wantErr: "--rate NaN: must be a number"},
		{name: "negative preload", args: []string{"bench", "--preload", "-10"}, wantErr: "--preload -10: must not be negative"},
		{name: "preload not a whole number", args: []string{"bench", "--preload", "1e6"}, wantErr: `"1e6"|--preload`},
		{name: "compare-durable without in-process", args: []string{"bench", "--compare-durable"}, wantErr: "--compare-durable needs --in-process"},
		{name: "fsync sometimes", args: []string{"bench", "--in-process", "--compare-durable", "--fsync", "sometimes"}, wantErr: `fsync mode "sometimes": want always, interval or never`},
		{name: "unknown flag", args: []string{"bench", "--speed", "5"}, wantErr: "unknown flag --speed|montool bench --help"},
		{name: "unexpected argument", args: []string{"bench", "now"}, wantErr: `takes no arguments, got "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var got *benchOptions
			calls := 0
			_, _, err := execute(t, captureBench(&got, &calls), tt.args...)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				if calls != 0 {
					t.Errorf("bench ran %d times after a bad command line, want 0", calls)
				}
				return
			}
			if got == nil {
				t.Fatal("bench did not run")
			}
			want := &benchOptions{Bench: loadgen.Bench{Server: defaultServer, Rounds: 3, Load: loadgen.DefaultConfig(), DataDir: os.TempDir()}, Fsync: "always"}
			tt.want(want)
			if got.Out == nil {
				t.Error("Out is nil")
			}
			if got.Progress != nil {
				t.Error("Progress is on, but standard error is not a terminal")
			}
			got.Out = nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("options\n got %+v\nwant %+v", *got, *want)
			}
		})
	}
}

// ratioLine is the last line of a comparison: montool/floor and the ratios
// of events/s and requests/s.
var ratioLine = regexp.MustCompile(`(?m)^montool/floor +(\d+\.\d\d) +(\d+\.\d\d) `)

func TestBenchInProcessAgainstTheFloor(t *testing.T) {
	isolate(t)
	stdout, _, err := execute(t, runners{}, "bench", "--in-process", "--events", "2000", "--batch", "100", "--compare-floor", "--rounds", "1")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stdout)
	}
	t.Logf("output:\n%s", stdout)
	m := ratioLine.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatal("no montool/floor ratio line")
	}
	if m[1] == "0.00" || m[1] != m[2] {
		t.Errorf("ratios %s (events/s) and %s (requests/s): want equal and not zero, as every request holds 100 events", m[1], m[2])
	}
	for _, re := range []string{
		`(?m)^montool bench: 100 clients × 5 keys \(1 CUMULATIVE, 20% of the events\), batch 100, json, 4 connections, 2,000 events or 10s per round, 1 round$`,
		`(?m)^montool: in-process`,
		`(?m)^floor: +bare net/http server on 127\.0\.0\.1 that decodes each body with encoding/json`,
		`(?m)^ROUND +TARGET +EVENTS +REQUESTS +SECONDS +EVENTS/S +REQUESTS/S +CPU/EVENT +STOPPED BY$`,
		`(?m)^1 +montool +2,000 +20 +\d+\.\d{3} +[\d,.]+ +[\d,.]+ +(\S+µs|-) +events$`,
		`(?m)^1 +floor +2,000 +20 +`,
		`(?m)^1 +montool +\S+ +\S+ +\S+ +\S+ +202×20 +0 +2,000 +0 +0$`,
		`(?m)^1 +2,000 +[\d.]+ MiB +[\d.]+ MiB`, // the memory table: 2,000 events stored
		`(?m)^request bodies: 20 templates of 100 events made before the clock started \(in \S+ at most\), their event ids, client ids and timestamps patched in place by the senders: no template was used twice, so none was patched$`,
		`(?m)^medians of 1 round$`,
	} {
		if !regexp.MustCompile(re).MatchString(stdout) {
			t.Errorf("output does not match %s", re)
		}
	}
}

func TestBenchAgainstAServer(t *testing.T) {
	isolate(t)
	url, st := newTestServer(t)
	stdout, _, err := execute(t, runners{}, "bench", "--server", url, "--events", "600", "--batch", "1", "--connections", "3", "--duplicates", "0.5", "--rounds", "2")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stdout)
	}
	clients, err := st.Clients(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var stored int64
	for _, c := range clients {
		stored += c.Events
	}
	if stored != 600 { // two rounds of 300 new events and 300 repeats
		t.Errorf("the server holds %d events, want 600\n%s", stored, stdout)
	}
	for _, re := range []string{
		`(?m)^montool: ` + regexp.QuoteMeta(url) + `$`,
		`(?m)^1 +montool +\S+ +\S+ +\S+ +\S+ +200×300 202×300 +0 +300 +300 +0$`,
		`(?m)^2 +300 +`,
		`(?m)^medians of 2 rounds$`,
	} {
		if !regexp.MustCompile(re).MatchString(stdout) {
			t.Errorf("output does not match %s\n%s", re, stdout)
		}
	}
	if strings.Contains(stdout, "montool/floor") {
		t.Error("a ratio line without a floor")
	}
}

func TestBenchCannotReachTheServer(t *testing.T) {
	isolate(t)
	_, _, err := execute(t, runners{}, "bench", "--server", closedServerURL(t), "--events", "10")
	checkErr(t, err, "cannot reach the montool server at http://127.0.0.1:")
	_, _, err = execute(t, runners{}, "bench", "--server", "http://192.0.2.1:8080", "--events", "10")
	checkErr(t, err, "on this machine only")
}

func TestBenchPreloadAndRate(t *testing.T) {
	isolate(t)
	url, _ := newTestServer(t)
	stdout, _, err := execute(t, runners{}, "bench", "--server", url, "--events", "40", "--batch", "1", "--connections", "2",
		"--preload", "1500", "--rate", "200", "--rounds", "1")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stdout)
	}
	resp, err := http.Get(url + "/api/v1/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats struct{ Events int64 }
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		t.Fatal(err)
	}
	if stats.Events != 1540 {
		t.Errorf("/api/v1/stats counts %d events, want 1,500 preloaded and 40 sent\n%s", stats.Events, stdout)
	}
	for _, re := range []string{
		`(?m)^montool bench: .*, 40 events or 10s per round, 1 round, 200 requests/s offered, 1,500 events preloaded$`,
		`(?m)^offered load: 200 requests/s on a fixed schedule \(open loop\); LATE counts requests sent more than 1ms after they were due, TAKEN LATE those of them no sender was ready for in time$`,
		`(?m)^ROUND +TARGET +OFFERED +ACHIEVED +LATE +TAKEN LATE +MOST LATE$`,
		`(?m)^1 +montool +200 +\d+\.\d +\d+ +\d+ +\S+$`,
		`(?m)^preload: 1,500 events before the clock of each round, in batches of 1,000, not timed; the floor has no store and is not preloaded$`,
		`(?m)^1 +montool +1,500 +\d+\.\d{3} +[\d,.]+$`,
		`(?m)^1 +40 +`, // the memory table: the round's 40 events stored, not the preload's
	} {
		if !regexp.MustCompile(re).MatchString(stdout) {
			t.Errorf("output does not match %s\n%s", re, stdout)
		}
	}
}
