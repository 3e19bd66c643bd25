package dumpformat

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/montool/montool/internal/event"
)

// csvHeader is the first row of WriteCSV.
var csvHeader = []string{"client_id", "event_type", "event_key", "event_id", "event_timestamp", "event_value", "event_count"}

// WriteCSV writes v as CSV, a header and then one row an event: a
// CUMULATIVE key's total with its count and no id, each event of a
// TIME-SERIES key with its id and no count.
func WriteCSV(w io.Writer, v *event.View) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	row := make([]string, len(csvHeader))
	for i := range v.Series {
		s := &v.Series[i]
		if s.Type == event.Cumulative {
			row = append(row[:0], v.ClientID, s.Type.String(), s.Key, "", s.Last.String(),
				string(event.AppendFloat(nil, s.Total)), strconv.FormatInt(s.Count, 10))
			if err := cw.Write(row); err != nil {
				return err
			}
			continue
		}
		for j := range s.Samples.Len() {
			smp := s.Samples.At(j)
			row = append(row[:0], v.ClientID, s.Type.String(), s.Key, smp.ID, smp.Timestamp.String(),
				string(event.AppendFloat(nil, smp.Value)), "")
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
