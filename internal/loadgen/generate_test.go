package loadgen

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/ingestjson"
)

// plainBody returns a copy of a body, inflated when it is gzip.
func plainBody(t *testing.T, cfg Config, data []byte) []byte {
	t.Helper()
	if !cfg.Gzip {
		return bytes.Clone(data)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

// decodeBody decodes a plain body the way the server does and returns its
// events, failing the test on any invalid one. The events are those of an
// ingestjson.Batch that is never reset: they are valid while data does not
// change.
func decodeBody(t *testing.T, cfg Config, data []byte) []event.Event {
	t.Helper()
	if cfg.Format == JSON && cfg.Batch == 1 && (len(data) == 0 || data[0] != '{') {
		t.Fatalf("a body of --batch 1 is not a single object: %.40s", data)
	}
	var b ingestjson.Batch
	decode := b.DecodeJSON
	if cfg.Format == NDJSON {
		decode = b.DecodeNDJSON
	}
	if err := decode(data, 0); err != nil {
		t.Fatalf("the server's decoder refuses a body: %v", err)
	}
	items := b.Items()
	events := make([]event.Event, len(items))
	for i, it := range items {
		if it.Err != nil {
			t.Fatalf("event %d is invalid: %v", i, it.Err)
		}
		events[i] = it.Event
	}
	return events
}

func TestKeySet(t *testing.T) {
	keys := keySet(9, 4)
	var got []string
	for _, k := range keys {
		got = append(got, k.Name+":"+k.Type.String())
	}
	want := []string{
		"http_requests_total:CUMULATIVE", "errors_total:CUMULATIVE", "bytes_sent_total:CUMULATIVE", "http_requests_total_2:CUMULATIVE",
		"cpu_usage_percent:TIME-SERIES", "memory_used_bytes:TIME-SERIES", "request_latency_ms:TIME-SERIES",
		"cpu_usage_percent_2:TIME-SERIES", "memory_used_bytes_2:TIME-SERIES",
	}
	if !slices.Equal(got, want) {
		t.Errorf("keySet(9, 4) =\n%v\nwant\n%v", got, want)
	}
}

func TestAppendValue(t *testing.T) {
	tests := []struct {
		v       float64
		integer bool
		want    string
	}{
		{37.5, false, "37.50"},
		{0, false, "0.00"},
		{0.004, false, "0.00"},
		{0.005, false, "0.01"},
		{799.99, false, "799.99"},
		{-0.5, false, "-0.50"},
		{12, true, "12"},
		{8 << 30, true, "8589934592"},
	}
	for _, tt := range tests {
		if got := string(appendValue(nil, tt.v, tt.integer)); got != tt.want {
			t.Errorf("appendValue(%g, %v) = %s, want %s", tt.v, tt.integer, got, tt.want)
		}
	}
}

func TestIDCount(t *testing.T) {
	seen := map[uint64]int64{}
	for _, e := range []int64{0, 1, 2, 3, 1 << 20, 1<<20 + 1, 1<<60 - 1} {
		v := idCount(e)
		if v >= 1<<60 {
			t.Errorf("idCount(%d) = %#x: more than 60 bits", e, v)
		}
		if prev, ok := seen[v]; ok {
			t.Errorf("idCount(%d) = idCount(%d) = %#x", e, prev, v)
		}
		seen[v] = e
	}
	for e := range int64(100_000) {
		v := idCount(e)
		if prev, ok := seen[v]; ok && prev != e {
			t.Fatalf("idCount(%d) = idCount(%d) = %#x", e, prev, v)
		}
		seen[v] = e
	}
	if a, b := idCount(1), idCount(2); a>>32 == b>>32 {
		t.Errorf("idCount(1) = %#x and idCount(2) = %#x share their high bits: not spread", a, b)
	}
}

func TestPutIDCount(t *testing.T) {
	for _, v := range []uint64{0, 1, 0x0123456789abcde, 1<<60 - 1, 0xfedcba987654321} {
		b := []byte(strings.Repeat(".", 16))
		putIDCount(b, v)
		var want [8]byte
		for i := range want {
			want[i] = byte(v >> (56 - 8*i))
		}
		full := hex.EncodeToString(want[:])[1:] // 15 digits
		if got, w := string(b), full[:3]+"-"+full[3:]; got != w {
			t.Errorf("putIDCount(%#x) wrote %s, want %s", v, got, w)
		}
	}
}
