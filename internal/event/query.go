package event

import (
	"encoding/csv"
	"io"
	"slices"
	"sort"
	"strconv"
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

// WriteNDJSON writes v one event a line: for a CUMULATIVE key the object
// its dump holds, for a TIME-SERIES key each of its events.
func (v *View) WriteNDJSON(w io.Writer) error {
	var b []byte
	for i := range v.Series {
		s := &v.Series[i]
		if s.Type == Cumulative {
			b = v.appendTotal(b[:0], s)
			b = append(b, '\n')
			if _, err := w.Write(b); err != nil {
				return err
			}
			continue
		}
		for j := range s.Samples.Len() {
			b = v.appendSample(b[:0], s, s.Samples.At(j))
			b = append(b, '\n')
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// csvHeader is the first row of WriteCSV.
var csvHeader = []string{"client_id", "event_type", "event_key", "event_id", "event_timestamp", "event_value", "event_count"}

// WriteCSV writes v as CSV, a header and then one row an event: a
// CUMULATIVE key's total with its count and no id, each event of a
// TIME-SERIES key with its id and no count.
func (v *View) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	row := make([]string, len(csvHeader))
	for i := range v.Series {
		s := &v.Series[i]
		if s.Type == Cumulative {
			row = append(row[:0], v.ClientID, s.Type.String(), s.Key, "", s.Last.String(),
				string(AppendFloat(nil, s.Total)), strconv.FormatInt(s.Count, 10))
			if err := cw.Write(row); err != nil {
				return err
			}
			continue
		}
		for j := range s.Samples.Len() {
			smp := s.Samples.At(j)
			row = append(row[:0], v.ClientID, s.Type.String(), s.Key, smp.ID, smp.Timestamp.String(),
				string(AppendFloat(nil, smp.Value)), "")
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// appendTotal appends the JSON object of a CUMULATIVE key's total.
func (v *View) appendTotal(b []byte, s *SeriesView) []byte {
	b = append(b, `{"client_id":`...)
	b = AppendJSONString(b, v.ClientID)
	b = append(b, `,"event_type":"CUMULATIVE","event_key":`...)
	b = AppendJSONString(b, s.Key)
	b = append(b, `,"event_value":`...)
	b = AppendFloat(b, s.Total)
	b = append(b, `,"event_count":`...)
	b = strconv.AppendInt(b, s.Count, 10)
	b = append(b, `,"event_timestamp":`...)
	b = s.Last.AppendJSON(b)
	return append(b, '}')
}

// appendSample appends the JSON object of one event of a TIME-SERIES key.
func (v *View) appendSample(b []byte, s *SeriesView, smp Sample) []byte {
	b = append(b, `{"client_id":`...)
	b = AppendJSONString(b, v.ClientID)
	b = append(b, `,"event_id":`...)
	b = AppendJSONString(b, smp.ID)
	b = append(b, `,"event_timestamp":`...)
	b = smp.Timestamp.AppendJSON(b)
	b = append(b, `,"event_type":"TIME-SERIES","event_key":`...)
	b = AppendJSONString(b, s.Key)
	b = append(b, `,"event_value":`...)
	b = AppendFloat(b, smp.Value)
	return append(b, '}')
}
