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
