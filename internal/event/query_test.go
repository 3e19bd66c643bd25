package event_test

import (
	"fmt"
	"strings"
	"testing"

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

// describe writes what v holds in one line: "key[id id]" for a TIME-SERIES
// key, "key{total/count@last}" for a CUMULATIVE one, keys in order.
func describe(v *event.View) string {
	var parts []string
	for _, s := range v.Series {
		if s.Type == event.Cumulative {
			if s.Samples != nil {
				parts = append(parts, s.Key+"{with samples!}")
			}
			parts = append(parts, fmt.Sprintf("%s{%s/%d@%s}", s.Key, event.AppendFloat(nil, s.Total), s.Count, s.Last))
			continue
		}
		ids := make([]string, s.Samples.Len())
		for i := range ids {
			ids[i] = s.Samples.At(i).ID
		}
		parts = append(parts, s.Key+"["+strings.Join(ids, " ")+"]")
	}
	return strings.Join(parts, " ")
}

// requestsTotal is how describe writes the untouched total of queryView.
const requestsTotal = "requests{7.5/3@350}"

func TestNarrow(t *testing.T) {
	tests := []struct {
		name string
		q    event.Query
		want string
	}{
		{"no query keeps everything", event.Query{}, "cpu[a b c d e] mem[m1 m2] " + requestsTotal},
		{"one key", event.Query{Keys: []string{"cpu"}}, "cpu[a b c d e]"},
		{"one CUMULATIVE key", event.Query{Keys: []string{"requests"}}, requestsTotal},
		{"several keys, in key order whatever the order asked", event.Query{Keys: []string{"requests", "cpu"}}, "cpu[a b c d e] " + requestsTotal},
		{"unknown key keeps no series", event.Query{Keys: []string{"disk"}}, ""},
		{"unknown and known key", event.Query{Keys: []string{"disk", "mem"}}, "mem[m1 m2]"},
		{"key named as a prefix is not the key", event.Query{Keys: []string{"cp"}}, ""},
		{"from only, on a tie", event.Query{From: sec(200), HasFrom: true}, "cpu[b c d e] mem[m2] " + requestsTotal},
		{"from only, between samples", event.Query{From: sec(200) + 1, HasFrom: true}, "cpu[d e] mem[m2] " + requestsTotal},
		{"from before every sample", event.Query{From: 0, HasFrom: true}, "cpu[a b c d e] mem[m1 m2] " + requestsTotal},
		{"from after every sample", event.Query{From: sec(401), HasFrom: true}, "cpu[] mem[] " + requestsTotal},
		{"to only, on a tie", event.Query{To: sec(200), HasTo: true}, "cpu[a b c] mem[m1] " + requestsTotal},
		{"to only, just before a tie", event.Query{To: sec(200) - 1, HasTo: true}, "cpu[a] mem[m1] " + requestsTotal},
		{"to before every sample", event.Query{To: sec(99), HasTo: true}, "cpu[] mem[] " + requestsTotal},
		{"to after every sample", event.Query{To: sec(1000), HasTo: true}, "cpu[a b c d e] mem[m1 m2] " + requestsTotal},
		{"from and to", event.Query{From: sec(150), To: sec(300), HasFrom: true, HasTo: true}, "cpu[b c d] mem[m1 m2] " + requestsTotal},
		{"from after to is empty", event.Query{From: sec(300), To: sec(200), HasFrom: true, HasTo: true}, "cpu[] mem[] " + requestsTotal},
		{"from equal to on a tie keeps both", event.Query{From: sec(200), To: sec(200), HasFrom: true, HasTo: true}, "cpu[b c] mem[] " + requestsTotal},
		{"from and to out of range on both sides", event.Query{From: sec(1), To: sec(10000), HasFrom: true, HasTo: true}, "cpu[a b c d e] mem[m1 m2] " + requestsTotal},
		{"from set but not HasFrom is ignored", event.Query{From: sec(300)}, "cpu[a b c d e] mem[m1 m2] " + requestsTotal},
		{"limit keeps the latest", event.Query{Limit: 2}, "cpu[d e] mem[m1 m2] " + requestsTotal},
		{"limit 1", event.Query{Limit: 1}, "cpu[e] mem[m2] " + requestsTotal},
		{"limit bigger than the samples", event.Query{Limit: 100}, "cpu[a b c d e] mem[m1 m2] " + requestsTotal},
		{"limit with to, latest of a tie is the later arrival", event.Query{Limit: 1, To: sec(200), HasTo: true}, "cpu[c] mem[m1] " + requestsTotal},
		{"limit with from and to", event.Query{Limit: 2, From: sec(100), To: sec(300), HasFrom: true, HasTo: true}, "cpu[c d] mem[m1 m2] " + requestsTotal},
		{"limit bigger than the range", event.Query{Limit: 10, From: sec(200), To: sec(300), HasFrom: true, HasTo: true}, "cpu[b c d] mem[m2] " + requestsTotal},
		{"limit with from after to", event.Query{Limit: 2, From: sec(300), To: sec(200), HasFrom: true, HasTo: true}, "cpu[] mem[] " + requestsTotal},
		{"limit with from only", event.Query{Limit: 3, From: sec(150), HasFrom: true}, "cpu[c d e] mem[m1 m2] " + requestsTotal},
		{"keys, range and limit", event.Query{Keys: []string{"cpu", "requests"}, Limit: 1, From: sec(100), To: sec(399), HasFrom: true, HasTo: true}, "cpu[d] " + requestsTotal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := queryView()
			v.Narrow(tt.q)
			if got := describe(v); got != tt.want {
				t.Errorf("Narrow(%+v) = %q, want %q", tt.q, got, tt.want)
			}
			if v.ClientID != "agent-1" {
				t.Errorf("ClientID = %q, want agent-1", v.ClientID)
			}
		})
	}
}

// TestNarrowTwice narrows a narrowed view: the second query works on what
// the first one left.
func TestNarrowTwice(t *testing.T) {
	v := queryView()
	v.Narrow(event.Query{From: sec(200), HasFrom: true})
	v.Narrow(event.Query{Limit: 2, To: sec(300), HasTo: true})
	if got, want := describe(v), "cpu[c d] mem[m2] "+requestsTotal; got != want {
		t.Errorf("narrowed twice = %q, want %q", got, want)
	}
}
