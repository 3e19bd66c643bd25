package event_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/montool/montool/internal/event"
)

// decodeOne decodes body, which must hold exactly one event, and returns its
// item.
func decodeOne(t *testing.T, body string) event.Item {
	t.Helper()
	items, err := event.Decode([]byte(body), 0)
	if err != nil {
		t.Fatalf("Decode(%s): got body error %v, want one item", body, err)
	}
	if len(items) != 1 {
		t.Fatalf("Decode(%s): got %d items, want 1", body, len(items))
	}
	return items[0]
}

func TestDecodeBodyRejected(t *testing.T) {
	valid := eventJSON()
	deep := 20000
	tests := []struct {
		name string
		body string
	}{
		{"empty", ""},
		{"whitespace only", " \t\r\n "},
		{"empty array", "[]"},
		{"empty array with spaces", " [ ] "},
		{"null", "null"},
		{"number", "5"},
		{"string", `"x"`},
		{"true", "true"},
		{"open brace", "{"},
		{"open bracket", "["},
		{"missing value", `{"client_id":}`},
		{"single quotes", `{'client_id':'c1'}`},
		{"bare word", "nul"},
		{"unterminated batch", "[" + valid},
		{"trailing comma in batch", "[" + valid + ",]"},
		{"trailing comma in object", valid[:len(valid)-1] + ",}"},
		{"batch with a number", "[" + valid + ", 5]"},
		{"batch with null", "[" + valid + ", null]"},
		{"batch with a string", "[" + valid + `, "x"]`},
		{"batch with a nested batch", "[" + valid + ", [" + valid + "]]"},
		{"batch of a number", "[5]"},
		{"batch of null", "[null]"},
		{"batch of an empty array", "[[]]"},
		{"trailing garbage after object", valid + " x"},
		{"trailing brace after object", valid + "}"},
		{"two objects", valid + valid},
		{"two objects with space", valid + " " + valid},
		{"trailing comma after object", valid + ","},
		{"trailing garbage after batch", "[" + valid + "] x"},
		{"two batches", "[" + valid + "][" + valid + "]"},
		{"leading garbage", "x" + valid},
		{"byte order mark", "\ufeff" + valid},
		{"nested arrays unterminated", strings.Repeat("[", deep)},
		{"nested arrays terminated", strings.Repeat("[", deep) + strings.Repeat("]", deep)},
		{"nested arrays in a batch", "[" + valid + "," + strings.Repeat("[", deep) + strings.Repeat("]", deep) + "]"},
		{"nested arrays in an unknown field", eventJSON("extra", strings.Repeat("[", deep)+strings.Repeat("]", deep))},
		{"nested arrays in event_value", eventJSON("event_value", strings.Repeat("[", deep)+"1"+strings.Repeat("]", deep))},
		{"nested objects", strings.Repeat(`{"a":`, deep) + "1" + strings.Repeat("}", deep)},
		// JSON whitespace is space, tab, line feed and carriage return only.
		{"form feed before object", "\f" + valid},
		{"vertical tab after object", valid + "\v"},
		{"vertical tab around batch", "\v[" + valid + "]\v"},
		{"no-break space before object", "\u00a0" + valid},
		{"next line after object", valid + "\u0085"},
		{"ideographic space before object", "\u3000" + valid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := event.Decode([]byte(tc.body), 100)
			if err == nil {
				t.Fatalf("Decode: got %d items and no error, want ErrInvalid", len(items))
			}
			if items != nil {
				t.Errorf("Decode: got %d items with the error, want none", len(items))
			}
			if !errors.Is(err, event.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid): got false, want true", err)
			}
			if errors.Is(err, event.ErrTooLarge) {
				t.Errorf("errors.Is(%v, ErrTooLarge): got true, want false", err)
			}
			var e *event.Error
			if !errors.As(err, &e) {
				t.Fatalf("errors.As(%v, *Error): got false, want true", err)
			}
			if e.Field != "" {
				t.Errorf("Error.Field: got %q, want none for a body error", e.Field)
			}
		})
	}
}

func batchOf(n int) string {
	objs := make([]string, n)
	for i := range objs {
		objs[i] = eventJSON("event_id", `"e`+strconv.Itoa(i)+`"`)
	}
	return "[" + strings.Join(objs, ",") + "]"
}

func TestDecodeBatchSize(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		maxEvents int
		wantItems int
		tooLarge  bool
	}{
		{"single object within a limit of one", eventJSON(), 1, 1, false},
		{"batch of one within a limit of one", batchOf(1), 1, 1, false},
		{"batch at the limit", batchOf(5), 5, 5, false},
		{"batch one over the limit", batchOf(6), 5, 0, true},
		{"batch of two over a limit of one", batchOf(2), 1, 0, true},
		{"batch far over the limit", batchOf(1000), 10, 0, true},
		{"batch of bad events over the limit", "[{},{},{}]", 2, 0, true},
		{"zero limit means no limit", batchOf(1000), 0, 1000, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := event.Decode([]byte(tc.body), tc.maxEvents)
			if tc.tooLarge {
				if err == nil {
					t.Fatalf("Decode: got %d items and no error, want ErrTooLarge", len(items))
				}
				if !errors.Is(err, event.ErrTooLarge) {
					t.Errorf("errors.Is(%v, ErrTooLarge): got false, want true", err)
				}
				if errors.Is(err, event.ErrInvalid) {
					t.Errorf("errors.Is(%v, ErrInvalid): got true, want false", err)
				}
				var e *event.Error
				if !errors.As(err, &e) {
					t.Errorf("errors.As(%v, *Error): got false, want true", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(items) != tc.wantItems {
				t.Fatalf("Decode: got %d items, want %d", len(items), tc.wantItems)
			}
			for i, it := range items {
				if it.Err != nil {
					t.Errorf("item %d: %v", i, it.Err)
				}
			}
		})
	}
}

func TestDecodeBatchItemsInOrder(t *testing.T) {
	body := "[" + strings.Join([]string{
		eventJSON("event_id", `"a"`, "event_value", `1`),
		eventJSON("event_id", `"b"`, "event_key", `""`),
		eventJSON("event_id", `"c"`, "event_type", `"time-series"`, "event_value", `"2.5"`),
		`{}`,
		eventJSON("event_id", `"e"`, "event_timestamp", `-1`),
	}, " ,\n ") + "]"
	items, err := event.Decode([]byte(body), 10)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(items) != 5 {
		t.Fatalf("Decode: got %d items, want 5", len(items))
	}
	wantA := baseEvent
	wantA.ID, wantA.Value = "a", 1
	wantC := baseEvent
	wantC.ID, wantC.Type, wantC.Value = "c", event.TimeSeries, 2.5
	tests := []struct {
		name     string
		index    int
		rawID    string
		want     event.Event // when errField is ""
		errField string
	}{
		{"first good", 0, "a", wantA, ""},
		{"second bad key", 1, "b", event.Event{}, event.FieldKey},
		{"third good", 2, "c", wantC, ""},
		{"fourth empty object", 3, "", event.Event{}, event.FieldClientID},
		{"fifth bad timestamp", 4, "e", event.Event{}, event.FieldTimestamp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := items[tc.index]
			if it.RawID != tc.rawID {
				t.Errorf("RawID: got %q, want %q", it.RawID, tc.rawID)
			}
			if tc.errField != "" {
				checkFieldErr(t, it.Err, tc.errField)
				return
			}
			if it.Err != nil {
				t.Fatalf("Err: got %v, want nil", it.Err)
			}
			if it.Event != tc.want {
				t.Errorf("Event: got %+v, want %+v", it.Event, tc.want)
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	const uuidUpper = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
	const uuidLower = "6f9619ff-8b86-d011-b42d-00c04fc964ff"
	tests := []struct {
		name      string
		overrides []string
		modify    func(e *event.Event)
	}{
		{"base event", nil, func(e *event.Event) {}},
		{"lower-case type", []string{"event_type", `"cumulative"`}, func(e *event.Event) {}},
		{"time series", []string{"event_type", `"TIME-SERIES"`}, func(e *event.Event) { e.Type = event.TimeSeries }},
		{"mixed-case time series", []string{"event_type", `"Time-Series"`}, func(e *event.Event) { e.Type = event.TimeSeries }},
		{"upper-case uuid client id lowered", []string{"client_id", `"` + uuidUpper + `"`}, func(e *event.Event) { e.ClientID = uuidLower }},
		{"upper-case uuid event id lowered", []string{"event_id", `"` + uuidUpper + `"`}, func(e *event.Event) { e.ID = uuidLower }},
		{"lower-case uuid kept", []string{"event_id", `"` + uuidLower + `"`}, func(e *event.Event) { e.ID = uuidLower }},
		{"32-hex id kept", []string{"client_id", `"6F9619FF8B86D011B42D00C04FC964FF"`}, func(e *event.Event) { e.ClientID = "6F9619FF8B86D011B42D00C04FC964FF" }},
		{"braced uuid kept", []string{"event_id", `"{` + uuidUpper + `}"`}, func(e *event.Event) { e.ID = "{" + uuidUpper + "}" }},
		{"spaces in id kept", []string{"client_id", `"  x "`}, func(e *event.Event) { e.ClientID = "  x " }},
		{"upper-case id kept", []string{"client_id", `"HOST-A"`}, func(e *event.Event) { e.ClientID = "HOST-A" }},
		{"id with escaped characters", []string{"event_id", `"a\u00e9\"\/b"`}, func(e *event.Event) { e.ID = `aé"/b` }},
		{"id of 128 bytes", []string{"client_id", `"` + strings.Repeat("a", 128) + `"`}, func(e *event.Event) { e.ClientID = strings.Repeat("a", 128) }},
		{"id of 128 bytes written with escapes", []string{"event_id", `"` + strings.Repeat(`\u00e9`, 64) + `"`}, func(e *event.Event) { e.ID = strings.Repeat("é", 64) }},
		{"key of 256 bytes", []string{"event_key", `"` + strings.Repeat("k", 256) + `"`}, func(e *event.Event) { e.Key = strings.Repeat("k", 256) }},
		{"key with quotes and backslashes", []string{"event_key", `"a\"b\\c\/d"`}, func(e *event.Event) { e.Key = `a"b\c/d` }},
		{"key with unicode", []string{"event_key", `"température ✓"`}, func(e *event.Event) { e.Key = "température ✓" }},
		{"key with line separator", []string{"event_key", `"a\u2028b"`}, func(e *event.Event) { e.Key = "a\u2028b" }},
		{"unknown fields ignored", []string{"extra", `{"nested":[1,{"x":null}]}`, "event_count", `7`}, func(e *event.Event) {}},
		{"differently cased field ignored", []string{"Client_ID", `"other"`, "EVENT_VALUE", `9`}, func(e *event.Event) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := decodeOne(t, eventJSON(tc.overrides...))
			if it.Err != nil {
				t.Fatalf("Err: got %v, want nil", it.Err)
			}
			want := baseEvent
			tc.modify(&want)
			if it.Event != want {
				t.Errorf("Event: got %+v, want %+v", it.Event, want)
			}
		})
	}
}

func TestDecodeAcceptsWhitespace(t *testing.T) {
	body := " \n\t\r{ \"client_id\" : \"c1\" ,\n\"event_id\":\"e1\", \"event_timestamp\" :\t1763850000 ,\"event_type\":\"CUMULATIVE\" , \"event_key\":\"cpu\",\"event_value\" : 1.5 }\r\n "
	it := decodeOne(t, body)
	if it.Err != nil {
		t.Fatalf("Err: got %v, want nil", it.Err)
	}
	if it.Event != baseEvent {
		t.Errorf("Event: got %+v, want %+v", it.Event, baseEvent)
	}
}

func TestDecodeFieldRejected(t *testing.T) {
	tests := []struct {
		name      string
		overrides []string
		field     string
	}{
		{"client id empty", []string{"client_id", `""`}, event.FieldClientID},
		{"client id of 129 bytes", []string{"client_id", `"` + strings.Repeat("a", 129) + `"`}, event.FieldClientID},
		{"client id of 129 bytes in three-byte runes", []string{"client_id", `"` + strings.Repeat("€", 43) + `"`}, event.FieldClientID},
		{"client id number", []string{"client_id", `5`}, event.FieldClientID},
		{"client id true", []string{"client_id", `true`}, event.FieldClientID},
		{"client id object", []string{"client_id", `{}`}, event.FieldClientID},
		{"client id array", []string{"client_id", `["c1"]`}, event.FieldClientID},
		{"client id null", []string{"client_id", `null`}, event.FieldClientID},
		{"client id missing", []string{"client_id", omit}, event.FieldClientID},
		{"client id under another case", []string{"client_id", omit, "Client_ID", `"c1"`}, event.FieldClientID},
		{"client id upper case", []string{"client_id", omit, "CLIENT_ID", `"c1"`}, event.FieldClientID},
		{"client id with an escape sequence", []string{"client_id", `"c\u001b[31m1"`}, event.FieldClientID},
		{"client id with NUL", []string{"client_id", `"c\u00001"`}, event.FieldClientID},
		{"client id with tab", []string{"client_id", `"c\t1"`}, event.FieldClientID},
		{"client id with raw DEL", []string{"client_id", "\"c\x7f1\""}, event.FieldClientID},
		{"client id with C1 control sequence introducer", []string{"client_id", `"c\u009b1"`}, event.FieldClientID},
		{"client id with raw C1 next line", []string{"client_id", "\"c\u00851\""}, event.FieldClientID},
		{"event id empty", []string{"event_id", `""`}, event.FieldEventID},
		{"event id with an escape sequence", []string{"event_id", `"\u001b]0;title\u0007"`}, event.FieldEventID},
		{"event id with newline", []string{"event_id", `"e\n1"`}, event.FieldEventID},
		{"event id with carriage return", []string{"event_id", `"e\r1"`}, event.FieldEventID},
		{"event id with DEL", []string{"event_id", `"e\u007f"`}, event.FieldEventID},
		{"event id with C1 padding", []string{"event_id", `"\u0080"`}, event.FieldEventID},
		{"event id with raw C1 control", []string{"event_id", "\"e\u009f\""}, event.FieldEventID},
		{"event id of 129 bytes", []string{"event_id", `"` + strings.Repeat("b", 129) + `"`}, event.FieldEventID},
		{"event id number", []string{"event_id", `42`}, event.FieldEventID},
		{"event id null", []string{"event_id", `null`}, event.FieldEventID},
		{"event id missing", []string{"event_id", omit}, event.FieldEventID},
		{"event id under another case", []string{"event_id", omit, "Event_Id", `"e1"`}, event.FieldEventID},
		{"type unknown", []string{"event_type", `"GAUGE"`}, event.FieldType},
		{"type empty", []string{"event_type", `""`}, event.FieldType},
		{"type underscore", []string{"event_type", `"TIME_SERIES"`}, event.FieldType},
		{"type with space", []string{"event_type", `" CUMULATIVE"`}, event.FieldType},
		{"type number", []string{"event_type", `1`}, event.FieldType},
		{"type null", []string{"event_type", `null`}, event.FieldType},
		{"type missing", []string{"event_type", omit}, event.FieldType},
		{"type under another case", []string{"event_type", omit, "Event_Type", `"CUMULATIVE"`}, event.FieldType},
		{"key empty", []string{"event_key", `""`}, event.FieldKey},
		{"key of 257 bytes", []string{"event_key", `"` + strings.Repeat("k", 257) + `"`}, event.FieldKey},
		{"key with NUL", []string{"event_key", `"a\u0000b"`}, event.FieldKey},
		{"key with tab", []string{"event_key", `"a\tb"`}, event.FieldKey},
		{"key with newline", []string{"event_key", `"a\nb"`}, event.FieldKey},
		{"key with unit separator", []string{"event_key", `"a\u001fb"`}, event.FieldKey},
		{"key with DEL", []string{"event_key", `"a\u007fb"`}, event.FieldKey},
		{"key with raw DEL", []string{"event_key", "\"a\x7fb\""}, event.FieldKey},
		{"key with C1 next line", []string{"event_key", `"a\u0085b"`}, event.FieldKey},
		{"key with raw C1 next line", []string{"event_key", "\"a\u0085b\""}, event.FieldKey},
		{"key with C1 control", []string{"event_key", `"\u009f"`}, event.FieldKey},
		{"key number", []string{"event_key", `5`}, event.FieldKey},
		{"key null", []string{"event_key", `null`}, event.FieldKey},
		{"key missing", []string{"event_key", omit}, event.FieldKey},
		{"value under another case", []string{"event_value", omit, "Event_Value", `1`}, event.FieldValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkFieldErr(t, decodeOne(t, eventJSON(tc.overrides...)).Err, tc.field)
		})
	}
}

// TestDecodeRejectsInvalidUTF8 sends raw bytes that are not UTF-8 in the
// string fields: ids and keys must be valid UTF-8.
func TestDecodeRejectsInvalidUTF8(t *testing.T) {
	tests := []struct {
		name      string
		overrides []string
		field     string
	}{
		{"client id with 0xff", []string{"client_id", "\"c\xff1\""}, event.FieldClientID},
		{"event id with a truncated rune", []string{"event_id", "\"e\xe2\x82\""}, event.FieldEventID},
		{"key with an overlong encoding", []string{"event_key", "\"cpu\xc0\xaf\""}, event.FieldKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := decodeOne(t, eventJSON(tc.overrides...))
			if it.Err == nil {
				t.Errorf("Err: got nil (event %#v), want an invalid %s", it.Event, tc.field)
				return
			}
			checkFieldErr(t, it.Err, tc.field)
		})
	}
}

// TestDecodeRejectsLoneSurrogates sends \u escapes of one half of a UTF-16
// surrogate pair, which stand for no character: encoding/json would read
// each as U+FFFD, so that "x\ud800" and "x\ud801" would name one event.
// They are refused as raw bytes that are not UTF-8 are.
func TestDecodeRejectsLoneSurrogates(t *testing.T) {
	tests := []struct {
		name   string
		field  string
		value  string
		escape string // the escape the message names
	}{
		{"client id with a high surrogate", event.FieldClientID, `"x\ud800"`, `\ud800`},
		{"client id with another high surrogate", event.FieldClientID, `"x\ud801"`, `\ud801`},
		{"event id with a high surrogate", event.FieldEventID, `"x\ud800"`, `\ud800`},
		{"event id with another high surrogate", event.FieldEventID, `"x\ud801"`, `\ud801`},
		{"event id with a low surrogate", event.FieldEventID, `"\udc00x"`, `\udc00`},
		{"event id with upper-case hex", event.FieldEventID, `"x\uDBFF"`, `\uDBFF`},
		{"event id with a high surrogate before a letter", event.FieldEventID, `"\ud83dx"`, `\ud83d`},
		{"event id with a high surrogate before an escaped letter", event.FieldEventID, `"\ud83d\u0041"`, `\ud83d`},
		{"event id with two high surrogates", event.FieldEventID, `"\ud800\ud800\udc00"`, `\ud800`},
		{"event id with the halves the wrong way round", event.FieldEventID, `"\ude00\ud83d"`, `\ude00`},
		{"key with a high surrogate", event.FieldKey, `"cpu\ud800"`, `\ud800`},
		{"key with a low surrogate", event.FieldKey, `"cpu\udfff"`, `\udfff`},
		{"type with a high surrogate", event.FieldType, `"CUMULATIVE\ud800"`, `\ud800`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := decodeOne(t, eventJSON(tc.field, tc.value))
			checkFieldErr(t, it.Err, tc.field)
			var e *event.Error
			if !errors.As(it.Err, &e) {
				return
			}
			if !strings.HasPrefix(e.Message, "must be valid UTF-8") || !strings.Contains(e.Message, tc.escape) {
				t.Errorf("message %q: want it to start with %q and name %s", e.Message, "must be valid UTF-8", tc.escape)
			}
		})
	}
}

// TestDecodeLoneSurrogatesDoNotMerge sends two events whose ids differ only
// in a lone surrogate, in a batch: neither may be taken.
func TestDecodeLoneSurrogatesDoNotMerge(t *testing.T) {
	for _, field := range []string{event.FieldClientID, event.FieldEventID, event.FieldKey} {
		t.Run(field, func(t *testing.T) {
			body := "[" + eventJSON(field, `"x\ud800"`) + "," + eventJSON(field, `"x\ud801"`) + "]"
			items, err := event.Decode([]byte(body), 0)
			if err != nil || len(items) != 2 {
				t.Fatalf("Decode: %d items, error %v; want 2 items", len(items), err)
			}
			for i, it := range items {
				if it.Err == nil {
					t.Errorf("item %d: taken as %#v, want it refused", i, it.Event)
					continue
				}
				checkFieldErr(t, it.Err, field)
			}
		})
	}
}

// TestDecodeAcceptsSurrogatePairs sends characters outside the Basic
// Multilingual Plane as \u escapes of both halves of their pair.
func TestDecodeAcceptsSurrogatePairs(t *testing.T) {
	tests := []struct {
		name  string
		field string
		value string
		want  string
	}{
		{"event id", event.FieldEventID, `"\ud83d\ude00"`, "😀"},
		{"event id in upper-case hex", event.FieldEventID, `"x\uD83D\uDE00y"`, "x😀y"},
		{"client id of the highest character", event.FieldClientID, `"\udbff\udfff"`, "\U0010ffff"},
		{"key", event.FieldKey, `"cpu \ud83d\ude00"`, "cpu 😀"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := decodeOne(t, eventJSON(tc.field, tc.value))
			if it.Err != nil {
				t.Fatalf("Err: got %v, want nil", it.Err)
			}
			got := map[string]string{event.FieldClientID: it.Event.ClientID, event.FieldEventID: it.Event.ID, event.FieldKey: it.Event.Key}[tc.field]
			if got != tc.want {
				t.Errorf("%s: got %q, want %q", tc.field, got, tc.want)
			}
		})
	}
}

func TestDecodeReportsFirstFaultyField(t *testing.T) {
	allBad := []string{
		"client_id", `""`, "event_id", `""`, "event_timestamp", `-1`,
		"event_type", `"X"`, "event_key", `""`, "event_value", `true`,
	}
	tests := []struct {
		name  string
		fixed []string // overrides applied after allBad
		field string
	}{
		{"all fields bad", nil, event.FieldClientID},
		{"empty object", []string{"client_id", omit, "event_id", omit, "event_timestamp", omit, "event_type", omit, "event_key", omit, "event_value", omit}, event.FieldClientID},
		{"client id good", []string{"client_id", `"c1"`}, event.FieldEventID},
		{"ids good", []string{"client_id", `"c1"`, "event_id", `"e1"`}, event.FieldTimestamp},
		{"ids and timestamp good", []string{"client_id", `"c1"`, "event_id", `"e1"`, "event_timestamp", `0`}, event.FieldType},
		{"only key and value bad", []string{"client_id", `"c1"`, "event_id", `"e1"`, "event_timestamp", `0`, "event_type", `"cumulative"`}, event.FieldKey},
		{"only value bad", []string{"client_id", `"c1"`, "event_id", `"e1"`, "event_timestamp", `0`, "event_type", `"cumulative"`, "event_key", `"k"`}, event.FieldValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := eventJSON(append(append([]string(nil), allBad...), tc.fixed...)...)
			checkFieldErr(t, decodeOne(t, body).Err, tc.field)
		})
	}
}

func TestDecodeRawID(t *testing.T) {
	const uuidUpper = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
	long := strings.Repeat("x", 129)
	tests := []struct {
		name      string
		overrides []string
		rawID     string
		wantID    string // Event.ID when the item is good
		errField  string
	}{
		{"plain id", []string{"event_id", `"E-1"`}, "E-1", "E-1", ""},
		{"upper-case uuid as sent", []string{"event_id", `"` + uuidUpper + `"`}, uuidUpper, "6f9619ff-8b86-d011-b42d-00c04fc964ff", ""},
		{"escaped id decoded", []string{"event_id", `"a\"b"`}, `a"b`, `a"b`, ""},
		{"id too long", []string{"event_id", `"` + long + `"`}, long, "", event.FieldEventID},
		{"id not a string", []string{"event_id", `5`}, "", "", event.FieldEventID},
		{"id null", []string{"event_id", `null`}, "", "", event.FieldEventID},
		{"id missing", []string{"event_id", omit}, "", "", event.FieldEventID},
		{"id empty", []string{"event_id", `""`}, "", "", event.FieldEventID},
		{"client id bad", []string{"client_id", `""`, "event_id", `"e9"`}, "e9", "", event.FieldClientID},
		{"value bad", []string{"event_id", `"e9"`, "event_value", `"x"`}, "e9", "", event.FieldValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := decodeOne(t, eventJSON(tc.overrides...))
			if it.RawID != tc.rawID {
				t.Errorf("RawID: got %q, want %q", it.RawID, tc.rawID)
			}
			if tc.errField != "" {
				checkFieldErr(t, it.Err, tc.errField)
				return
			}
			if it.Err != nil {
				t.Fatalf("Err: got %v, want nil", it.Err)
			}
			if it.Event.ID != tc.wantID {
				t.Errorf("Event.ID: got %q, want %q", it.Event.ID, tc.wantID)
			}
		})
	}
}

func TestEventMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		e    event.Event
		want string
	}{
		{"base event", baseEvent,
			`{"client_id":"c1","event_id":"e1","event_timestamp":1763850000,"event_type":"CUMULATIVE","event_key":"cpu","event_value":1.5}`},
		{"time series with fractions", event.Event{ClientID: "c", ID: "e", Timestamp: 1763850001_123000000, Type: event.TimeSeries, Key: "mem", Value: -0.25},
			`{"client_id":"c","event_id":"e","event_timestamp":1763850001.123,"event_type":"TIME-SERIES","event_key":"mem","event_value":-0.25}`},
		{"nanoseconds and exponent values", event.Event{ClientID: "c", ID: "e", Timestamp: 1763850001_123456789, Type: event.Cumulative, Key: "k", Value: 1e21},
			`{"client_id":"c","event_id":"e","event_timestamp":1763850001.123456789,"event_type":"CUMULATIVE","event_key":"k","event_value":1e+21}`},
		{"zero timestamp and small value", event.Event{ClientID: "c", ID: "e", Timestamp: 0, Type: event.Cumulative, Key: "k", Value: 1e-7},
			`{"client_id":"c","event_id":"e","event_timestamp":0,"event_type":"CUMULATIVE","event_key":"k","event_value":1e-7}`},
		{"quotes and backslashes", event.Event{ClientID: `c"1`, ID: `e\1`, Timestamp: 1_000_000_000, Type: event.Cumulative, Key: `a"b\c`, Value: 2},
			`{"client_id":"c\"1","event_id":"e\\1","event_timestamp":1,"event_type":"CUMULATIVE","event_key":"a\"b\\c","event_value":2}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.e.MarshalJSON()
			if err != nil {
				t.Fatalf("MarshalJSON: %v", err)
			}
			if got := string(b); got != tc.want {
				t.Errorf("MarshalJSON:\n got %s\nwant %s", got, tc.want)
			}
			b, err = json.Marshal(tc.e)
			if err != nil {
				t.Fatalf("json.Marshal: %v", err)
			}
			if got := string(b); got != tc.want {
				t.Errorf("json.Marshal:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestEventMarshalJSONStrings checks that any valid string of an event is
// written as valid JSON that encoding/json reads back to the same string.
func TestEventMarshalJSONStrings(t *testing.T) {
	tests := []struct {
		name string
		id   string
		key  string
	}{
		{"line separators", "a\u2028b\u2029c", "k\u2028\u2029"},
		{"html characters", "<script>&amp;</script>", "<>&"},
		{"quotes and backslashes", `"\"\\'`, `\"`},
		{"multi-byte runes", "日本語✓😀", "température/°C 😀"},
		{"zero-width and format characters", "a\u200b\u200e\ufeffb", "a\u200bb\u00adc"},
		{"replacement character", "\ufffd", "\ufffd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := baseEvent
			e.ClientID, e.ID, e.Key = tc.id, tc.id, tc.key
			b, err := e.MarshalJSON()
			if err != nil {
				t.Fatalf("MarshalJSON: %v", err)
			}
			if !json.Valid(b) {
				t.Fatalf("MarshalJSON wrote invalid JSON: %q", b)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("encoding/json cannot read %q: %v", b, err)
			}
			for field, want := range map[string]string{"client_id": tc.id, "event_id": tc.id, "event_key": tc.key} {
				if got[field] != want {
					t.Errorf("%s: got %#v, want %#v", field, got[field], want)
				}
			}
		})
	}
}

func TestEventMarshalJSONRejectsInvalid(t *testing.T) {
	tests := []struct {
		name   string
		modify func(e *event.Event)
		field  string
	}{
		{"empty client id", func(e *event.Event) { e.ClientID = "" }, event.FieldClientID},
		{"event id invalid utf-8", func(e *event.Event) { e.ID = "\xff" }, event.FieldEventID},
		{"negative timestamp", func(e *event.Event) { e.Timestamp = -1 }, event.FieldTimestamp},
		{"no type", func(e *event.Event) { e.Type = 0 }, event.FieldType},
		{"key with control character", func(e *event.Event) { e.Key = "a\nb" }, event.FieldKey},
		{"value NaN", func(e *event.Event) { e.Value = math.NaN() }, event.FieldValue},
		{"value infinite", func(e *event.Event) { e.Value = math.Inf(-1) }, event.FieldValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := baseEvent
			tc.modify(&e)
			b, err := e.MarshalJSON()
			if err == nil {
				t.Fatalf("MarshalJSON: got %s and no error, want an invalid %s", b, tc.field)
			}
			checkFieldErr(t, err, tc.field)
			if _, err := json.Marshal(e); !errors.Is(err, event.ErrInvalid) {
				t.Errorf("json.Marshal: got error %v, want one matching ErrInvalid", err)
			}
		})
	}
}

func TestEventUnmarshalJSON(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     event.Event
		errField string // "" when the input is a valid event
	}{
		{"canonical form", `{"client_id":"c1","event_id":"e1","event_timestamp":1763850000,"event_type":"CUMULATIVE","event_key":"cpu","event_value":1.5}`, baseEvent, ""},
		{"sent form with strings and milliseconds", `{"event_value":"1.5","event_key":"cpu","event_type":"cumulative","event_timestamp":"1763850000000","event_id":"e1","client_id":"c1","other":1}`, baseEvent, ""},
		{"upper-case uuids normalised", `{"client_id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","event_id":"6F9619FF-8B86-D011-B42D-00C04FC964FE","event_timestamp":0,"event_type":"time-series","event_key":"k","event_value":0}`,
			event.Event{ClientID: "6f9619ff-8b86-d011-b42d-00c04fc964ff", ID: "6f9619ff-8b86-d011-b42d-00c04fc964fe", Type: event.TimeSeries, Key: "k"}, ""},
		{"empty object", `{}`, event.Event{}, event.FieldClientID},
		{"bad timestamp", eventJSON("event_timestamp", `"0x10"`), event.Event{}, event.FieldTimestamp},
		{"bad type", eventJSON("event_type", `"GAUGE"`), event.Event{}, event.FieldType},
		{"value past float range", eventJSON("event_value", `1e400`), event.Event{}, event.FieldValue},
		{"value missing", eventJSON("event_value", omit), event.Event{}, event.FieldValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := event.Event{ClientID: "before"}
			err := e.UnmarshalJSON([]byte(tc.in))
			if tc.errField != "" {
				checkFieldErr(t, err, tc.errField)
				if e != (event.Event{ClientID: "before"}) {
					t.Errorf("UnmarshalJSON changed the event on error: got %+v", e)
				}
				return
			}
			if err != nil {
				t.Fatalf("UnmarshalJSON: %v", err)
			}
			if e != tc.want {
				t.Errorf("UnmarshalJSON: got %+v, want %+v", e, tc.want)
			}
		})
	}
}

func TestEventUnmarshalJSONRejectsNonObjects(t *testing.T) {
	for _, in := range []string{`5`, `"x"`, `[]`, `true`, `{`, `{"client_id":}`, ``} {
		t.Run(in, func(t *testing.T) {
			var e event.Event
			if err := e.UnmarshalJSON([]byte(in)); err == nil {
				t.Errorf("UnmarshalJSON(%q): got %+v and no error, want an error", in, e)
			}
		})
	}
}

func TestEventsInEncodingJSON(t *testing.T) {
	in := `[` + eventJSON() + `,` + eventJSON("event_id", `"e2"`, "event_type", `"time-series"`) + `]`
	var got []event.Event
	if err := json.Unmarshal([]byte(in), &got); err != nil {
		t.Fatalf("json.Unmarshal: %v", err)
	}
	e2 := baseEvent
	e2.ID, e2.Type = "e2", event.TimeSeries
	want := []event.Event{baseEvent, e2}
	if len(got) != len(want) {
		t.Fatalf("json.Unmarshal: got %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	var bad []event.Event
	err := json.Unmarshal([]byte(`[`+eventJSON("event_key", `""`)+`]`), &bad)
	if !errors.Is(err, event.ErrInvalid) {
		t.Errorf("json.Unmarshal of an invalid event: got error %v, want one matching ErrInvalid", err)
	}
}

// randomEvents returns valid events with normalised ids, built from random
// parts.
func randomEvents(n int) []event.Event {
	rng := rand.New(rand.NewPCG(7, 11))
	pieces := []string{"a", "Z", "0", "-", " ", `"`, `\`, "/", "é", "€", "😀", "\u2028", "\u200b", "\ufffd", "<", "&"}
	idPieces := append([]string{"\u00a0", "\u00ad", "\u202e"}, pieces...)
	str := func(from []string, maxBytes int) string {
		var b strings.Builder
		for n := 1 + rng.IntN(12); n > 0; n-- {
			p := from[rng.IntN(len(from))]
			if b.Len()+len(p) > maxBytes {
				break
			}
			b.WriteString(p)
		}
		if b.Len() == 0 {
			return "x"
		}
		return b.String()
	}
	events := make([]event.Event, 0, n)
	for len(events) < n {
		e := event.Event{
			ClientID: str(idPieces, event.MaxIDLen),
			ID:       str(idPieces, event.MaxIDLen),
			Type:     event.Type(1 + rng.IntN(2)),
			Key:      str(pieces, event.MaxKeyLen),
		}
		switch rng.IntN(3) {
		case 0:
			e.Timestamp = event.Timestamp(rng.Int64())
		case 1:
			e.Timestamp = event.Timestamp(rng.Int64N(9e9) * 1e9)
		default:
			e.Timestamp = event.Timestamp(rng.Int64N(9e12) * 1e6)
		}
		switch rng.IntN(3) {
		case 0:
			e.Value = math.Float64frombits(rng.Uint64())
		case 1:
			e.Value = float64(rng.IntN(1e6)) / 100
		default:
			e.Value = float64(rng.Int64()) - 1<<62
		}
		if math.IsNaN(e.Value) || math.IsInf(e.Value, 0) {
			continue
		}
		events = append(events, e)
	}
	return events
}

func TestEventRoundTrip(t *testing.T) {
	events := []event.Event{
		baseEvent,
		{ClientID: "6f9619ff-8b86-d011-b42d-00c04fc964ff", ID: "{6F9619FF-8B86-D011-B42D-00C04FC964FF}", Timestamp: math.MaxInt64, Type: event.TimeSeries, Key: strings.Repeat("é", 128), Value: -math.MaxFloat64},
		{ClientID: strings.Repeat("c", 128), ID: "  x ", Timestamp: 1, Type: event.Cumulative, Key: "a\u2028b", Value: math.SmallestNonzeroFloat64},
		{ClientID: "c", ID: "e", Timestamp: 1763850001_123456789, Type: event.Cumulative, Key: "k", Value: 0.1},
		{ClientID: "c", ID: "e", Timestamp: 1763850001_123000000, Type: event.Cumulative, Key: "k", Value: 1e21},
	}
	events = append(events, randomEvents(2000)...)
	for i, e := range events {
		b, err := e.MarshalJSON()
		if err != nil {
			t.Fatalf("event %d %#v: MarshalJSON: %v", i, e, err)
		}
		var back event.Event
		if err := back.UnmarshalJSON(b); err != nil {
			t.Fatalf("event %d: UnmarshalJSON(%q): %v", i, b, err)
		}
		if back != e {
			t.Errorf("event %d: round trip through %q: got %#v, want %#v", i, b, back, e)
		}
		if math.Signbit(back.Value) != math.Signbit(e.Value) {
			t.Errorf("event %d: round trip lost the sign of %v", i, e.Value)
		}
		it := decodeOne(t, string(b))
		if it.Err != nil || it.Event != e {
			t.Errorf("event %d: Decode(%q): got %#v (error %v), want %#v", i, b, it.Event, it.Err, e)
		}
	}
}

func TestEventRoundTripNormalisesIDs(t *testing.T) {
	e := baseEvent
	e.ClientID = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
	e.ID = "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"
	b, err := e.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	var back event.Event
	if err := back.UnmarshalJSON(b); err != nil {
		t.Fatalf("UnmarshalJSON: %v", err)
	}
	want := baseEvent
	want.ClientID = "6f9619ff-8b86-d011-b42d-00c04fc964ff"
	want.ID = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
	if back != want {
		t.Errorf("round trip: got %+v, want %+v", back, want)
	}
}

func FuzzDecode(f *testing.F) {
	seeds := []string{
		eventJSON(),
		"[" + eventJSON() + "," + eventJSON("event_id", `"6F9619FF-8B86-D011-B42D-00C04FC964FF"`, "event_type", `"time-series"`) + "]",
		eventJSON("event_timestamp", `"1763850001123.456"`, "event_value", `"1e-7"`),
		eventJSON("event_timestamp", `1763850001123456789`, "event_value", `-0`),
		eventJSON("event_key", `"a\u2028\"b\\"`, "client_id", `"a\u0001"`),
		eventJSON("event_value", `1e400`),
		`[{}, {"client_id":5}]`,
		`[]`,
		``,
		`null`,
		`[[[[`,
		`{"a":1} x`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := event.Decode(body, 50)
		if err != nil {
			var e *event.Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode error %v (%T) is not an *Error", err, err)
			}
			if !errors.Is(err, event.ErrInvalid) && !errors.Is(err, event.ErrTooLarge) {
				t.Fatalf("Decode error %v is neither ErrInvalid nor ErrTooLarge", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("Decode accepted a body that is not valid JSON: %q", body)
		}
		if len(items) == 0 {
			t.Fatalf("Decode returned no items and no error for %q", body)
		}
		for i, it := range items {
			if it.Err != nil {
				var e *event.Error
				if !errors.As(it.Err, &e) || !errors.Is(it.Err, event.ErrInvalid) || e.Field == "" {
					t.Fatalf("item %d: error %v is not an invalid-field *Error", i, it.Err)
				}
				continue
			}
			if err := it.Event.Validate(); err != nil {
				t.Fatalf("item %d: accepted event does not validate: %v", i, err)
			}
			b, err := json.Marshal(it.Event)
			if err != nil {
				t.Fatalf("item %d: json.Marshal(%#v): %v", i, it.Event, err)
			}
			if !json.Valid(b) {
				t.Fatalf("item %d: MarshalJSON wrote invalid JSON %q", i, b)
			}
			var back event.Event
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("item %d: reading back %q: %v", i, b, err)
			}
			if back != it.Event {
				t.Fatalf("item %d: round trip through %q: got %#v, want %#v", i, b, back, it.Event)
			}
			again, err := event.Decode(b, 1)
			if err != nil || len(again) != 1 || again[0].Err != nil || again[0].Event != it.Event {
				t.Fatalf("item %d: Decode(%q) does not give the event back", i, b)
			}
		}
	})
}
