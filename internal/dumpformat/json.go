// Package dumpformat writes what one client holds in the formats of a dump:
// JSON, the dump endpoint's own form, NDJSON and CSV, which the server
// streams from an *event.View as the store reads it, and the table of
// montool dump -o table, which the command writes from the *event.Dump it
// read.
package dumpformat

import (
	"fmt"
	"io"
	"strconv"

	"github.com/montool/montool/internal/event"
)

// flushAt is the size at which WriteJSON hands its buffer to the writer.
const flushAt = 32 << 10

// WriteJSON writes v in the form of the dump endpoint, through one small
// buffer that it reuses:
//
//	{"client_id": "…", "events": {"key": {…total…} or [{…event…}, …]}}
func WriteJSON(w io.Writer, v *event.View) error {
	b := make([]byte, 0, flushAt+1024)
	flush := func() error {
		_, err := w.Write(b)
		b = b[:0]
		return err
	}
	b = append(b, `{"client_id":`...)
	b = event.AppendJSONString(b, v.ClientID)
	b = append(b, `,"events":{`...)
	// The head of every event of one client and key, written once.
	var head []byte
	for i := range v.Series {
		s := &v.Series[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, s.Key)
		b = append(b, ':')
		switch s.Type {
		case event.Cumulative:
			b = appendTotal(b, v, s)
		case event.TimeSeries:
			head = append(head[:0], `{"client_id":`...)
			head = event.AppendJSONString(head, v.ClientID)
			head = append(head, `,"event_id":`...)
			tail := event.AppendJSONString([]byte(`,"event_type":"TIME-SERIES","event_key":`), s.Key)
			tail = append(tail, `,"event_value":`...)
			b = append(b, '[')
			n := 0
			if s.Samples != nil {
				n = s.Samples.Len()
			}
			for j := range n {
				smp := s.Samples.At(j)
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, head...)
				b = event.AppendJSONString(b, smp.ID)
				b = append(b, `,"event_timestamp":`...)
				b = smp.Timestamp.AppendJSON(b)
				b = append(b, tail...)
				b = event.AppendFloat(b, smp.Value)
				b = append(b, '}')
				if len(b) >= flushAt {
					if err := flush(); err != nil {
						return err
					}
				}
			}
			b = append(b, ']')
		default:
			return fmt.Errorf("series %q has no event type", s.Key)
		}
		if len(b) >= flushAt {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	b = append(b, "}}"...)
	return flush()
}

// appendTotal appends the JSON object of s, a CUMULATIVE key of v: its
// total.
func appendTotal(b []byte, v *event.View, s *event.SeriesView) []byte {
	b = append(b, `{"client_id":`...)
	b = event.AppendJSONString(b, v.ClientID)
	b = append(b, `,"event_type":"CUMULATIVE","event_key":`...)
	b = event.AppendJSONString(b, s.Key)
	b = append(b, `,"event_value":`...)
	b = event.AppendFloat(b, s.Total)
	b = append(b, `,"event_count":`...)
	b = strconv.AppendInt(b, s.Count, 10)
	b = append(b, `,"event_timestamp":`...)
	b = s.Last.AppendJSON(b)
	return append(b, '}')
}

// appendSample appends the JSON object of smp, an event of s, a
// TIME-SERIES key of v.
func appendSample(b []byte, v *event.View, s *event.SeriesView, smp event.Sample) []byte {
	b = append(b, `{"client_id":`...)
	b = event.AppendJSONString(b, v.ClientID)
	b = append(b, `,"event_id":`...)
	b = event.AppendJSONString(b, smp.ID)
	b = append(b, `,"event_timestamp":`...)
	b = smp.Timestamp.AppendJSON(b)
	b = append(b, `,"event_type":"TIME-SERIES","event_key":`...)
	b = event.AppendJSONString(b, s.Key)
	b = append(b, `,"event_value":`...)
	b = event.AppendFloat(b, smp.Value)
	return append(b, '}')
}
