package cmdline

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/montool/montool/internal/event"
)

// timestampForms says what ParseTimestamp takes.
const timestampForms = "a Unix timestamp (seconds, ms, µs or ns) or RFC 3339 text such as 2026-11-26T10:00:00Z"

// ParseTimestamp reads the value s of the flag name: a numeric Unix
// timestamp (seconds, ms, µs or ns) or RFC 3339 text. Its errors name the
// flag and say what it takes.
func ParseTimestamp(name, s string) (event.Timestamp, error) {
	ts, numErr := event.ParseTimestamp(s)
	if numErr == nil {
		return ts, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		var e *event.Error
		if _, ferr := strconv.ParseFloat(s, 64); ferr == nil && errors.As(numErr, &e) {
			return 0, fmt.Errorf("--%s %q: %s", name, s, e.Message) // a number, but negative or too far ahead
		}
		return 0, fmt.Errorf("--%s %q: must be %s", name, s, timestampForms)
	}
	return event.FromTime(t), nil
}

// ParseWhen reads the value s of --from or --to (name) at now: what send
// --timestamp takes, or a time ago such as 1h or 30m.
func ParseWhen(name, s string, now time.Time) (event.Timestamp, error) {
	ts, err := ParseTimestamp(name, s)
	if err == nil {
		return ts, nil
	}
	d, derr := time.ParseDuration(s)
	switch {
	case derr != nil:
		return 0, fmt.Errorf("%w, or a time ago such as 1h or 30m", err)
	case d < 0:
		return 0, fmt.Errorf("--%s %q: a time ago must not be negative", name, s)
	}
	return event.FromTime(now.Add(-d)), nil
}

// CheckTimeRange checks --from and --to at now, each alone and one
// against the other.
func CheckTimeRange(from, to string, now time.Time) error {
	var ends [2]event.Timestamp
	for i, v := range []string{from, to} {
		if v == "" {
			continue
		}
		ts, err := ParseWhen([]string{"from", "to"}[i], v, now)
		if err != nil {
			return err
		}
		ends[i] = ts
	}
	if from != "" && to != "" && ends[0] > ends[1] {
		return fmt.Errorf("--from %s is after --to %s: nothing is in between", from, to)
	}
	return nil
}
