package dumpformat

import (
	"io"

	"github.com/montool/montool/internal/event"
)

// WriteNDJSON writes v one event a line: for a CUMULATIVE key the object
// its dump holds, for a TIME-SERIES key each of its events.
func WriteNDJSON(w io.Writer, v *event.View) error {
	var b []byte
	for i := range v.Series {
		s := &v.Series[i]
		if s.Type == event.Cumulative {
			b = appendTotal(b[:0], v, s)
			b = append(b, '\n')
			if _, err := w.Write(b); err != nil {
				return err
			}
			continue
		}
		for j := range s.Samples.Len() {
			b = appendSample(b[:0], v, s, s.Samples.At(j))
			b = append(b, '\n')
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
	}
	return nil
}
