package event_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/montool/montool/internal/event"
)

// baseEvent is a valid event.
var baseEvent = event.Event{
	ClientID:  "c1",
	ID:        "e1",
	Timestamp: 1763850000000000000,
	Type:      event.Cumulative,
	Key:       "cpu",
	Value:     1.5,
}

// checkFieldErr reports whether err is an *Error of kind ErrInvalid naming
// field, and fails t otherwise.
func checkFieldErr(t *testing.T, err error, field string) {
	t.Helper()
	if err == nil {
		t.Errorf("got no error, want an invalid %s", field)
		return
	}
	if !errors.Is(err, event.ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid): got false, want true", err)
	}
	var e *event.Error
	if !errors.As(err, &e) {
		t.Errorf("errors.As(%v, *Error): got false, want true", err)
		return
	}
	if e.Field != field {
		t.Errorf("Error.Field of %q: got %q, want %q", err, e.Field, field)
	}
}

func TestTypeString(t *testing.T) {
	tests := []struct {
		name string
		typ  event.Type
		want string
	}{
		{"cumulative", event.Cumulative, "CUMULATIVE"},
		{"time series", event.TimeSeries, "TIME-SERIES"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.typ.String(); got != tc.want {
				t.Errorf("String(): got %q, want %q", got, tc.want)
			}
			b, err := tc.typ.MarshalText()
			if err != nil {
				t.Fatalf("MarshalText: %v", err)
			}
			if got := string(b); got != tc.want {
				t.Errorf("MarshalText: got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTypeMarshalTextRejectsUnknownType(t *testing.T) {
	for _, typ := range []event.Type{0, 3, 255} {
		t.Run(typ.String(), func(t *testing.T) {
			if b, err := typ.MarshalText(); err == nil {
				t.Errorf("MarshalText(%d): got %q and no error, want an error", uint8(typ), b)
			}
		})
	}
}

func TestParseTypeAccepts(t *testing.T) {
	tests := []struct {
		in   string
		want event.Type
	}{
		{"CUMULATIVE", event.Cumulative},
		{"cumulative", event.Cumulative},
		{"Cumulative", event.Cumulative},
		{"cUmUlAtIvE", event.Cumulative},
		{"TIME-SERIES", event.TimeSeries},
		{"time-series", event.TimeSeries},
		{"Time-Series", event.TimeSeries},
		{"tImE-sErIeS", event.TimeSeries},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := event.ParseType(tc.in)
			if err != nil {
				t.Fatalf("ParseType(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseType(%q): got %v, want %v", tc.in, got, tc.want)
			}
			var u event.Type
			if err := u.UnmarshalText([]byte(tc.in)); err != nil {
				t.Fatalf("UnmarshalText(%q): %v", tc.in, err)
			}
			if u != tc.want {
				t.Errorf("UnmarshalText(%q): got %v, want %v", tc.in, u, tc.want)
			}
		})
	}
}

func TestParseTypeRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"no dash", "TIMESERIES"},
		{"underscore", "TIME_SERIES"},
		{"space instead of dash", "TIME SERIES"},
		{"leading space", " CUMULATIVE"},
		{"trailing space", "CUMULATIVE "},
		{"trailing NUL", "CUMULATIVE\x00"},
		{"other name", "GAUGE"},
		{"prefix", "CUMUL"},
		{"number", "1"},
		{"non-ASCII letter that folds to s", "TIME-\u017fERIES"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := event.ParseType(tc.in); err == nil {
				t.Errorf("ParseType(%q): got %v and no error, want an error", tc.in, got)
			}
			u := event.TimeSeries
			if err := u.UnmarshalText([]byte(tc.in)); err == nil {
				t.Errorf("UnmarshalText(%q): got no error, want an error", tc.in)
			}
			if u != event.TimeSeries {
				t.Errorf("UnmarshalText(%q) changed the type on error: got %v, want %v", tc.in, u, event.TimeSeries)
			}
		})
	}
}

func TestNormalizeID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"lower-case uuid unchanged", "6f9619ff-8b86-d011-b42d-00c04fc964ff", "6f9619ff-8b86-d011-b42d-00c04fc964ff"},
		{"upper-case uuid lowered", "6F9619FF-8B86-D011-B42D-00C04FC964FF", "6f9619ff-8b86-d011-b42d-00c04fc964ff"},
		{"mixed-case uuid lowered", "6f9619FF-8b86-D011-b42D-00c04FC964ff", "6f9619ff-8b86-d011-b42d-00c04fc964ff"},
		{"nil uuid", "00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"},
		{"32-hex form kept", "6F9619FF8B86D011B42D00C04FC964FF", "6F9619FF8B86D011B42D00C04FC964FF"},
		{"braced form kept", "{6F9619FF-8B86-D011-B42D-00C04FC964FF}", "{6F9619FF-8B86-D011-B42D-00C04FC964FF}"},
		{"urn form kept", "urn:uuid:6F9619FF-8B86-D011-B42D-00C04FC964FF", "urn:uuid:6F9619FF-8B86-D011-B42D-00C04FC964FF"},
		{"36 chars with non-hex kept", "6G9619FF-8B86-D011-B42D-00C04FC964FF", "6G9619FF-8B86-D011-B42D-00C04FC964FF"},
		{"36 chars dashes misplaced kept", "6F9619FF8-B86-D011-B42D-00C04FC964FF", "6F9619FF8-B86-D011-B42D-00C04FC964FF"},
		{"uuid with surrounding spaces kept", " 6F9619FF-8B86-D011-B42D-00C04FC964F ", " 6F9619FF-8B86-D011-B42D-00C04FC964F "},
		{"spaces kept", "  x ", "  x "},
		{"upper-case word kept", "HOST-A", "HOST-A"},
		{"unicode kept", "Ünïcødé-✓", "Ünïcødé-✓"},
		{"empty kept", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := event.NormalizeID(tc.in); got != tc.want {
				t.Errorf("NormalizeID(%q): got %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		modify func(e *event.Event)
	}{
		{"base event", func(e *event.Event) {}},
		{"time series", func(e *event.Event) { e.Type = event.TimeSeries }},
		{"ids of 128 bytes", func(e *event.Event) {
			e.ClientID = strings.Repeat("a", 128)
			e.ID = strings.Repeat("b", 128)
		}},
		{"ids of 128 bytes in two-byte runes", func(e *event.Event) {
			e.ClientID = strings.Repeat("é", 64)
			e.ID = strings.Repeat("é", 64)
		}},
		{"ids of one byte", func(e *event.Event) { e.ClientID, e.ID = "x", "y" }},
		{"ids with spaces", func(e *event.Event) { e.ClientID, e.ID = "  x ", " " }},
		{"ids with other unicode", func(e *event.Event) { e.ClientID, e.ID = "a\u00a0b\u200b", "\u2028\ufffd😀" }},
		{"upper-case uuid ids", func(e *event.Event) {
			e.ClientID = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
			e.ID = "6F9619FF-8B86-D011-B42D-00C04FC964FE"
		}},
		{"timestamp zero", func(e *event.Event) { e.Timestamp = 0 }},
		{"timestamp max", func(e *event.Event) { e.Timestamp = math.MaxInt64 }},
		{"key of 256 bytes", func(e *event.Event) { e.Key = strings.Repeat("k", 256) }},
		{"key of one byte", func(e *event.Event) { e.Key = "k" }},
		{"key with unicode", func(e *event.Event) { e.Key = "température/°C ✓" }},
		{"key with line separator", func(e *event.Event) { e.Key = "a\u2028b\u2029c" }},
		{"key with zero-width space", func(e *event.Event) { e.Key = "a\u200bb" }},
		{"key with quotes and backslashes", func(e *event.Event) { e.Key = `a"b\c` }},
		{"value zero", func(e *event.Event) { e.Value = 0 }},
		{"value negative zero", func(e *event.Event) { e.Value = math.Copysign(0, -1) }},
		{"value negative", func(e *event.Event) { e.Value = -42.25 }},
		{"value max float", func(e *event.Event) { e.Value = math.MaxFloat64 }},
		{"value min float", func(e *event.Event) { e.Value = -math.MaxFloat64 }},
		{"value smallest subnormal", func(e *event.Event) { e.Value = math.SmallestNonzeroFloat64 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := baseEvent
			tc.modify(&e)
			before := e
			if err := e.Validate(); err != nil {
				t.Errorf("Validate(): got %v, want nil", err)
			}
			if e != before {
				t.Errorf("Validate() changed the event: got %+v, want %+v", e, before)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(e *event.Event)
		field  string
	}{
		{"empty client id", func(e *event.Event) { e.ClientID = "" }, event.FieldClientID},
		{"client id of 129 bytes", func(e *event.Event) { e.ClientID = strings.Repeat("a", 129) }, event.FieldClientID},
		{"client id of 129 bytes in three-byte runes", func(e *event.Event) { e.ClientID = strings.Repeat("€", 43) }, event.FieldClientID},
		{"client id invalid utf-8", func(e *event.Event) { e.ClientID = "a\xffb" }, event.FieldClientID},
		{"client id truncated rune", func(e *event.Event) { e.ClientID = "\xe2\x82" }, event.FieldClientID},
		{"client id with an escape sequence", func(e *event.Event) { e.ClientID = "\x1b[2J" }, event.FieldClientID},
		{"client id with tab", func(e *event.Event) { e.ClientID = "a\tb" }, event.FieldClientID},
		{"client id with DEL", func(e *event.Event) { e.ClientID = "a\x7f" }, event.FieldClientID},
		{"client id with C1 control sequence introducer", func(e *event.Event) { e.ClientID = "a\u009b" }, event.FieldClientID},
		{"empty event id", func(e *event.Event) { e.ID = "" }, event.FieldEventID},
		{"event id with NUL", func(e *event.Event) { e.ID = "\x00" }, event.FieldEventID},
		{"event id with newline", func(e *event.Event) { e.ID = "e\n" }, event.FieldEventID},
		{"event id with DEL", func(e *event.Event) { e.ID = "\x7f" }, event.FieldEventID},
		{"event id with C1 next line", func(e *event.Event) { e.ID = "e\u0085" }, event.FieldEventID},
		{"event id of 129 bytes", func(e *event.Event) { e.ID = strings.Repeat("b", 129) }, event.FieldEventID},
		{"event id invalid utf-8", func(e *event.Event) { e.ID = "\xc0\xaf" }, event.FieldEventID},
		{"negative timestamp", func(e *event.Event) { e.Timestamp = -1 }, event.FieldTimestamp},
		{"min timestamp", func(e *event.Event) { e.Timestamp = math.MinInt64 }, event.FieldTimestamp},
		{"zero type", func(e *event.Event) { e.Type = 0 }, event.FieldType},
		{"unknown type", func(e *event.Event) { e.Type = 3 }, event.FieldType},
		{"empty key", func(e *event.Event) { e.Key = "" }, event.FieldKey},
		{"key of 257 bytes", func(e *event.Event) { e.Key = strings.Repeat("k", 257) }, event.FieldKey},
		{"key of 258 bytes in two-byte runes", func(e *event.Event) { e.Key = strings.Repeat("é", 129) }, event.FieldKey},
		{"key invalid utf-8", func(e *event.Event) { e.Key = "cpu\xff" }, event.FieldKey},
		{"key with NUL", func(e *event.Event) { e.Key = "a\x00b" }, event.FieldKey},
		{"key with tab", func(e *event.Event) { e.Key = "a\tb" }, event.FieldKey},
		{"key with newline", func(e *event.Event) { e.Key = "a\n" }, event.FieldKey},
		{"key with unit separator", func(e *event.Event) { e.Key = "\x1f" }, event.FieldKey},
		{"key with DEL", func(e *event.Event) { e.Key = "a\x7f" }, event.FieldKey},
		{"key with C1 next line", func(e *event.Event) { e.Key = "a\u0085b" }, event.FieldKey},
		{"key with C1 padding", func(e *event.Event) { e.Key = "\u0080" }, event.FieldKey},
		{"key with C1 application program command", func(e *event.Event) { e.Key = "a\u009f" }, event.FieldKey},
		{"value NaN", func(e *event.Event) { e.Value = math.NaN() }, event.FieldValue},
		{"value +Inf", func(e *event.Event) { e.Value = math.Inf(1) }, event.FieldValue},
		{"value -Inf", func(e *event.Event) { e.Value = math.Inf(-1) }, event.FieldValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := baseEvent
			tc.modify(&e)
			checkFieldErr(t, e.Validate(), tc.field)
		})
	}
}

func TestValidateReportsFirstFaultyField(t *testing.T) {
	bad := event.Event{ClientID: "", ID: "", Timestamp: -1, Type: 0, Key: "", Value: math.NaN()}
	tests := []struct {
		name   string
		modify func(e *event.Event)
		field  string
	}{
		{"all fields bad", func(e *event.Event) {}, event.FieldClientID},
		{"client id good", func(e *event.Event) { e.ClientID = "c" }, event.FieldEventID},
		{"ids good", func(e *event.Event) { e.ClientID, e.ID = "c", "e" }, event.FieldTimestamp},
		{"ids and timestamp good", func(e *event.Event) { e.ClientID, e.ID, e.Timestamp = "c", "e", 0 }, event.FieldType},
		{"only key and value bad", func(e *event.Event) {
			e.ClientID, e.ID, e.Timestamp, e.Type = "c", "e", 0, event.TimeSeries
		}, event.FieldKey},
		{"only value bad", func(e *event.Event) {
			e.ClientID, e.ID, e.Timestamp, e.Type, e.Key = "c", "e", 0, event.TimeSeries, "k"
		}, event.FieldValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := bad
			tc.modify(&e)
			checkFieldErr(t, e.Validate(), tc.field)
		})
	}
}

func TestErrorKinds(t *testing.T) {
	tests := []struct {
		name    string
		err     *event.Error
		kind    error
		notKind error
		text    string
	}{
		{"invalid with field", &event.Error{Kind: event.ErrInvalid, Field: "event_key", Message: "must not be empty"}, event.ErrInvalid, event.ErrConflict, "event_key: must not be empty"},
		{"conflict without field", &event.Error{Kind: event.ErrConflict, Message: "differs"}, event.ErrConflict, event.ErrInvalid, "differs"},
		{"not found", &event.Error{Kind: event.ErrNotFound, Message: "no such client"}, event.ErrNotFound, event.ErrTooLarge, "no such client"},
		{"too large", &event.Error{Kind: event.ErrTooLarge, Message: "too many"}, event.ErrTooLarge, event.ErrNotFound, "too many"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error = tc.err
			if !errors.Is(err, tc.kind) {
				t.Errorf("errors.Is(%v, %v): got false, want true", err, tc.kind)
			}
			if errors.Is(err, tc.notKind) {
				t.Errorf("errors.Is(%v, %v): got true, want false", err, tc.notKind)
			}
			if got := err.Error(); got != tc.text {
				t.Errorf("Error(): got %q, want %q", got, tc.text)
			}
		})
	}
}

func TestCheckID(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		wantMsg string // "" when the id is taken
	}{
		{"plain", "web-01", ""},
		{"unicode", "rack 7/wéb-01 😀", ""},
		{"empty", "", "must not be empty"},
		{"too long", strings.Repeat("x", 129), "must be at most 128 bytes"},
		{"invalid UTF-8", "web\xff", "must be valid UTF-8"},
		{"escape sequence", "web\x1b[31m", "must not contain control characters"},
		{"DEL", "web\x7f", "must not contain control characters"},
		{"C1 control sequence introducer", "web\u009b31m", "must not contain control characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := event.CheckID(event.FieldClientID, tc.id)
			if tc.wantMsg == "" {
				if err != nil {
					t.Errorf("CheckID(%q): got %v, want nil", tc.id, err)
				}
				return
			}
			checkFieldErr(t, err, event.FieldClientID)
			var e *event.Error
			if errors.As(err, &e) && e.Message != tc.wantMsg {
				t.Errorf("CheckID(%q): message %q, want %q", tc.id, e.Message, tc.wantMsg)
			}
		})
	}
}
