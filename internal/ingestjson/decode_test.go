package ingestjson_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/ingestjson"
)

// decodeOne decodes body, which must hold exactly one event, and returns its
// item.
func decodeOne(t *testing.T, body string) ingestjson.Item {
	t.Helper()
	items, err := decode(t, false, []byte(body), 0)
	if err != nil {
		t.Fatalf("DecodeJSON(%s): got body error %v, want one item", body, err)
	}
	if len(items) != 1 {
		t.Fatalf("DecodeJSON(%s): got %d items, want 1", body, len(items))
	}
	return items[0]
}

// TestBatchReuse decodes bodies one after the other into one batch: each
// decode gives the items of its own body alone, an error leaves none, and
// Reset empties the batch.
func TestBatchReuse(t *testing.T) {
	var b ingestjson.Batch
	steps := []struct {
		name   string
		ndjson bool
		body   string
		want   []string // the event ids, or nil for a body refused whole
	}{
		{"a batch", false, batchOf(3), []string{"e0", "e1", "e2"}},
		{"one event", false, eventJSON("event_id", `"x"`), []string{"x"}},
		{"a body refused whole", false, "[]", nil},
		{"NDJSON lines", true, eventJSON("event_id", `"n1"`) + "\n" + eventJSON("event_id", `"n2"`) + "\n", []string{"n1", "n2"}},
	}
	for _, st := range steps {
		decode := b.DecodeJSON
		if st.ndjson {
			decode = b.DecodeNDJSON
		}
		err := decode([]byte(st.body), 0)
		if (err != nil) != (st.want == nil) {
			t.Fatalf("%s: error %v, want one: %t", st.name, err, st.want == nil)
		}
		var got []string
		for _, it := range b.Items() {
			got = append(got, it.Event.ID)
		}
		if strings.Join(got, " ") != strings.Join(st.want, " ") {
			t.Errorf("%s: items of events %q, want %q", st.name, got, st.want)
		}
	}
	b.Reset()
	if n := len(b.Items()); n != 0 {
		t.Errorf("Reset: %d items left, want none", n)
	}
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
			items, err := decode(t, false, []byte(tc.body), 100)
			if err == nil {
				t.Fatalf("DecodeJSON: got %d items and no error, want ErrInvalid", len(items))
			}
			if items != nil {
				t.Errorf("DecodeJSON: got %d items with the error, want none", len(items))
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
			items, err := decode(t, false, []byte(tc.body), tc.maxEvents)
			if tc.tooLarge {
				if err == nil {
					t.Fatalf("DecodeJSON: got %d items and no error, want ErrTooLarge", len(items))
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
				t.Fatalf("DecodeJSON: %v", err)
			}
			if len(items) != tc.wantItems {
				t.Fatalf("DecodeJSON: got %d items, want %d", len(items), tc.wantItems)
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
	items, err := decode(t, false, []byte(body), 10)
	if err != nil {
		t.Fatalf("DecodeJSON: %v", err)
	}
	if len(items) != 5 {
		t.Fatalf("DecodeJSON: got %d items, want 5", len(items))
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
			items, err := decode(t, false, []byte(body), 0)
			if err != nil || len(items) != 2 {
				t.Fatalf("DecodeJSON: %d items, error %v; want 2 items", len(items), err)
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

// TestDecodeEventForms decodes an event in the forms it is written and
// sent in.
func TestDecodeEventForms(t *testing.T) {
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
			it := decodeOne(t, tc.in)
			if tc.errField != "" {
				checkFieldErr(t, it.Err, tc.errField)
				return
			}
			if it.Err != nil {
				t.Fatalf("decode: %v", it.Err)
			}
			if it.Event != tc.want {
				t.Errorf("decode: got %+v, want %+v", it.Event, tc.want)
			}
		})
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
		it := decodeOne(t, string(b))
		if it.Err != nil || it.Event != e {
			t.Errorf("event %d: decode(%q): got %#v (error %v), want %#v", i, b, it.Event, it.Err, e)
		}
		if math.Signbit(it.Event.Value) != math.Signbit(e.Value) {
			t.Errorf("event %d: round trip lost the sign of %v", i, e.Value)
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
	back := decodeOne(t, string(b))
	if back.Err != nil {
		t.Fatalf("decode: %v", back.Err)
	}
	want := baseEvent
	want.ClientID = "6f9619ff-8b86-d011-b42d-00c04fc964ff"
	want.ID = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
	if back.Event != want {
		t.Errorf("round trip: got %+v, want %+v", back.Event, want)
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
		items, err := decode(t, false, body, 50)
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
			again, err := decode(t, false, b, 1)
			if err != nil || len(again) != 1 || again[0].Err != nil || again[0].Event != it.Event {
				t.Fatalf("item %d: decode(%q) does not give the event back", i, b)
			}
		}
	})
}

func TestDecodeValue(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want float64
	}{
		{"number", `1.5`, 1.5},
		{"numeric string", `"1.5"`, 1.5},
		{"negative number", `-3`, -3},
		{"negative string", `"-3"`, -3},
		{"exponent string", `"1e3"`, 1000},
		{"exponent number", `1E-3`, 0.001},
		{"zero", `0`, 0},
		{"largest float", `1.7976931348623157e308`, math.MaxFloat64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := decode(t, false, []byte(eventJSON("event_value", tc.raw)), 0)
			if err != nil {
				t.Fatalf("DecodeJSON: %v", err)
			}
			if len(items) != 1 {
				t.Fatalf("DecodeJSON: got %d items, want 1", len(items))
			}
			if items[0].Err != nil {
				t.Fatalf("DecodeJSON: item error %v", items[0].Err)
			}
			if got := items[0].Event.Value; got != tc.want {
				t.Errorf("Value: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDecodeValueRejected(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		message string
	}{
		{"number past float range", `1e400`, "must be a finite number"},
		{"negative number past float range", `-1e400`, "must be a finite number"},
		{"string past float range", `"1e400"`, "must be a finite number"},
		{"null", `null`, "is required"},
		{"missing", omit, "is required"},
		{"true", `true`, ""},
		{"false", `false`, ""},
		{"object", `{}`, ""},
		{"array", `[]`, ""},
		{"array of a number", `[1]`, ""},
		{"word string", `"abc"`, ""},
		{"empty string", `""`, ""},
		{"hex string", `"0x10"`, ""},
		{"NaN string", `"NaN"`, ""},
		{"Inf string", `"Inf"`, ""},
		{"leading space string", `" 1"`, ""},
		{"plus string", `"+1"`, ""},
		{"leading zero string", `"01"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := decode(t, false, []byte(eventJSON("event_value", tc.raw)), 0)
			if err != nil {
				t.Fatalf("DecodeJSON: got body error %v, want an item error", err)
			}
			if len(items) != 1 {
				t.Fatalf("DecodeJSON: got %d items, want 1", len(items))
			}
			checkFieldErr(t, items[0].Err, event.FieldValue)
			if items[0].Err != nil && tc.message != "" && !strings.Contains(items[0].Err.Error(), tc.message) {
				t.Errorf("item error: got %q, want it to contain %q", items[0].Err, tc.message)
			}
		})
	}
}

// TestDecodeTimestamp checks event_timestamp through DecodeJSON, as a JSON
// number and as a numeric string, and how the event writes it back.
func TestDecodeTimestamp(t *testing.T) {
	tests := []struct {
		name     string
		raw      string // the JSON value sent
		wantNS   int64
		wantText string // the JSON value written back
	}{
		{"seconds number", `1763850000`, 1763850000_000000000, `1763850000`},
		{"seconds string", `"1763850000"`, 1763850000_000000000, `1763850000`},
		{"fractional seconds string", `"1763850000.5"`, 1763850000_500000000, `1763850000.5`},
		{"fractional seconds number", `1763850000.5`, 1763850000_500000000, `1763850000.5`},
		{"seconds with zero fraction", `1763850000.000`, 1763850000_000000000, `1763850000`},
		{"seconds in exponent form", `1.7638500001e9`, 1763850000_100000000, `1763850000.1`},
		{"milliseconds number", `1763850001123`, 1763850001_123000000, `1763850001.123`},
		{"milliseconds string", `"1763850001123"`, 1763850001_123000000, `1763850001.123`},
		{"microseconds number", `1763850001123456`, 1763850001_123456000, `1763850001.123456`},
		{"nanoseconds number", `1763850001123456789`, 1763850001_123456789, `1763850001.123456789`},
		{"nanoseconds string", `"1763850001123456789"`, 1763850001_123456789, `1763850001.123456789`},
		{"zero", `0`, 0, `0`},
		{"largest", `9223372036854775807`, math.MaxInt64, `9223372036.854775807`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := decode(t, false, []byte(eventJSON("event_timestamp", tc.raw)), 0)
			if err != nil {
				t.Fatalf("DecodeJSON: %v", err)
			}
			if len(items) != 1 {
				t.Fatalf("DecodeJSON: got %d items, want 1", len(items))
			}
			if items[0].Err != nil {
				t.Fatalf("DecodeJSON: item error %v", items[0].Err)
			}
			if got := int64(items[0].Event.Timestamp); got != tc.wantNS {
				t.Errorf("Timestamp: got %d, want %d", got, tc.wantNS)
			}
			b, err := items[0].Event.MarshalJSON()
			if err != nil {
				t.Fatalf("MarshalJSON: %v", err)
			}
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(b, &fields); err != nil {
				t.Fatalf("MarshalJSON wrote invalid JSON %s: %v", b, err)
			}
			if got := string(fields["event_timestamp"]); got != tc.wantText {
				t.Errorf("event_timestamp written: got %s, want %s", got, tc.wantText)
			}
		})
	}
}

func TestDecodeTimestampRejected(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{
		{"hex string", `"0x10"`},
		{"Inf string", `"Inf"`},
		{"NaN string", `"NaN"`},
		{"leading space string", `" 1"`},
		{"trailing space string", `"1 "`},
		{"plus sign string", `"+1"`},
		{"trailing dot string", `"1."`},
		{"leading dot string", `".5"`},
		{"leading zero string", `"01"`},
		{"empty string", `""`},
		{"date string", `"2025-11-22T22:20:00Z"`},
		{"negative number", `-1`},
		{"negative string", `"-1763850000"`},
		{"negative fraction", `-0.5`},
		{"past 2262 in seconds", `9223372037`},
		{"past 2262 in nanoseconds", `9223372036854775808`},
		{"largest seconds value", `99999999999`},
		{"huge exponent", `1e400`},
		{"true", `true`},
		{"false", `false`},
		{"object", `{}`},
		{"array", `[1763850000]`},
		{"null", `null`},
		{"missing", omit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := decode(t, false, []byte(eventJSON("event_timestamp", tc.raw)), 0)
			if err != nil {
				t.Fatalf("DecodeJSON: got body error %v, want an item error", err)
			}
			if len(items) != 1 {
				t.Fatalf("DecodeJSON: got %d items, want 1", len(items))
			}
			checkFieldErr(t, items[0].Err, event.FieldTimestamp)
		})
	}
}

// TestDecodeTimestampNotJSON checks that numbers outside the JSON grammar,
// sent bare, make the whole body invalid.
func TestDecodeTimestampNotJSON(t *testing.T) {
	for _, raw := range []string{`0x10`, `Inf`, `NaN`, `+1`, `1.`, `.5`, `01`} {
		t.Run(raw, func(t *testing.T) {
			items, err := decode(t, false, []byte(eventJSON("event_timestamp", raw)), 0)
			if err == nil {
				t.Fatalf("DecodeJSON: got %d items and no error, want ErrInvalid", len(items))
			}
			if !errors.Is(err, event.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid): got false, want true", err)
			}
		})
	}
}
