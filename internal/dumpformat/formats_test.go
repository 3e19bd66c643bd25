package dumpformat_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/montool/montool/internal/dumpformat"
	"github.com/montool/montool/internal/event"
)

// sampleList is a Samples over a slice, built by the tests.
type sampleList []event.Sample

func (s sampleList) Len() int              { return len(s) }
func (s sampleList) At(i int) event.Sample { return s[i] }

// sec returns the timestamp n seconds after the epoch.
func sec(n int64) event.Timestamp { return event.Timestamp(n * 1e9) }

// queryView returns a fresh view with two TIME-SERIES keys, one with a tie
// at 200s, and a CUMULATIVE key:
//
//	cpu:      a@100 b@200 c@200 d@300 e@400
//	mem:      m1@150 m2@250
//	requests: total 7.5 of 3 events, latest at 350
func queryView() *event.View {
	return &event.View{
		ClientID: "agent-1",
		Series: []event.SeriesView{
			{Key: "cpu", Type: event.TimeSeries, Samples: sampleList{
				{ID: "a", Timestamp: sec(100), Value: 1},
				{ID: "b", Timestamp: sec(200), Value: 2},
				{ID: "c", Timestamp: sec(200), Value: 3},
				{ID: "d", Timestamp: sec(300), Value: 4},
				{ID: "e", Timestamp: sec(400), Value: 5},
			}},
			{Key: "mem", Type: event.TimeSeries, Samples: sampleList{
				{ID: "m1", Timestamp: sec(150), Value: 10},
				{ID: "m2", Timestamp: sec(250), Value: 20},
			}},
			{Key: "requests", Type: event.Cumulative, Total: 7.5, Count: 3, Last: sec(350)},
		},
	}
}

// decodeLine decodes one JSON object, numbers as written.
func decodeLine(t *testing.T, line string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("line %q is not a JSON object: %v", line, err)
	}
	if dec.More() {
		t.Fatalf("line %q holds more than one JSON value", line)
	}
	return m
}

// jsonNum is the JSON number AppendFloat writes for f.
func jsonNum(f float64) json.Number { return json.Number(event.AppendFloat(nil, f)) }

// totalObject is the object of a CUMULATIVE total, as decodeLine returns it.
func totalObject(client string, s event.SeriesView) map[string]any {
	return map[string]any{
		"client_id":       client,
		"event_type":      "CUMULATIVE",
		"event_key":       s.Key,
		"event_value":     jsonNum(s.Total),
		"event_count":     json.Number(strconv.FormatInt(s.Count, 10)),
		"event_timestamp": json.Number(s.Last.String()),
	}
}

// sampleObject is the object of a TIME-SERIES event, as decodeLine returns it.
func sampleObject(client, key string, smp event.Sample) map[string]any {
	return map[string]any{
		"client_id":       client,
		"event_id":        smp.ID,
		"event_timestamp": json.Number(smp.Timestamp.String()),
		"event_type":      "TIME-SERIES",
		"event_key":       key,
		"event_value":     jsonNum(smp.Value),
	}
}

// mixedView has CUMULATIVE keys before, between and after TIME-SERIES keys,
// and strings that need escaping.
func mixedView() *event.View {
	return &event.View{
		ClientID: `rack "7", unit 2`,
		Series: []event.SeriesView{
			{Key: "bytes", Type: event.Cumulative, Total: 1e21, Count: 2, Last: 1763850001_123000000},
			{Key: "cpu", Type: event.TimeSeries, Samples: sampleList{
				{ID: "id,with,commas", Timestamp: 1763850000_000000000, Value: 0.1},
				{ID: "two\nlines", Timestamp: 1763850001_000000001, Value: 1e-7},
				{ID: `say "hi"`, Timestamp: 1763850001_123000000, Value: -0.5},
			}},
			{Key: "disk \"sda\"", Type: event.Cumulative, Total: 0.30000000000000004, Count: 3, Last: 1763850002_500000000},
			{Key: "mem", Type: event.TimeSeries, Samples: sampleList{
				{ID: " leading space", Timestamp: 1763850003_000000000, Value: 123456789.125},
			}},
			{Key: "zeta", Type: event.Cumulative, Total: -2, Count: 1, Last: 1763850004_000000000},
		},
	}
}

// wantObjects returns the objects WriteNDJSON should write for v, in order.
func wantObjects(v *event.View) []map[string]any {
	var want []map[string]any
	for _, s := range v.Series {
		if s.Type == event.Cumulative {
			want = append(want, totalObject(v.ClientID, s))
			continue
		}
		for i := range s.Samples.Len() {
			want = append(want, sampleObject(v.ClientID, s.Key, s.Samples.At(i)))
		}
	}
	return want
}

func TestWriteNDJSON(t *testing.T) {
	narrowed := mixedView()
	narrowed.Narrow(event.Query{Keys: []string{"cpu", "zeta"}, From: 1763850001_000000000, HasFrom: true})
	tests := []struct {
		name      string
		view      *event.View
		wantLines int
	}{
		{"every key type", mixedView(), 1 + 3 + 1 + 1 + 1},
		{"narrowed", narrowed, 2 + 1},
		{"one TIME-SERIES key", &event.View{ClientID: "c", Series: []event.SeriesView{queryView().Series[0]}}, 5},
		{"one CUMULATIVE key", &event.View{ClientID: "c", Series: []event.SeriesView{queryView().Series[2]}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := dumpformat.WriteNDJSON(&buf, tt.view); err != nil {
				t.Fatalf("WriteNDJSON: %v", err)
			}
			out := buf.String()
			if !strings.HasSuffix(out, "\n") {
				t.Fatalf("output %q does not end in a newline", out)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != tt.wantLines {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), tt.wantLines, out)
			}
			want := wantObjects(tt.view)
			if len(want) != tt.wantLines {
				t.Fatalf("test view has %d events, want %d", len(want), tt.wantLines)
			}
			for i, line := range lines {
				if got := decodeLine(t, line); !maps.Equal(got, want[i]) {
					t.Errorf("line %d = %v, want %v", i+1, got, want[i])
				}
			}
		})
	}
}

// TestWriteNDJSONLiterals checks the text of a few values and timestamps
// against their literal JSON form.
func TestWriteNDJSONLiterals(t *testing.T) {
	var buf bytes.Buffer
	if err := dumpformat.WriteNDJSON(&buf, mixedView()); err != nil {
		t.Fatalf("WriteNDJSON: %v", err)
	}
	lines := strings.Split(buf.String(), "\n")
	for _, tt := range []struct {
		line int
		want string
	}{
		{0, `"event_value":1e+21,"event_count":2,"event_timestamp":1763850001.123}`},
		{1, `"event_id":"id,with,commas","event_timestamp":1763850000,`},
		{1, `"event_value":0.1}`},
		{2, `"event_id":"two\nlines","event_timestamp":1763850001.000000001,`},
		{2, `"event_value":1e-7}`},
		{3, `"event_id":"say \"hi\"","event_timestamp":1763850001.123,`},
	} {
		if tt.line >= len(lines) || !strings.Contains(lines[tt.line], tt.want) {
			t.Errorf("line %d does not hold %s:\n%s", tt.line+1, tt.want, buf.String())
		}
	}
}

func TestWriteEmptyView(t *testing.T) {
	emptied := queryView()
	emptied.Narrow(event.Query{Keys: []string{"cpu", "mem"}, From: sec(1000), HasFrom: true})
	for _, tt := range []struct {
		name string
		view *event.View
	}{
		{"no series", &event.View{ClientID: "c"}},
		{"TIME-SERIES keys narrowed to nothing", emptied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := dumpformat.WriteNDJSON(&buf, tt.view); err != nil {
				t.Fatalf("WriteNDJSON: %v", err)
			}
			if buf.Len() != 0 {
				t.Errorf("WriteNDJSON wrote %q, want nothing", buf.String())
			}
			buf.Reset()
			if err := dumpformat.WriteCSV(&buf, tt.view); err != nil {
				t.Fatalf("WriteCSV: %v", err)
			}
			if got, want := buf.String(), "client_id,event_type,event_key,event_id,event_timestamp,event_value,event_count\n"; got != want {
				t.Errorf("WriteCSV wrote %q, want only the header %q", got, want)
			}
		})
	}
}

// readCSV parses out as CSV and checks its header.
func readCSV(t *testing.T, out string) [][]string {
	t.Helper()
	records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v\n%s", err, out)
	}
	if len(records) == 0 {
		t.Fatalf("CSV output is empty")
	}
	header := []string{"client_id", "event_type", "event_key", "event_id", "event_timestamp", "event_value", "event_count"}
	if !slices.Equal(records[0], header) {
		t.Errorf("header = %q, want %q", records[0], header)
	}
	return records[1:]
}

func TestWriteCSV(t *testing.T) {
	const client = `rack "7", unit 2`
	v := mixedView()
	var buf bytes.Buffer
	if err := dumpformat.WriteCSV(&buf, v); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	got := readCSV(t, buf.String())
	f := func(x float64) string { return string(event.AppendFloat(nil, x)) }
	want := [][]string{
		{client, "CUMULATIVE", "bytes", "", "1763850001.123", f(1e21), "2"},
		{client, "TIME-SERIES", "cpu", "id,with,commas", "1763850000", f(0.1), ""},
		{client, "TIME-SERIES", "cpu", "two\nlines", "1763850001.000000001", f(1e-7), ""},
		{client, "TIME-SERIES", "cpu", `say "hi"`, "1763850001.123", f(-0.5), ""},
		{client, "CUMULATIVE", `disk "sda"`, "", "1763850002.5", f(0.30000000000000004), "3"},
		{client, "TIME-SERIES", "mem", " leading space", "1763850003", f(123456789.125), ""},
		{client, "CUMULATIVE", "zeta", "", "1763850004", f(-2), "1"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d:\n%s", len(got), len(want), buf.String())
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("row %d = %q, want %q", i+1, got[i], want[i])
		}
	}
	// The values are written as the JSON dump writes them.
	for _, lit := range []struct {
		row  int
		want string
	}{{0, "1e+21"}, {1, "0.1"}, {2, "1e-7"}, {4, "0.30000000000000004"}} {
		if got[lit.row][5] != lit.want {
			t.Errorf("row %d value = %q, want %q", lit.row+1, got[lit.row][5], lit.want)
		}
	}
}

// failingWriter fails every write after the first n bytes.
type failingWriter struct{ n int }

var errWrite = errors.New("write failed")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errWrite
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWritersReportWriteErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		write func(io.Writer, *event.View) error
	}{
		{"JSON", dumpformat.WriteJSON},
		{"NDJSON", dumpformat.WriteNDJSON},
		{"CSV", dumpformat.WriteCSV},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.write(&failingWriter{n: 10}, mixedView()); !errors.Is(err, errWrite) {
				t.Errorf("error = %v, want %v", err, errWrite)
			}
		})
	}
}

// record is one event in a form common to the three formats.
type record struct {
	client, typ, key, id, timestamp, value, count string
}

// recordOf reads an object of the JSON or NDJSON form.
func recordOf(t *testing.T, m map[string]any) record {
	t.Helper()
	str := func(name string) string {
		switch x := m[name].(type) {
		case nil:
			return ""
		case string:
			return x
		case json.Number:
			return x.String()
		}
		t.Fatalf("field %s of %v is a %T", name, m, m[name])
		return ""
	}
	return record{str("client_id"), str("event_type"), str("event_key"), str("event_id"), str("event_timestamp"), str("event_value"), str("event_count")}
}

func recordsFromJSON(t *testing.T, out string) []record {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	var d struct {
		ClientID string                     `json:"client_id"`
		Events   map[string]json.RawMessage `json:"events"`
	}
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("JSON output %s: %v", out, err)
	}
	var recs []record
	for _, key := range slices.Sorted(maps.Keys(d.Events)) {
		raw := string(d.Events[key])
		if strings.HasPrefix(raw, "[") {
			dec := json.NewDecoder(strings.NewReader(raw))
			dec.UseNumber()
			var objs []map[string]any
			if err := dec.Decode(&objs); err != nil {
				t.Fatalf("key %q: %s: %v", key, raw, err)
			}
			for _, o := range objs {
				recs = append(recs, recordOf(t, o))
			}
			continue
		}
		recs = append(recs, recordOf(t, decodeLine(t, raw)))
	}
	return recs
}

func recordsFromNDJSON(t *testing.T, out string) []record {
	t.Helper()
	var recs []record
	for line := range strings.Lines(out) {
		recs = append(recs, recordOf(t, decodeLine(t, line)))
	}
	return recs
}

func recordsFromCSV(t *testing.T, out string) []record {
	t.Helper()
	var recs []record
	for _, r := range readCSV(t, out) {
		if len(r) != 7 {
			t.Fatalf("row %q has %d fields, want 7", r, len(r))
		}
		recs = append(recs, record{r[0], r[1], r[2], r[3], r[4], r[5], r[6]})
	}
	return recs
}

// TestFormatsAgree writes one narrowed view in the three formats: they
// hold the same events.
func TestFormatsAgree(t *testing.T) {
	for _, tt := range []struct {
		name string
		view func() *event.View
		q    event.Query
		want int // events
	}{
		{"everything", mixedView, event.Query{}, 7},
		{"keys and from", mixedView, event.Query{Keys: []string{"bytes", "cpu", "mem"}, From: 1763850001_000000000, HasFrom: true}, 1 + 2 + 1},
		{"limit and to", queryView, event.Query{Limit: 1, To: sec(300), HasTo: true}, 3},
		{"from after to", queryView, event.Query{From: sec(300), To: sec(200), HasFrom: true, HasTo: true}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.view()
			v.Narrow(tt.q)
			var j, nd, c bytes.Buffer
			if err := dumpformat.WriteJSON(&j, v); err != nil {
				t.Fatalf("WriteJSON: %v", err)
			}
			if err := dumpformat.WriteNDJSON(&nd, v); err != nil {
				t.Fatalf("WriteNDJSON: %v", err)
			}
			if err := dumpformat.WriteCSV(&c, v); err != nil {
				t.Fatalf("WriteCSV: %v", err)
			}
			fromJSON := recordsFromJSON(t, j.String())
			if len(fromJSON) != tt.want {
				t.Errorf("JSON holds %d events, want %d:\n%s", len(fromJSON), tt.want, j.String())
			}
			if got := recordsFromNDJSON(t, nd.String()); !slices.Equal(got, fromJSON) {
				t.Errorf("NDJSON events\n%q\nJSON events\n%q", got, fromJSON)
			}
			if got := recordsFromCSV(t, c.String()); !slices.Equal(got, fromJSON) {
				t.Errorf("CSV events\n%q\nJSON events\n%q", got, fromJSON)
			}
		})
	}
}
