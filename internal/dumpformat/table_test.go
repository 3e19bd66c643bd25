package dumpformat_test

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/montool/montool/internal/dumpformat"
	"github.com/montool/montool/internal/event"
)

var update = flag.Bool("update", false, "write the golden files of the tests anew")

// checkGolden compares got with the golden file testdata/name, or writes
// the file anew with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("the output differs from %s (go test -update writes it anew):\n got:\n%s\nwant:\n%s", file, got, want)
	}
}

// TestWriteTable writes a table of every kind of key: a CUMULATIVE total,
// a TIME-SERIES key with more samples than a sparkline draws, one with a
// single sample, one without samples, and a key and a client id that must
// be shown quoted.
func TestWriteTable(t *testing.T) {
	var samples []event.Sample
	for i := range 30 {
		samples = append(samples, event.Sample{ID: "e" + strconv.Itoa(i), Timestamp: event.Timestamp(1763850000+60*int64(i)) * 1e9, Value: float64(i%7) * 12.5})
	}
	d := &event.Dump{ClientID: "web-01", Series: []event.Series{
		{Key: "cpu_usage_percent", Type: event.TimeSeries, Samples: samples},
		{Key: "disk_free_bytes", Type: event.TimeSeries, Samples: []event.Sample{{ID: "d1", Timestamp: 1763850000_500000000, Value: 8589934592}}},
		{Key: "http_requests_total", Type: event.Cumulative, Total: 1514214, Count: 3021, Last: 1763851740_000000000},
		{Key: "latency_ms", Type: event.TimeSeries},
		{Key: "ratio", Type: event.Cumulative, Total: 0.30000000000000004, Count: 3, Last: 1763850001_123000000},
		{Key: "température\u202e", Type: event.Cumulative, Total: -2.5e-7, Count: 1, Last: 0},
	}}
	for _, tc := range []struct {
		name, golden string
		d            *event.Dump
	}{
		{"every kind of key", "table.golden", d},
		{"no keys", "table_empty.golden", &event.Dump{ClientID: "c\x1b[2J"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := dumpformat.WriteTable(&b, tc.d); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.golden, b.String())
		})
	}
}

// TestTableSparklineRange: a sparkline says the range it spans, so that
// ▁█ for 47.4 then 47.5 is not read as a leap.
func TestTableSparklineRange(t *testing.T) {
	d := &event.Dump{ClientID: "c1", Series: []event.Series{
		{Key: "cpu", Type: event.TimeSeries, Samples: []event.Sample{{Timestamp: 1e9, Value: 47.4}, {Timestamp: 2e9, Value: 47.5}}},
		{Key: "flat", Type: event.TimeSeries, Samples: []event.Sample{{Timestamp: 1e9, Value: 3}, {Timestamp: 2e9, Value: 3}}},
	}}
	var b strings.Builder
	if err := dumpformat.WriteTable(&b, d); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"▁█ 47.4–47.5\n", "▁▁ all 3\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table does not end a row with %q:\n%s", want, b.String())
		}
	}
}
