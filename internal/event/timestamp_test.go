package event_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/montool/montool/internal/event"
)

func TestParseTimestampAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64 // nanoseconds since the epoch
	}{
		// Seconds: below 1e11.
		{"zero", "0", 0},
		{"negative zero", "-0", 0},
		{"zero with fraction", "0.0", 0},
		{"zero with exponent", "0e5", 0},
		{"one second", "1", 1_000_000_000},
		{"half a second", "0.5", 500_000_000},
		{"one nanosecond", "0.000000001", 1},
		{"below a nanosecond truncated to zero", "0.0000000009", 0},
		{"tiny exponent truncated to zero", "1e-400", 0},
		{"seconds", "1763850000", 1763850000_000000000},
		{"seconds with trailing zero fraction", "1763850000.000", 1763850000_000000000},
		{"seconds with half", "1763850000.5", 1763850000_500000000},
		{"seconds to the nanosecond", "1763850001.123456789", 1763850001_123456789},
		{"seconds finer than a nanosecond truncated", "1763850001.1234567899", 1763850001_123456789},
		{"seconds truncated not rounded", "1763850001.9999999999", 1763850001_999999999},
		{"seconds in exponent form", "1.7638500005e9", 1763850000_500000000},
		{"seconds with upper-case exponent", "1.7638500005E+9", 1763850000_500000000},
		{"seconds with negative exponent", "17638500005e-1", 1763850000_500000000},
		{"largest whole second", "9223372036", 9223372036_000000000},
		{"last nanosecond in seconds", "9223372036.854775807", math.MaxInt64},
		{"last nanosecond in seconds with finer digits", "9223372036.8547758079", math.MaxInt64},
		{"small mantissa with large exponent is seconds", "0.00000000001e11", 1_000_000_000},
		// Milliseconds: from 1e11 below 1e14.
		{"1e11 is milliseconds", "100000000000", 100000000_000000000},
		{"1e11 in exponent form is milliseconds", "1e11", 100000000_000000000},
		{"milliseconds", "1763850001123", 1763850001_123000000},
		{"milliseconds with fraction", "1763850001123.5", 1763850001_123500000},
		{"milliseconds finer than a nanosecond truncated", "1763850001123.4567899", 1763850001_123456789},
		{"milliseconds in exponent form", "1.763850001123e12", 1763850001_123000000},
		{"last whole millisecond", "9223372036854", 9223372036_854000000},
		{"last nanosecond in milliseconds", "9223372036854.775807", math.MaxInt64},
		// Microseconds: from 1e14 below 1e17.
		{"1e14 is microseconds", "100000000000000", 100000000_000000000},
		{"microseconds", "1763850001123456", 1763850001_123456000},
		{"microseconds with fraction", "1763850001123456.7", 1763850001_123456700},
		{"last nanosecond in microseconds", "9223372036854775.807", math.MaxInt64},
		// Nanoseconds: from 1e17.
		{"1e17 is nanoseconds", "100000000000000000", 100000000_000000000},
		{"1e17 in exponent form is nanoseconds", "1e17", 100000000_000000000},
		{"nanoseconds", "1763850001123456789", 1763850001_123456789},
		{"nanoseconds with fraction truncated", "1763850001123456789.9", 1763850001_123456789},
		{"nanoseconds in exponent form", "1.763850001123456789e18", 1763850001_123456789},
		{"nanoseconds in exponent form with finer digits", "1.7638500011234567895e18", 1763850001_123456789},
		{"largest nanosecond", "9223372036854775807", math.MaxInt64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := event.ParseTimestamp(tc.in)
			if err != nil {
				t.Fatalf("ParseTimestamp(%q): %v", tc.in, err)
			}
			if int64(got) != tc.want {
				t.Errorf("ParseTimestamp(%q): got %d, want %d", tc.in, int64(got), tc.want)
			}
		})
	}
}

func TestParseTimestampRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"hex", "0x10"},
		{"Inf", "Inf"},
		{"infinity", "Infinity"},
		{"minus Inf", "-Inf"},
		{"NaN", "NaN"},
		{"leading space", " 1"},
		{"trailing space", "1 "},
		{"plus sign", "+1"},
		{"trailing dot", "1."},
		{"leading dot", ".5"},
		{"leading zero", "01"},
		{"negative leading zero", "-01"},
		{"minus alone", "-"},
		{"exponent without digits", "1e"},
		{"exponent sign without digits", "1e+"},
		{"comma decimal", "1,5"},
		{"underscore", "1_000"},
		{"quoted", `"1"`},
		{"word", "true"},
		{"date", "2025-11-22T22:20:00Z"},
		{"negative second", "-1"},
		{"negative fraction", "-0.5"},
		{"negative tiny", "-0.0000000001"},
		{"negative seconds", "-1763850000"},
		{"seconds past 2262", "9223372037"},
		{"seconds one nanosecond past the end", "9223372036.854775808"},
		{"largest seconds value (year 5138)", "99999999999"},
		{"largest seconds value with fraction", "99999999999.9"},
		{"milliseconds past 2262", "9223372036855"},
		{"milliseconds one nanosecond past the end", "9223372036854.775808"},
		{"largest milliseconds value", "99999999999999"},
		{"microseconds past 2262", "9223372036854776"},
		{"largest microseconds value", "99999999999999999"},
		{"nanoseconds one past the end", "9223372036854775808"},
		{"nanoseconds of 20 digits", "10000000000000000000"},
		{"max uint64", "18446744073709551615"},
		{"huge exponent", "1e19"},
		{"exponent past float range", "1e400"},
		{"enormous exponent", "1e99999999999999999999"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := event.ParseTimestamp(tc.in)
			if err == nil {
				t.Fatalf("ParseTimestamp(%q): got %d and no error, want an error", tc.in, int64(got))
			}
			checkFieldErr(t, err, event.FieldTimestamp)
		})
	}
}

func TestTimestampText(t *testing.T) {
	tests := []struct {
		name string
		ns   int64
		want string
	}{
		{"zero", 0, "0"},
		{"one nanosecond", 1, "0.000000001"},
		{"half a second", 500_000_000, "0.5"},
		{"one second", 1_000_000_000, "1"},
		{"ten seconds", 10_000_000_000, "10"},
		{"whole seconds", 1763850000_000000000, "1763850000"},
		{"milliseconds", 1763850001_123000000, "1763850001.123"},
		{"microseconds", 1763850001_123456000, "1763850001.123456"},
		{"nanoseconds", 1763850001_123456789, "1763850001.123456789"},
		{"half", 1763850000_500000000, "1763850000.5"},
		{"leading zeros in fraction", 1763850000_000000010, "1763850000.00000001"},
		{"trailing zeros dropped", 1763850000_120000000, "1763850000.12"},
		{"largest", math.MaxInt64, "9223372036.854775807"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := event.Timestamp(tc.ns)
			if got := ts.String(); got != tc.want {
				t.Errorf("String(): got %q, want %q", got, tc.want)
			}
			if got := string(ts.AppendJSON([]byte("x="))); got != "x="+tc.want {
				t.Errorf("AppendJSON: got %q, want %q", got, "x="+tc.want)
			}
			b, err := ts.MarshalJSON()
			if err != nil {
				t.Fatalf("MarshalJSON: %v", err)
			}
			if got := string(b); got != tc.want {
				t.Errorf("MarshalJSON: got %q, want %q", got, tc.want)
			}
			// json.Marshal uses the method too.
			b, err = json.Marshal(struct{ T event.Timestamp }{ts})
			if err != nil {
				t.Fatalf("json.Marshal: %v", err)
			}
			if got, want := string(b), `{"T":`+tc.want+`}`; got != want {
				t.Errorf("json.Marshal: got %s, want %s", got, want)
			}
			// The text reads back to the same timestamp.
			back, err := event.ParseTimestamp(tc.want)
			if err != nil {
				t.Fatalf("ParseTimestamp(%q): %v", tc.want, err)
			}
			if back != ts {
				t.Errorf("ParseTimestamp(%q): got %d, want %d", tc.want, int64(back), tc.ns)
			}
		})
	}
}

func TestTimestampTime(t *testing.T) {
	tests := []struct {
		name string
		tm   time.Time
		ns   int64
	}{
		{"epoch", time.Unix(0, 0), 0},
		{"with nanoseconds", time.Unix(1763850001, 123456789), 1763850001_123456789},
		{"date in UTC", time.Date(2001, 9, 9, 1, 46, 40, 5, time.UTC), 1000000000_000000005},
		{"date in another zone", time.Date(2001, 9, 9, 3, 46, 40, 5, time.FixedZone("UTC+2", 2*3600)), 1000000000_000000005},
		{"last representable moment", time.Date(2262, 4, 11, 23, 47, 16, 854775807, time.UTC), math.MaxInt64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := event.FromTime(tc.tm)
			if int64(ts) != tc.ns {
				t.Errorf("FromTime(%v): got %d, want %d", tc.tm, int64(ts), tc.ns)
			}
			got := event.Timestamp(tc.ns).Time()
			if !got.Equal(tc.tm) {
				t.Errorf("Time(): got %v, want %v", got, tc.tm)
			}
			if got.Location() != time.UTC {
				t.Errorf("Time().Location(): got %v, want UTC", got.Location())
			}
		})
	}
}
