package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// sameError reports how got and want differ, as errors of Decode: both nil,
// or both an *Error of the same kind, field and message.
func sameError(got, want error) string {
	if (got == nil) != (want == nil) {
		return fmt.Sprintf("error %v, want %v", got, want)
	}
	if got == nil {
		return ""
	}
	var g, w *Error
	if !errors.As(got, &g) || !errors.As(want, &w) {
		return fmt.Sprintf("error %v (%T), want %v (%T)", got, got, want, want)
	}
	if g.Kind != w.Kind || g.Field != w.Field || g.Message != w.Message {
		return fmt.Sprintf("error %#v, want %#v", *g, *w)
	}
	return ""
}

// sameEvent reports how got and want differ, telling 0 from -0.
func sameEvent(got, want Event) string {
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

// checkUnmarshalMatches holds Event.UnmarshalJSON to the reference: the same
// event or an error of the same type and text, and an event that does not
// change when its input does.
func checkUnmarshalMatches(t *testing.T, in []byte) {
	t.Helper()
	b := bytes.Clone(in)
	var got, want Event
	gotErr := got.UnmarshalJSON(b)
	wantErr := unmarshalReference(&want, b)
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && (gotErr.Error() != wantErr.Error() || fmt.Sprintf("%T", gotErr) != fmt.Sprintf("%T", wantErr)) {
		t.Fatalf("UnmarshalJSON(%q): error %v (%T), want %v (%T)", b, gotErr, gotErr, wantErr, wantErr)
	}
	before := got
	before.ClientID, before.ID, before.Key = strings.Clone(got.ClientID), strings.Clone(got.ID), strings.Clone(got.Key)
	for i := range b {
		b[i] = 'X'
	}
	if d := sameEvent(got, want); d != "" {
		t.Fatalf("UnmarshalJSON: %s", d)
	}
	if got != before {
		t.Fatalf("UnmarshalJSON: the event changed with its input: %#v, was %#v", got, before)
	}
}

// jsonEvent writes an event object with the fields of a valid event, each
// replaced by the raw JSON value given for it in overrides (name, value,
// name, value…), and left out when that value is "-". Names that are no
// event field are added at the end.
func jsonEvent(overrides ...string) string {
	names := []string{FieldClientID, FieldEventID, FieldTimestamp, FieldType, FieldKey, FieldValue}
	vals := map[string]string{
		FieldClientID: `"c1"`, FieldEventID: `"e1"`, FieldTimestamp: `1763850000123`,
		FieldType: `"CUMULATIVE"`, FieldKey: `"cpu"`, FieldValue: `1.5`,
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
		"[" + jsonEvent() + "," + jsonEvent(FieldEventID, uuidUpper, FieldType, `"time-series"`) + "]",
		jsonEvent(FieldClientID, uuidLower, FieldEventID, uuidUpper),
		jsonEvent(FieldClientID, `"6F9619FF-8B86-D011-B42D-00C04FC964FG"`, FieldEventID, `"6f9619ff-8b86-d011-b42d_00c04fc964ff"`),
		// Escapes and Unicode.
		jsonEvent(FieldKey, `"a\u2028\"b\\\/\b\f\n\r\t"`, FieldClientID, `"a\u0001"`),
		jsonEvent(FieldEventID, `"\ud83d\ude00 \ud83d \ude00 \ud83d\u0041 \udbff\udfff \ud800\ud800\udc00"`),
		jsonEvent(FieldEventID, `"\ud83d\ude00 \udbff\udfff \uD800\uDC00 \ufffd \\ud800 \\\ud83d\ude00"`, FieldKey, "\"\xef\xbf\xbd\""),
		jsonEvent(FieldClientID, `"x\ud800"`, FieldEventID, `"x\ud801"`),
		jsonEvent(FieldClientID, `"c\u001b[31m"`, FieldEventID, "\"e\x7f\""),
		jsonEvent(FieldEventID, `"e\u009b"`, FieldClientID, "\"c\u0085\""),
		jsonEvent(FieldEventID, "\"e\u0085\"", FieldKey, `"\u001b"`),
		jsonEvent(FieldEventID, `"x\ud801"`, FieldKey, `"\udc00"`),
		jsonEvent(FieldKey, `"k\ud83d"`, FieldType, `"\ud83dCUMULATIVE"`),
		jsonEvent(FieldType, `"\ud83dCUMULATIVE"`, FieldTimestamp, `"1\ud800"`),
		jsonEvent(FieldKey, `"\ude00\ud83d\\ude00"`, `x\ud800`, `"\ud800"`),
		jsonEvent(FieldKey, `"\u00e9\u00E9\u0085\u009f\u00a0\u007f"`),
		jsonEvent(FieldKey, `"température ✓ 😀"`, FieldClientID, `"日本語"`),
		jsonEvent(FieldKey, "\"a\x7fb\u0085\"", FieldEventID, "\"e\xff\"", FieldClientID, "\"c\xe2\x82\""),
		jsonEvent(FieldValue, "\"1\xff\"", FieldTimestamp, `"\u0031\u0032"`),
		jsonEvent(FieldType, "\"cumul\xc0\xafative\"", FieldValue, `"\ud800"`),
		jsonEvent(FieldType, `"\u0063umulative"`, FieldTimestamp, `"\ufffd"`),
		// Keys with escapes, duplicate keys, differently cased keys.
		`{"client\u005fid":"c1","\u0065vent_id":"e1","event_timestamp":1,"event_type":"CUMULATIVE","event_key":"k","event_value":1,"event_key":"k2"}`,
		`{"client_id":"c1","client_id":5,"event_id":"e1","event_id":null}`,
		jsonEvent("Client_ID", `"x"`, "EVENT_VALUE", `9`, `client_id\u0000`, `1`, "\xffclient_id", `2`, `event_key\"`, `3`),
		jsonEvent(FieldKey, `"a"`, `event\u005fkey`, `"b\u0000"`, `\u0065vent_value`, `"1"`),
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
		jsonEvent(FieldTimestamp, `1763850001123456789`, FieldValue, `-0`),
		jsonEvent(FieldTimestamp, `9223372036854775807`, FieldValue, `1.7976931348623157e308`),
		jsonEvent(FieldTimestamp, `9223372036854775808`, FieldValue, `1.7976931348623159e308`),
		jsonEvent(FieldTimestamp, `99999999999`, FieldValue, `4.9e-324`),
		jsonEvent(FieldTimestamp, `1e-400`, FieldValue, `1e-400`),
		jsonEvent(FieldTimestamp, `0.0000000001`, FieldValue, `123456789012345678901234567890`),
		jsonEvent(FieldTimestamp, `1763850000.123456789123`, FieldValue, `0.1e1`),
		jsonEvent(FieldTimestamp, `-0`, FieldValue, `-1E+2`),
		jsonEvent(FieldTimestamp, `"1763850000"`, FieldValue, `"1e400"`),
		jsonEvent(FieldTimestamp, `" 1"`, FieldValue, `"01"`),
		jsonEvent(FieldTimestamp, `01`),
		jsonEvent(FieldValue, `1.`),
		jsonEvent(FieldValue, `-`),
		jsonEvent(FieldValue, `1e`),
		jsonEvent(FieldValue, `.5`),
		jsonEvent(FieldValue, `+1`),
		// Values of the wrong kind.
		jsonEvent(FieldClientID, `5`, FieldEventID, `true`, FieldTimestamp, `{}`, FieldType, `[]`, FieldKey, `null`, FieldValue, `false`),
		jsonEvent(FieldClientID, "-", FieldEventID, "-", FieldTimestamp, "-", FieldType, "-", FieldKey, "-", FieldValue, "-"),
		jsonEvent(FieldClientID, `""`, FieldEventID, `"`+strings.Repeat("x", 129)+`"`),
		jsonEvent(FieldClientID, `"`+strings.Repeat("\\u00e9", 64)+`"`, FieldKey, `"`+strings.Repeat("k", 257)+`"`),
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
		jsonEvent() + "\n\n" + jsonEvent(FieldEventID, `"e2"`) + "\r\n  \n",
		jsonEvent() + "\nx\n[1]\n{\n" + jsonEvent() + " x\n{\"a\":\n1}\n",
	}
	return seeds
}

// FuzzDecodeMatchesReference holds Decode, DecodeNDJSON and
// Event.UnmarshalJSON to the decoder they replace, decodeReference: the same
// items, events, ids and errors, for any body.
func FuzzDecodeMatchesReference(f *testing.F) {
	for _, s := range matchSeeds() {
		for _, max := range []int{0, 1, 2, 50} {
			f.Add([]byte(s), max)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, maxEvents int) {
		orig := bytes.Clone(body)
		got, gotErr := Decode(body, maxEvents)
		want, wantErr := decodeReference(body, maxEvents)
		if d := sameItems(got, gotErr, want, wantErr); d != "" {
			t.Fatalf("Decode(%q, %d): %s", body, maxEvents, d)
		}
		got, gotErr = DecodeNDJSON(body, maxEvents)
		want, wantErr = decodeNDJSONReference(body, maxEvents)
		if d := sameItems(got, gotErr, want, wantErr); d != "" {
			t.Fatalf("DecodeNDJSON(%q, %d): %s", body, maxEvents, d)
		}
		if !bytes.Equal(body, orig) {
			t.Fatalf("the decoders changed their input")
		}
		checkUnmarshalMatches(t, body)
		var values []float64
		for _, it := range got {
			if it.Err == nil {
				values = append(values, it.Event.Value)
			}
		}
		checkSumMatches(t, values)
	})
}

// FuzzNumbersMatchReference holds the readers of numbers, timestamps and
// values to those they replace.
func FuzzNumbersMatchReference(f *testing.F) {
	for _, s := range []string{
		"0", "-0", "1", "-1", "01", "1.", ".5", "1e", "1e+", "+1", "1.5", "-0.0", "0.000", "1e-7", "1E+21",
		"1763850000", "1763850000.5", "1763850001123", "1763850001123456", "1763850001123456789",
		"9223372036854775807", "9223372036854775808", "99999999999", "10000000000", "9223372036.854775807",
		"9223372036854775807.9", "1.7638500001e9", "0.0000000001", "1e-400", "1e400", "123456789012345678901234567890",
		"4.9e-324", "1.7976931348623157e308", "1.7976931348623159e308", "999999999999999", "9999999999999999",
		"0.1", "0.3", "123.456", "12345678901234.5", "1234567890123.45", "9007199254740993", "1e22", "1e23",
		"00", "-", "", " 1", "1 ", "0x10", "NaN", "Inf", "1e99999999999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, msg := parseTimestamp(s)
		wantTS, wantMsg := referenceParseTimestamp(s)
		if ts != wantTS || msg != wantMsg {
			t.Fatalf("parseTimestamp(%q): %d %q, want %d %q", s, ts, msg, wantTS, wantMsg)
		}
		v, msg := parseValue(s)
		wantV, wantMsg := referenceParseValue(s)
		if math.Float64bits(v) != math.Float64bits(wantV) || msg != wantMsg {
			t.Fatalf("parseValue(%q): %v %q, want %v %q", s, v, msg, wantV, wantMsg)
		}
		checkDecimalMatches(t, s)
		if wantMsg == "" {
			checkSumMatches(t, []float64{v, 0.1, v, -v, 1e308})
		}
	})
}

// checkDecimalMatches holds parseDecimal to the reference: the same verdict
// on s, and digits × 10^exp, stripped of leading zeros, that are the exact
// value of s with its sign. Past every range montool takes the exponent is
// bounded, and the decimal need only be past it on the same side.
func checkDecimalMatches(t *testing.T, s string) {
	t.Helper()
	d, err := parseDecimal(s)
	if ok := referenceIsNumber(s); (err == nil) != ok {
		t.Fatalf("parseDecimal(%q): error %v, want a number: %t", s, err, ok)
	}
	if err != nil {
		return
	}
	want := referenceParseNumber(s)
	if d.neg != want.neg || strings.TrimLeft(d.digits, "0") != d.digits || strings.Trim(d.digits, "0123456789") != "" {
		t.Fatalf("parseDecimal(%q): %+v, want digits without leading zeros, negative: %t", s, d, want.neg)
	}
	order := len(d.digits) + d.exp // the decimal is below 10^order
	switch {
	case d.digits == "":
		if want.x == nil || want.x.Sign() != 0 {
			t.Fatalf("parseDecimal(%q): zero, want %+v", s, want)
		}
	case want.beyond > 0:
		if order <= referenceOrderBound {
			t.Fatalf("parseDecimal(%q): %+v, want a magnitude of at least 1e%d", s, d, referenceOrderBound)
		}
	case want.beyond < 0:
		if order > -referenceOrderBound {
			t.Fatalf("parseDecimal(%q): %+v, want a magnitude below 1e-%d", s, d, referenceOrderBound)
		}
	default:
		got, ok := new(big.Rat).SetString(d.digits + "e" + strconv.Itoa(d.exp))
		if ok && d.neg {
			got.Neg(got)
		}
		if !ok || got.Cmp(want.x) != 0 {
			t.Fatalf("parseDecimal(%q): %+v, want %s", s, d, want.x.RatString())
		}
	}
}

// checkSumMatches adds values, which must be finite, to a Sum and holds
// what each Add reports and the total to the reference.
func checkSumMatches(t *testing.T, values []float64) {
	t.Helper()
	wantAdded, wantTotal := referenceSum(values)
	var sum Sum
	for i, v := range values {
		if got := sum.Add(v); got != wantAdded[i] {
			t.Fatalf("Sum of %v: Add(%v) = %t, want %t", values[:i+1], v, got, wantAdded[i])
		}
	}
	// The exact total has no sign when it is zero: 0 and -0 are both right.
	if got := sum.Float64(); got != wantTotal {
		t.Fatalf("Sum of %v: %v, want %v", values, got, wantTotal)
	}
}

// TestNumbersMatchReferenceOnLongNumbers holds the readers of numbers to
// the reference on numbers too long for the fuzzer to reach: numbers of
// many digits and an exponent, which a body of up to 8 MiB may hold.
func TestNumbersMatchReferenceOnLongNumbers(t *testing.T) {
	z := strings.Repeat
	for _, s := range []string{
		"1" + z("0", 800) + "e-800",
		"1" + z("0", 799) + "1e-800",
		"1" + z("0", 900) + "1e-901",
		"-" + z("9", 1000) + ".5e-990",
		"1" + z("0", 20000) + "e-19991",
		"1" + z("0", 20000) + "e-20400",
		"0." + z("0", 20000) + "1e20001",
		"0." + z("0", 20000) + "1e20420",
		"0." + z("0", 2_000_000) + "1e2000001",
		"0." + z("0", 2_000_000) + "1e2000010",
		"1" + z("0", 2_000_000) + "e-1999991",
		"1" + z("0", 2_000_000) + "e-2000000",
		"1.00000000000000011102230246251565404236316680908203125" + z("0", 900), // halfway: to even
		"1.00000000000000011102230246251565404236316680908203125" + z("0", 900) + "1",
		"100000000000000011102230246251565404236316680908203125" + z("0", 900) + "1e-953",
		"-0." + z("0", 900),
		"0." + z("0", 900) + "E+5",
		"0e" + z("9", 30),
		"-0." + z("0", 30) + "e-" + z("9", 30),
		"1e" + z("9", 30),
		"1e-" + z("9", 30),
	} {
		ts, msg := parseTimestamp(s)
		wantTS, wantMsg := referenceParseTimestamp(s)
		if ts != wantTS || msg != wantMsg {
			t.Errorf("parseTimestamp(%.40q… of %d bytes): %d %q, want %d %q", s, len(s), ts, msg, wantTS, wantMsg)
		}
		v, msg := parseValue(s)
		wantV, wantMsg := referenceParseValue(s)
		if math.Float64bits(v) != math.Float64bits(wantV) || msg != wantMsg {
			t.Errorf("parseValue(%.40q… of %d bytes): %v %q, want %v %q", s, len(s), v, msg, wantV, wantMsg)
		}
		checkDecimalMatches(t, s)
	}
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
				got, gotErr := Decode([]byte(body), max)
				want, wantErr := decodeReference([]byte(body), max)
				if d := sameItems(got, gotErr, want, wantErr); d != "" {
					t.Errorf("Decode(%.200q, %d): %s", body, max, d)
				}
				got, gotErr = DecodeNDJSON([]byte(body), max)
				want, wantErr = decodeNDJSONReference([]byte(body), max)
				if d := sameItems(got, gotErr, want, wantErr); d != "" {
					t.Errorf("DecodeNDJSON(%.200q, %d): %s", body, max, d)
				}
			}
			checkUnmarshalMatches(t, []byte(body))
		}
	}
}

func TestDecodeAliasesBody(t *testing.T) {
	body := []byte(jsonEvent(FieldClientID, `"6f9619ff-8b86-d011-b42d-00c04fc964ff"`, FieldEventID, `"E-1"`, FieldKey, `"cpu"`))
	items, err := Decode(body, 0)
	if err != nil || len(items) != 1 || items[0].Err != nil {
		t.Fatalf("Decode: %v %v", items, err)
	}
	e := items[0].Event
	start := uintptr(unsafe.Pointer(unsafe.SliceData(body)))
	for _, s := range []string{e.ClientID, e.ID, e.Key, items[0].RawID} {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p < start || p >= start+uintptr(len(body)) {
			t.Errorf("%q does not point into the body", s)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = Decode(body, 0) }); allocs != 1 {
		t.Errorf("Decode of one event: %v allocations, want 1 (the items)", allocs)
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
		{"batch", Decode, "[" + strings.Join(events, ",") + "]"},
		{"ndjson", DecodeNDJSON, strings.Join(events, "\n") + "\n"},
		{"ndjson without a last newline", DecodeNDJSON, strings.Join(events, "\r\n")},
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

func TestHasControlMatchesUnicode(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		s := "a" + string(r) + "b"
		if got, want := hasControl(s), unicode.IsControl(r); got != want {
			t.Errorf("hasControl(%q): got %t, want %t", s, got, want)
		}
		if got, want := checkKey(s), referenceCheckKey(s); got != want {
			t.Errorf("checkKey(%q): got %q, want %q", s, got, want)
		}
		if got, want := checkID(s), referenceCheckID(s); got != want {
			t.Errorf("checkID(%q): got %q, want %q", s, got, want)
		}
	}
}

func TestNormalizeIDMatchesReference(t *testing.T) {
	for _, base := range []string{"6f9619ff-8b86-d011-b42d-00c04fc964ff", "6F9619FF-8B86-D011-B42D-00C04FC964FF", "01234567-89ab-cdef-ABCD-EF0123456789"} {
		for i := 0; i < len(base); i++ {
			for c := 0; c < 256; c++ {
				s := base[:i] + string([]byte{byte(c)}) + base[i+1:]
				if got, want := NormalizeID(s), referenceNormalizeID(s); got != want {
					t.Errorf("NormalizeID(%q): got %q, want %q", s, got, want)
				}
			}
		}
	}
	for _, s := range []string{"", "x", strings.Repeat("a", 35), strings.Repeat("a", 37), strings.Repeat("a", 36), strings.Repeat("-", 36)} {
		if got, want := NormalizeID(s), referenceNormalizeID(s); got != want {
			t.Errorf("NormalizeID(%q): got %q, want %q", s, got, want)
		}
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
