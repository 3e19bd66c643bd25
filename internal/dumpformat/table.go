package dumpformat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/termtext"
)

// WriteTable writes d for people: one row per key, with its type, its
// count, its total or its last, min and max values, the time of its latest
// event, and for a TIME-SERIES key a sparkline of its latest values.
// Numbers are aligned right. The strings the server holds, the client id
// and the keys, are shown as termtext.Printable makes them, so that none
// can drive the terminal.
func WriteTable(w io.Writer, d *event.Dump) error {
	rows := [][]string{{"KEY", "TYPE", "COUNT", "TOTAL", "LAST", "MIN", "MAX", "LATEST", "TREND"}}
	for _, s := range d.Series {
		switch s.Type {
		case event.Cumulative:
			rows = append(rows, []string{termtext.Printable(s.Key), s.Type.String(), strconv.FormatInt(s.Count, 10), number(s.Total), "-", "-", "-", when(s.Last), "-"})
		case event.TimeSeries:
			if len(s.Samples) == 0 {
				rows = append(rows, []string{termtext.Printable(s.Key), s.Type.String(), "0", "-", "-", "-", "-", "-", "-"})
				continue
			}
			last := s.Samples[len(s.Samples)-1]
			lo, hi := last.Value, last.Value
			for _, smp := range s.Samples {
				lo, hi = min(lo, smp.Value), max(hi, smp.Value)
			}
			rows = append(rows, []string{termtext.Printable(s.Key), s.Type.String(), strconv.Itoa(len(s.Samples)), "-", number(last.Value), number(lo), number(hi),
				when(last.Timestamp), sparkline(s.Samples[max(0, len(s.Samples)-sparkWidth):])})
		}
	}
	right := []bool{false, false, true, true, true, true, true, false, false}
	widths := make([]int, len(right))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "client %s\n\n", termtext.Printable(d.ClientID))
	for _, row := range rows {
		for i, cell := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			if i > 0 {
				b.WriteString("  ")
			}
			switch {
			case right[i]:
				b.WriteString(pad + cell)
			case i == len(row)-1:
				b.WriteString(cell) // no trailing blanks
			default:
				b.WriteString(cell + pad)
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sparkWidth is the number of latest values a sparkline draws.
const sparkWidth = 24

// sparkline draws samples as bars of eight heights, from the lowest value
// among them to the highest, followed by that range ("47.4–47.5"), so that
// a small change drawn from the bottom bar to the top is read as small.
func sparkline(samples []event.Sample) string {
	const bars = "▁▂▃▄▅▆▇█"
	levels := []rune(bars)
	lo, hi := samples[0].Value, samples[0].Value
	for _, smp := range samples {
		lo, hi = min(lo, smp.Value), max(hi, smp.Value)
	}
	out := make([]rune, len(samples))
	for i, smp := range samples {
		level := 0
		if hi > lo {
			level = int(math.Round((smp.Value - lo) / (hi - lo) * float64(len(levels)-1)))
		}
		out[i] = levels[level]
	}
	if hi == lo {
		return string(out) + " all " + number(lo)
	}
	return string(out) + " " + number(lo) + "–" + number(hi)
}

// tableDigits is how many significant digits the table shows of a value
// that is not a whole number.
const tableDigits = 6

// number writes f for the table: a whole number of up to 15 digits as it
// is, any other rounded to tableDigits significant digits (but for its
// whole part, which is kept), in exponent form only when very small or
// very large.
func number(f float64) string {
	a := math.Abs(f)
	switch {
	case a >= 1e15 || (a < 1e-4 && f != 0):
		return strconv.FormatFloat(f, 'g', tableDigits, 64)
	case a >= math.Pow10(tableDigits-1):
		return strconv.FormatFloat(math.Round(f), 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'g', tableDigits, 64)
}

// when writes ts for the table: RFC 3339 time in UTC, to the second.
func when(ts event.Timestamp) string { return ts.Time().Format(time.RFC3339) }

// Rewrite writes raw, the server's answer to a dump in the format output
// names, to w in that format for people: NDJSON and CSV as they came, JSON
// indented, and for "table" the table of WriteTable of the JSON dump.
func Rewrite(w io.Writer, raw []byte, output string) error {
	switch output {
	case "ndjson", "csv":
		_, err := w.Write(raw)
		return err
	case "json":
		var buf bytes.Buffer
		if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
			return fmt.Errorf("the server's answer is not JSON: %w", err)
		}
		buf.WriteByte('\n')
		_, err := buf.WriteTo(w)
		return err
	}
	var d event.Dump
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("the server's answer is not a dump: %w", err)
	}
	return WriteTable(w, &d)
}
