package ingestjson

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// benchEvents writes n events as agents send them: 100 clients with 5 keys
// each, UUIDs for client and event ids, one key in five CUMULATIVE, values
// as they come (percentages, byte counts, counts), timestamps in
// milliseconds. Each is one compact JSON object.
func benchEvents(n int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	uuid := func() string {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
		h := fmt.Sprintf("%x", b)
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	}
	clients := make([]string, 100)
	for i := range clients {
		clients[i] = uuid()
	}
	keys := []string{"cpu.usage_percent", "memory.used_bytes", "disk.read_bytes_per_second", "net.rx_packets", "http.requests_total"}
	events := make([]string, n)
	for i := range events {
		key := (i / len(clients)) % len(keys)
		typ, value := "TIME-SERIES", ""
		switch key {
		case 0:
			value = strconv.FormatFloat(float64(rng.IntN(10000))/100, 'f', -1, 64)
		case 1:
			value = strconv.Itoa(1<<30 + rng.IntN(1<<32))
		case 2:
			value = strconv.FormatFloat(float64(rng.IntN(1e8))/10, 'f', -1, 64)
		case 3:
			value = strconv.Itoa(rng.IntN(1e6))
		default:
			typ, value = "CUMULATIVE", strconv.Itoa(1+rng.IntN(100))
		}
		events[i] = `{"client_id":"` + clients[i%len(clients)] + `","event_id":"` + uuid() +
			`","event_timestamp":` + strconv.Itoa(1763850000000+37*i) + `,"event_type":"` + typ +
			`","event_key":"` + keys[key] + `","event_value":` + value + `}`
	}
	return events
}

// benchDecoders are the decoders compared: the scanner and the reference
// decoder of the fuzz tests (encoding/json, with the value rules in exact
// math/big arithmetic).
var benchDecoders = []struct {
	name         string
	json, ndjson func([]byte, int) ([]Item, error)
}{
	{"scanner", decodeJSON, decodeNDJSON},
	{"reference", decodeReference, decodeNDJSONReference},
}

func benchDecode(b *testing.B, decode func([]byte, int) ([]Item, error), body []byte, n int) {
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		items, err := decode(body, 10_000)
		if err != nil || len(items) != n || items[n-1].Err != nil {
			b.Fatalf("decode: %d items, error %v", len(items), err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkDecode(b *testing.B) {
	events := benchEvents(1000)
	bodies := []struct {
		name string
		body string
		n    int
	}{
		{"batch=1000", "[" + strings.Join(events, ",") + "]", len(events)},
		{"single", events[0], 1},
	}
	for _, body := range bodies {
		for _, d := range benchDecoders {
			b.Run(body.name+"/"+d.name, func(b *testing.B) {
				benchDecode(b, d.json, []byte(body.body), body.n)
			})
		}
	}
}

func BenchmarkDecodeNDJSON(b *testing.B) {
	events := benchEvents(1000)
	bodies := []struct {
		name string
		body string
		n    int
	}{
		{"lines=1000", strings.Join(events, "\n") + "\n", len(events)},
		{"single", events[0] + "\n", 1},
	}
	for _, body := range bodies {
		for _, d := range benchDecoders {
			b.Run(body.name+"/"+d.name, func(b *testing.B) {
				benchDecode(b, d.ndjson, []byte(body.body), body.n)
			})
		}
	}
}
