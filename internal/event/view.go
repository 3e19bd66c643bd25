package event

import "strings"

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
