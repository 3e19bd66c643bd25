package event

import (
	"slices"
	"sort"
)

// Query narrows what a View gives: some keys, and the samples of
// TIME-SERIES keys in a time range and the latest of them.
type Query struct {
	// Keys are the keys to keep; none keeps every key.
	Keys []string
	// From and To bound the timestamps of samples, both included, when
	// HasFrom and HasTo say so.
	From, To       Timestamp
	HasFrom, HasTo bool
	// Limit keeps the latest Limit samples of each key (after From and
	// To); 0 keeps them all.
	Limit int
}

// Narrow narrows v to q, in place. CUMULATIVE keys keep their totals: a
// time range or limit is for samples.
func (v *View) Narrow(q Query) {
	if len(q.Keys) > 0 {
		v.Series = slices.DeleteFunc(v.Series, func(s SeriesView) bool { return !slices.Contains(q.Keys, s.Key) })
	}
	if !q.HasFrom && !q.HasTo && q.Limit == 0 {
		return
	}
	for i := range v.Series {
		s := &v.Series[i]
		if s.Samples == nil {
			continue
		}
		n := s.Samples.Len()
		start, end := 0, n
		if q.HasFrom {
			start = sort.Search(n, func(j int) bool { return s.Samples.At(j).Timestamp >= q.From })
		}
		if q.HasTo {
			end = sort.Search(n, func(j int) bool { return s.Samples.At(j).Timestamp > q.To })
		}
		end = max(end, start)
		if q.Limit > 0 {
			start = max(start, end-q.Limit)
		}
		s.Samples = window{s.Samples, start, end}
	}
}

// window is the samples start to end of another Samples.
type window struct {
	Samples
	start, end int
}

func (w window) Len() int        { return w.end - w.start }
func (w window) At(i int) Sample { return w.Samples.At(w.start + i) }
