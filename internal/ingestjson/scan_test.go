package ingestjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/montool/montool/internal/event"
)

// decodeJSON decodes body as Batch.DecodeJSON does into a new batch, and
// returns its items, or nil and the error.
func decodeJSON(body []byte, maxEvents int) ([]Item, error) {
	var b Batch
	if err := b.DecodeJSON(body, maxEvents); err != nil {
		return nil, err
	}
	return b.Items(), nil
}

// decodeNDJSON is decodeJSON of Batch.DecodeNDJSON.
func decodeNDJSON(body []byte, maxEvents int) ([]Item, error) {
	var b Batch
	if err := b.DecodeNDJSON(body, maxEvents); err != nil {
		return nil, err
	}
	return b.Items(), nil
}

// sameError reports how got and want differ, as errors of the decoder: both
// nil, or both an *event.Error of the same kind, field and message.
func sameError(got, want error) string {
	if (got == nil) != (want == nil) {
		return fmt.Sprintf("error %v, want %v", got, want)
	}
	if got == nil {
		return ""
	}
	var g, w *event.Error
	if !errors.As(got, &g) || !errors.As(want, &w) {
		return fmt.Sprintf("error %v (%T), want %v (%T)", got, got, want, want)
	}
	if g.Kind != w.Kind || g.Field != w.Field || g.Message != w.Message {
		return fmt.Sprintf("error %#v, want %#v", *g, *w)
	}
	return ""
}

// sameEvent reports how got and want differ, telling 0 from -0.
func sameEvent(got, want event.Event) string {
	if got != want || math.Signbit(got.Value) != math.Signbit(want.Value) {
		return fmt.Sprintf("event %#v, want %#v", got, want)
	}
	return ""
}

// sameItems reports how the results of two decoders differ.
func sameItems(got []Item, gotErr error, want []Item, wantErr error) string {
	if d := sameError(gotErr, wantErr); d != "" {
		return "body " + d
	}
	if (got == nil) != (want == nil) || len(got) != len(want) {
		return fmt.Sprintf("%d items (nil %t), want %d (nil %t)", len(got), got == nil, len(want), want == nil)
	}
	for i := range want {
		if d := sameEvent(got[i].Event, want[i].Event); d != "" {
			return fmt.Sprintf("item %d: %s", i, d)
		}
		if got[i].RawID != want[i].RawID {
			return fmt.Sprintf("item %d: RawID %q, want %q", i, got[i].RawID, want[i].RawID)
		}
		if d := sameError(got[i].Err, want[i].Err); d != "" {
			return fmt.Sprintf("item %d: %s", i, d)
		}
	}
	return ""
}

// jsonEvent writes an event object with the fields of a valid event, each
// replaced by the raw JSON value given for it in overrides (name, value,
// name, value…), and left out when that value is "-". Names that are no
// event field are added at the end.
func jsonEvent(overrides ...string) string {
	names := []string{event.FieldClientID, event.FieldEventID, event.FieldTimestamp, event.FieldType, event.FieldKey, event.FieldValue}
	vals := map[string]string{
		event.FieldClientID: `"c1"`, event.FieldEventID: `"e1"`, event.FieldTimestamp: `1763850000123`,
		event.FieldType: `"CUMULATIVE"`, event.FieldKey: `"cpu"`, event.FieldValue: `1.5`,
	}
	for i := 0; i+1 < len(overrides); i += 2 {
		if _, ok := vals[overrides[i]]; !ok {
			names = append(names, overrides[i])
		}
		vals[overrides[i]] = overrides[i+1]
	}
	var parts []string
	for _, n := range names {
		if v := vals[n]; v != "-" {
			parts = append(parts, `"`+n+`":`+v)
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// matchSeeds are bodies on the edges of what the scanner reads.
func matchSeeds() []string {
	deep := func(n int, open, close, inner string) string {
		return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
	}
	const uuidUpper, uuidLower = `"6F9619FF-8B86-D011-B42D-00C04FC964FF"`, `"6f9619ff-8b86-d011-b42d-00c04fc964ff"`
	seeds := []string{
		jsonEvent(),
		"[" + jsonEvent() + "," + jsonEvent(event.FieldEventID, uuidUpper, event.FieldType, `"time-series"`) + "]",
		jsonEvent(event.FieldClientID, uuidLower, event.FieldEventID, uuidUpper),
		jsonEvent(event.FieldClientID, `"6F9619FF-8B86-D011-B42D-00C04FC964FG"`, event.FieldEventID, `"6f9619ff-8b86-d011-b42d_00c04fc964ff"`),
		// Escapes and Unicode.
		jsonEvent(event.FieldKey, `"a\u2028\"b\\\/\b\f\n\r\t"`, event.FieldClientID, `"a\u0001"`),
		jsonEvent(event.FieldEventID, `"\ud83d\ude00 \ud83d \ude00 \ud83d\u0041 \udbff\udfff \ud800\ud800\udc00"`),
		jsonEvent(event.FieldEventID, `"\ud83d\ude00 \udbff\udfff \uD800\uDC00 \ufffd \\ud800 \\\ud83d\ude00"`, event.FieldKey, "\"\xef\xbf\xbd\""),
		jsonEvent(event.FieldClientID, `"x\ud800"`, event.FieldEventID, `"x\ud801"`),
		jsonEvent(event.FieldClientID, `"c\u001b[31m"`, event.FieldEventID, "\"e\x7f\""),
		jsonEvent(event.FieldEventID, `"e\u009b"`, event.FieldClientID, "\"c\u0085\""),
		jsonEvent(event.FieldEventID, "\"e\u0085\"", event.FieldKey, `"\u001b"`),
		jsonEvent(event.FieldEventID, `"x\ud801"`, event.FieldKey, `"\udc00"`),
		jsonEvent(event.FieldKey, `"k\ud83d"`, event.FieldType, `"\ud83dCUMULATIVE"`),
		jsonEvent(event.FieldType, `"\ud83dCUMULATIVE"`, event.FieldTimestamp, `"1\ud800"`),
		jsonEvent(event.FieldKey, `"\ude00\ud83d\\ude00"`, `x\ud800`, `"\ud800"`),
		jsonEvent(event.FieldKey, `"\u00e9\u00E9\u0085\u009f\u00a0\u007f"`),
		jsonEvent(event.FieldKey, `"température ✓ 😀"`, event.FieldClientID, `"日本語"`),
		jsonEvent(event.FieldKey, "\"a\x7fb\u0085\"", event.FieldEventID, "\"e\xff\"", event.FieldClientID, "\"c\xe2\x82\""),
		jsonEvent(event.FieldValue, "\"1\xff\"", event.FieldTimestamp, `"\u0031\u0032"`),
		jsonEvent(event.FieldType, "\"cumul\xc0\xafative\"", event.FieldValue, `"\ud800"`),
		jsonEvent(event.FieldType, `"\u0063umulative"`, event.FieldTimestamp, `"\ufffd"`),
		// Keys with escapes, duplicate keys, differently cased keys.
		`{"client\u005fid":"c1","\u0065vent_id":"e1","event_timestamp":1,"event_type":"CUMULATIVE","event_key":"k","event_value":1,"event_key":"k2"}`,
		`{"client_id":"c1","client_id":5,"event_id":"e1","event_id":null}`,
		jsonEvent("Client_ID", `"x"`, "EVENT_VALUE", `9`, `client_id\u0000`, `1`, "\xffclient_id", `2`, `event_key\"`, `3`),
		jsonEvent(event.FieldKey, `"a"`, `event\u005fkey`, `"b\u0000"`, `\u0065vent_value`, `"1"`),
		// Unknown fields of every kind.
		jsonEvent("extra", `{"nested":[1,{"x":null,"y":[true,false,"s\n"]}],"e":{}}`, "a", `[]`, "b", `-0.0e+0`),
		jsonEvent("extra", deep(200, "[", "]", `{"a":[{}]}`)),
		jsonEvent("extra", deep(9998, "[", "]", "")),
		jsonEvent("extra", deep(9999, "[", "]", "")),
		"[" + jsonEvent("extra", deep(9997, "[", "]", "")) + "]",
		"[" + jsonEvent("extra", deep(9998, "[", "]", "")) + "]",
		deep(10000, "[", "]", ""),
		deep(10001, "[", "]", ""),
		deep(5000, `{"a":`, "}", "1"),
		// Numbers at the edges.
		jsonEvent(event.FieldTimestamp, `1763850001123456789`, event.FieldValue, `-0`),
		jsonEvent(event.FieldTimestamp, `9223372036854775807`, event.FieldValue, `1.7976931348623157e308`),
		jsonEvent(event.FieldTimestamp, `9223372036854775808`, event.FieldValue, `1.7976931348623159e308`),
		jsonEvent(event.FieldTimestamp, `99999999999`, event.FieldValue, `4.9e-324`),
		jsonEvent(event.FieldTimestamp, `1e-400`, event.FieldValue, `1e-400`),
		jsonEvent(event.FieldTimestamp, `0.0000000001`, event.FieldValue, `123456789012345678901234567890`),
		jsonEvent(event.FieldTimestamp, `1763850000.123456789123`, event.FieldValue, `0.1e1`),
		jsonEvent(event.FieldTimestamp, `-0`, event.FieldValue, `-1E+2`),
		jsonEvent(event.FieldTimestamp, `"1763850000"`, event.FieldValue, `"1e400"`),
		jsonEvent(event.FieldTimestamp, `" 1"`, event.FieldValue, `"01"`),
		jsonEvent(event.FieldTimestamp, `01`),
		jsonEvent(event.FieldValue, `1.`),
		jsonEvent(event.FieldValue, `-`),
		jsonEvent(event.FieldValue, `1e`),
		jsonEvent(event.FieldValue, `.5`),
		jsonEvent(event.FieldValue, `+1`),
		// Values of the wrong kind.
		jsonEvent(event.FieldClientID, `5`, event.FieldEventID, `true`, event.FieldTimestamp, `{}`, event.FieldType, `[]`, event.FieldKey, `null`, event.FieldValue, `false`),
		jsonEvent(event.FieldClientID, "-", event.FieldEventID, "-", event.FieldTimestamp, "-", event.FieldType, "-", event.FieldKey, "-", event.FieldValue, "-"),
		jsonEvent(event.FieldClientID, `""`, event.FieldEventID, `"`+strings.Repeat("x", 129)+`"`),
		jsonEvent(event.FieldClientID, `"`+strings.Repeat("\\u00e9", 64)+`"`, event.FieldKey, `"`+strings.Repeat("k", 257)+`"`),
		// White space.
		" \n\t\r{ \"client_id\" : \"c1\" ,\n\"event_id\":\"e1\", \"event_timestamp\" :\t1763850000 ,\"event_type\":\"CUMULATIVE\" , \"event_key\":\"cpu\",\"event_value\" : 1.5 }\r\n ",
		" [ " + jsonEvent() + " , " + jsonEvent() + " ] ",
		"\f" + jsonEvent(),
		jsonEvent() + "\v",
		// Bodies that are refused whole.
		``, ` `, `[]`, `[ ]`, `null`, `5`, `"x"`, `true`, `{`, `[`, `]`, `}`, `{"a"}`, `{"a":}`, `{,}`, `[,]`, `[1,]`,
		`[{}, {"client_id":5}]`, `[{}, 5]`, `[5, {}]`, `[{}, [`, `[{}, 5, x]`, `[[]]`, `[null]`,
		jsonEvent() + " x", jsonEvent() + jsonEvent(), "[" + jsonEvent() + "]]", "\ufeff" + jsonEvent(),
		`{"a":tru}`, `{"a":nul}`, `{"a":falsey}`, `{"a":"\x01"}`, `{"a":"\q"}`, `{"a":"\u12"}`, `{"a":"\u12G4"}`, `{"a":"`,
		`{"a\`, `{"a\u`, `{"a":1 "b":2}`, `{"a" 1}`, `{"a":[1 2]}`, `{"a":{"b" 1}}`, `{"a":{1:2}}`,
		// NDJSON.
		jsonEvent() + "\n\n" + jsonEvent(event.FieldEventID, `"e2"`) + "\r\n  \n",
		jsonEvent() + "\nx\n[1]\n{\n" + jsonEvent() + " x\n{\"a\":\n1}\n",
	}
	return seeds
}

// FuzzDecodeMatchesReference holds DecodeJSON and DecodeNDJSON to the
// decoders they replace, decodeReference and decodeNDJSONReference: the
// same items, events, ids and errors, for any body.
func FuzzDecodeMatchesReference(f *testing.F) {
	for _, s := range matchSeeds() {
		for _, max := range []int{0, 1, 2, 50} {
			f.Add([]byte(s), max)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, maxEvents int) {
		orig := bytes.Clone(body)
		got, gotErr := decodeJSON(body, maxEvents)
		want, wantErr := decodeReference(body, maxEvents)
		if d := sameItems(got, gotErr, want, wantErr); d != "" {
			t.Fatalf("DecodeJSON(%q, %d): %s", body, maxEvents, d)
		}
		got, gotErr = decodeNDJSON(body, maxEvents)
		want, wantErr = decodeNDJSONReference(body, maxEvents)
		if d := sameItems(got, gotErr, want, wantErr); d != "" {
			t.Fatalf("DecodeNDJSON(%q, %d): %s", body, maxEvents, d)
		}
		if !bytes.Equal(body, orig) {
			t.Fatalf("the decoders changed their input")
		}
	})
}

// TestDecodeMatchesReferenceOnSeeds runs the seeds of
// FuzzDecodeMatchesReference inside bigger bodies too: in a batch, as NDJSON
// lines, and wrapped in an unknown field.
func TestDecodeMatchesReferenceOnSeeds(t *testing.T) {
	seeds := matchSeeds()
	for i, s := range seeds {
		other := seeds[(i+1)%len(seeds)]
		for _, body := range []string{s, "[" + s + "," + other + "]", s + "\n" + other, jsonEvent("x", s)} {
			for _, max := range []int{0, 1, 2} {
				got, gotErr := decodeJSON([]byte(body), max)
				want, wantErr := decodeReference([]byte(body), max)
				if d := sameItems(got, gotErr, want, wantErr); d != "" {
					t.Errorf("DecodeJSON(%.200q, %d): %s", body, max, d)
				}
				got, gotErr = decodeNDJSON([]byte(body), max)
				want, wantErr = decodeNDJSONReference([]byte(body), max)
				if d := sameItems(got, gotErr, want, wantErr); d != "" {
					t.Errorf("DecodeNDJSON(%.200q, %d): %s", body, max, d)
				}
			}
		}
	}
}

// TestDecodeAliasesBody checks that the strings of an event written
// without escapes are the bytes of the body, and that decoding it takes
// one allocation, the items, or none into a batch that has room for them.
func TestDecodeAliasesBody(t *testing.T) {
	body := []byte(jsonEvent(event.FieldClientID, `"6f9619ff-8b86-d011-b42d-00c04fc964ff"`, event.FieldEventID, `"E-1"`, event.FieldKey, `"cpu"`))
	items, err := decodeJSON(body, 0)
	if err != nil || len(items) != 1 || items[0].Err != nil {
		t.Fatalf("DecodeJSON: %v %v", items, err)
	}
	e := items[0].Event
	start := uintptr(unsafe.Pointer(unsafe.SliceData(body)))
	for _, s := range []string{e.ClientID, e.ID, e.Key, items[0].RawID} {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p < start || p >= start+uintptr(len(body)) {
			t.Errorf("%q does not point into the body", s)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = decodeJSON(body, 0) }); allocs != 1 {
		t.Errorf("DecodeJSON of one event: %v allocations, want 1 (the items)", allocs)
	}
	var reused Batch
	if allocs := testing.AllocsPerRun(100, func() { _ = reused.DecodeJSON(body, 0) }); allocs != 0 {
		t.Errorf("DecodeJSON of one event into a reused batch: %v allocations, want none", allocs)
	}
}

// TestDecodeAllocatesOnlyItems checks that decoding a batch of valid events
// takes one allocation, the items, with little room to spare.
func TestDecodeAllocatesOnlyItems(t *testing.T) {
	events := benchEvents(1000)
	for _, tc := range []struct {
		name   string
		decode func([]byte, int) ([]Item, error)
		body   string
	}{
		{"batch", decodeJSON, "[" + strings.Join(events, ",") + "]"},
		{"ndjson", decodeNDJSON, strings.Join(events, "\n") + "\n"},
		{"ndjson without a last newline", decodeNDJSON, strings.Join(events, "\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			items, err := tc.decode(body, 10_000)
			if err != nil || len(items) != len(events) || cap(items) > len(events)*11/10 {
				t.Fatalf("decode: %d items, room for %d, error %v; want %d", len(items), cap(items), err, len(events))
			}
			for i, it := range items {
				if it.Err != nil {
					t.Fatalf("item %d: %v", i, it.Err)
				}
			}
			if allocs := testing.AllocsPerRun(10, func() { _, _ = tc.decode(body, 10_000) }); allocs != 1 {
				t.Errorf("decode: %v allocations, want 1", allocs)
			}
		})
	}
}

// scanStringSlowly is scanner.string a byte at a time: where the string that
// opens data ends, and what it holds.
func scanStringSlowly(data []byte) (end int, escaped, high, ok bool) {
	for i := 1; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			return i + 1, escaped, high, true
		case c == '\\':
			escaped = true
			if i+1 >= len(data) {
				return 0, false, false, false
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+6 > len(data) {
					return 0, false, false, false
				}
				for _, h := range data[i+2 : i+6] {
					if !strings.ContainsRune("0123456789abcdefABCDEF", rune(h)) {
						return 0, false, false, false
					}
				}
				i += 5
			default:
				return 0, false, false, false
			}
		case c < 0x20:
			return 0, false, false, false
		case c >= 0x7f:
			high = true
		}
	}
	return 0, false, false, false
}

// TestScanStringEveryByte puts every pair of bytes at every place in the
// first words of a string, where the scanner reads eight bytes at a time.
func TestScanStringEveryByte(t *testing.T) {
	const filler = `abcdefghijklmnopqrstuvwxyz"` // the closing quote ends the fast path too
	for at := 1; at < 18; at++ {
		for c1 := 0; c1 < 256; c1++ {
			for c2 := 0; c2 < 256; c2++ {
				data := []byte(`"` + filler)
				data[at], data[at+1] = byte(c1), byte(c2)
				for _, d := range [][]byte{data, data[:at+2]} { // and where the data ends
					s := scanner{data: d}
					escaped, high, ok := s.string()
					end, wantEscaped, wantHigh, wantOK := scanStringSlowly(d)
					if ok != wantOK || ok && (s.pos != end || escaped != wantEscaped || high != wantHigh) {
						t.Fatalf("string(%q): end %d, escaped %t, high %t, ok %t; want %d, %t, %t, %t",
							d, s.pos, escaped, high, ok, end, wantEscaped, wantHigh, wantOK)
					}
					if ok && !json.Valid(d[:end]) {
						t.Fatalf("string(%q): ok, but encoding/json refuses %q", d, d[:end])
					}
				}
			}
		}
	}
}

// TestNestedMatchesEncodingJSON reads deeply nested arrays and objects, some
// with a wrong closing bracket at some level, as encoding/json does.
func TestNestedMatchesEncodingJSON(t *testing.T) {
	for depth := 1; depth <= 300; depth += 7 {
		for pattern := range 4 {
			var open, closing []string
			for level := range depth {
				if (level>>pattern)&1 == 0 {
					open, closing = append(open, "["), append(closing, "]")
				} else {
					open, closing = append(open, `{"k":`), append(closing, "}")
				}
			}
			inner := "1"
			if (depth>>pattern)&1 == 0 {
				inner = "[]"
			}
			for wrong := -1; wrong < depth; wrong += 1 + depth/5 {
				var b strings.Builder
				for _, o := range open {
					b.WriteString(o)
				}
				b.WriteString(inner)
				for level := depth - 1; level >= 0; level-- {
					c := closing[level]
					if level == wrong {
						c = map[string]string{"]": "}", "}": "]"}[c]
					}
					b.WriteString(c)
				}
				body := []byte(b.String())
				s := scanner{data: body}
				if got, want := s.value(1) && s.pos == len(body), json.Valid(body); got != want {
					t.Errorf("depth %d, pattern %d, wrong closer at %d: valid %t, want %t", depth, pattern, wrong, got, want)
				}
			}
		}
	}
}
