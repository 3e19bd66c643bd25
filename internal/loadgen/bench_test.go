package loadgen

import (
	"testing"
	"time"
)

// BenchmarkGenerate measures the cost of making events, per event.
func BenchmarkGenerate(b *testing.B) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"batch1000", func(*Config) {}},
		{"batch1", func(c *Config) { c.Batch = 1 }},
		{"batch1000-gzip", func(c *Config) { c.Gzip = true }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := DefaultConfig()
			tc.mod(&cfg)
			g := newGenerator(cfg, time.Now())
			b.ReportAllocs()
			events, size := 0, 0
			for b.Loop() {
				body, _ := g.nextBody(size)
				events += body.events
				size = max(size, len(body.data))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
		})
	}
}
