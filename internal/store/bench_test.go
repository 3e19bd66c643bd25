package store_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/montool/montool/internal/dumpformat"
	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// eventIDs returns n distinct event ids, UUIDs as agents send them.
func eventIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", i, i%0xffff, i%0xfff, i%0xfff, i*7919)
	}
	return ids
}

// namedIDs returns n distinct event ids that are not UUIDs.
func namedIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "ev-" + strconv.Itoa(i)
	}
	return ids
}

// BenchmarkApplyNamedIDs is BenchmarkApply with event ids that are not UUIDs.
func BenchmarkApplyNamedIDs(b *testing.B) {
	m := storetest.NewMemory(b, store.Policy{})
	ctx := context.Background()
	ids := namedIDs(b.N)
	var batch [1]event.Event
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch[0] = timeSeries("client", ids[i], "cpu", sec(int64(i)), float64(i))
		results, err := m.Apply(ctx, batch[:])
		if err != nil || results[0].Duplicate || results[0].Err != nil {
			b.Fatalf("Apply: got (%v, %v), want one accepted result", results, err)
		}
	}
}

// mustApply applies events and stops the benchmark unless every one is
// accepted.
func mustApply(b *testing.B, m *store.Memory, events []event.Event) {
	b.Helper()
	results, err := m.Apply(context.Background(), events)
	if err != nil {
		b.Fatalf("Apply: %v", err)
	}
	for i, r := range results {
		if r.Duplicate || r.Err != nil {
			b.Fatalf("Apply: event %d: got {Duplicate: %v, Err: %v}, want accepted", i, r.Duplicate, r.Err)
		}
	}
}

// BenchmarkApply applies one new TIME-SERIES event per call.
func BenchmarkApply(b *testing.B) {
	m := storetest.NewMemory(b, store.Policy{})
	ctx := context.Background()
	ids := eventIDs(b.N)
	var batch [1]event.Event
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch[0] = timeSeries("client", ids[i], "cpu", sec(int64(i)), float64(i))
		results, err := m.Apply(ctx, batch[:])
		if err != nil || results[0].Duplicate || results[0].Err != nil {
			b.Fatalf("Apply: got (%v, %v), want one accepted result", results, err)
		}
	}
}

// BenchmarkApplyBatch1000 applies batches of 1,000 new events spread over
// 100 clients × 5 keys, one in five CUMULATIVE.
func BenchmarkApplyBatch1000(b *testing.B) {
	const (
		batchSize = 1000
		clients   = 100
		keys      = 5
	)
	clientIDs := make([]string, clients)
	for i := range clientIDs {
		clientIDs[i] = "client-" + strconv.Itoa(i)
	}
	keyNames := [keys]string{"k0", "k1", "k2", "k3", "k4"}
	// The shape of a batch; ids and timestamps change every iteration. Key
	// k0 is CUMULATIVE (one event in five), the others TIME-SERIES.
	batch := make([]event.Event, batchSize)
	for j := range batch {
		k := j % keys
		typ := event.TimeSeries
		if k == 0 {
			typ = event.Cumulative
		}
		batch[j] = event.Event{ClientID: clientIDs[(j/keys)%clients], Type: typ, Key: keyNames[k], Value: float64(j % 97)}
	}
	ids := eventIDs(b.N * batchSize)
	m := storetest.NewMemory(b, store.Policy{})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range batch {
			batch[j].ID = ids[i*batchSize+j]
			batch[j].Timestamp = sec(int64(i))
		}
		results, err := m.Apply(ctx, batch)
		if err != nil {
			b.Fatalf("Apply: %v", err)
		}
		for j, r := range results {
			if r.Duplicate || r.Err != nil {
				b.Fatalf("Apply: event %d: got {Duplicate: %v, Err: %v}, want accepted", j, r.Duplicate, r.Err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batchSize), "ns/event")
}

// BenchmarkApplyDuplicate re-applies an event the store already holds.
func BenchmarkApplyDuplicate(b *testing.B) {
	m := storetest.NewMemory(b, store.Policy{})
	ctx := context.Background()
	batch := []event.Event{timeSeries("client", "known", "cpu", sec(1), 0.5)}
	mustApply(b, m, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		results, err := m.Apply(ctx, batch)
		if err != nil || !results[0].Duplicate {
			b.Fatalf("Apply: got (%v, %v), want one duplicate", results, err)
		}
	}
}

// BenchmarkApplyParallel applies new TIME-SERIES events from parallel
// goroutines, each as its own client.
func BenchmarkApplyParallel(b *testing.B) {
	m := storetest.NewMemory(b, store.Policy{})
	// Each goroutine is its own client, so goroutines may share ids; no
	// goroutine sends more than b.N events.
	ids := eventIDs(b.N)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		client := "client-" + strconv.FormatInt(next.Add(1), 10)
		ctx := context.Background()
		var batch [1]event.Event
		for i := 0; pb.Next(); i++ {
			batch[0] = timeSeries(client, ids[i], "cpu", sec(int64(i)), float64(i))
			results, err := m.Apply(ctx, batch[:])
			if err != nil || results[0].Duplicate || results[0].Err != nil {
				b.Errorf("Apply: got (%v, %v), want one accepted result", results, err)
				return
			}
		}
	})
}

// BenchmarkDump dumps a client that holds 100,000 samples.
func BenchmarkDump(b *testing.B) {
	const samples = 100_000
	m := storetest.NewMemory(b, store.Policy{})
	ids := eventIDs(samples)
	events := make([]event.Event, samples)
	for i := range events {
		events[i] = timeSeries("client", ids[i], "cpu", sec(int64(i)), float64(i))
	}
	mustApply(b, m, events)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := m.Dump(ctx, "client")
		if err != nil {
			b.Fatalf("Dump: %v", err)
		}
		if len(d.Series) != 1 || len(d.Series[0].Samples) != samples {
			b.Fatalf("Dump: got %d series, want 1 with %d samples", len(d.Series), samples)
		}
	}
}

// BenchmarkDumpStream writes the dump of a client that holds one series of
// 1,000,000 samples as JSON, the way the dump endpoint streams it.
func BenchmarkDumpStream(b *testing.B) {
	const samples = 1_000_000
	m := storetest.NewMemory(b, store.Policy{})
	ids := eventIDs(samples)
	for start := 0; start < samples; start += 10_000 {
		events := make([]event.Event, 10_000)
		for i := range events {
			events[i] = timeSeries("client", ids[start+i], "cpu", sec(int64(start+i)), float64(i)/4)
		}
		mustApply(b, m, events)
	}
	ctx := context.Background()
	var written countingWriter
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := m.View(ctx, "client")
		if err != nil {
			b.Fatal(err)
		}
		if err := dumpformat.WriteJSON(&written, v); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(written.n / int64(b.N))
}

// countingWriter counts and drops what it is given.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// BenchmarkMemoryPerEvent reports the heap that 1,000,000 stored
// TIME-SERIES events take, dedupe index included, per event: 100 clients
// × 5 keys, UUID event ids.
func BenchmarkMemoryPerEvent(b *testing.B) {
	const (
		events  = 1_000_000
		clients = 100
		keys    = 5
		batch   = 1000
	)
	ids := eventIDs(events)
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		before := heapInUse()
		m := storetest.NewMemory(b, store.Policy{})
		b.StartTimer()
		buf := make([]event.Event, batch)
		for start := 0; start < events; start += batch {
			for j := range buf {
				n := start + j
				buf[j] = timeSeries("client-"+strconv.Itoa(n%clients), ids[n], "k"+strconv.Itoa(n/clients%keys), sec(int64(n)), float64(n%1000)/10)
			}
			if _, err := m.Apply(ctx, buf); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		after := heapInUse()
		b.ReportMetric(float64(after-before)/events, "bytes/event")
		runtime.KeepAlive(m)
	}
}

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
