package event

import (
	"fmt"
	"io"
	"strings"
)

// View is what one client holds, read in place: the samples of each key are
// read through Samples rather than copied, so that a dump of any size can be
// written as it is read.
type View struct {
	ClientID string
	// Series holds one entry per key, sorted by key.
	Series []SeriesView
}

// SeriesView is what a client holds under one key, as Series is, with the
// samples of a TIME-SERIES key read in place.
type SeriesView struct {
	Key   string
	Type  Type
	Total float64
	Count int64
	Last  Timestamp
	// Samples are the samples of a TIME-SERIES key in order: by timestamp,
	// ties in order of arrival. Nil for a CUMULATIVE key.
	Samples Samples
}

// Samples gives read access to the samples of one TIME-SERIES key.
type Samples interface {
	// Len returns the number of samples.
	Len() int
	// At returns sample i, 0 <= i < Len(). The ID of the sample may be valid
	// only until the next call to At: copy it to keep it.
	At(i int) Sample
}

// Dump returns a copy of v that holds every sample.
func (v *View) Dump() *Dump {
	d := &Dump{ClientID: v.ClientID, Series: make([]Series, len(v.Series))}
	for i, sv := range v.Series {
		s := Series{Key: sv.Key, Type: sv.Type, Total: sv.Total, Count: sv.Count, Last: sv.Last}
		if sv.Samples != nil {
			s.Samples = make([]Sample, sv.Samples.Len())
			for j := range s.Samples {
				smp := sv.Samples.At(j)
				smp.ID = strings.Clone(smp.ID)
				s.Samples[j] = smp
			}
		}
		d.Series[i] = s
	}
	return d
}

// flushAt is the size at which WriteJSON hands its buffer to the writer.
const flushAt = 32 << 10

// WriteJSON writes v in the form of the dump endpoint, as MarshalJSON of
// Dump does, through one small buffer that it reuses.
func (v *View) WriteJSON(w io.Writer) error {
	b := make([]byte, 0, flushAt+1024)
	flush := func() error {
		_, err := w.Write(b)
		b = b[:0]
		return err
	}
	b = append(b, `{"client_id":`...)
	b = AppendJSONString(b, v.ClientID)
	b = append(b, `,"events":{`...)
	// The head of every event of one client and key, written once.
	var head []byte
	for i := range v.Series {
		s := &v.Series[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, s.Key)
		b = append(b, ':')
		switch s.Type {
		case Cumulative:
			b = v.appendTotal(b, s)
		case TimeSeries:
			head = append(head[:0], `{"client_id":`...)
			head = AppendJSONString(head, v.ClientID)
			head = append(head, `,"event_id":`...)
			tail := AppendJSONString([]byte(`,"event_type":"TIME-SERIES","event_key":`), s.Key)
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
				b = AppendJSONString(b, smp.ID)
				b = append(b, `,"event_timestamp":`...)
				b = smp.Timestamp.AppendJSON(b)
				b = append(b, tail...)
				b = AppendFloat(b, smp.Value)
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

// sampleSlice is Samples over a slice.
type sampleSlice []Sample

func (s sampleSlice) Len() int        { return len(s) }
func (s sampleSlice) At(i int) Sample { return s[i] }
