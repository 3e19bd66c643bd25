package loadgen

import (
	"testing"
	"time"
)

// BenchmarkPatch measures what readying a body from its template costs a
// sender, per event: each body is a later use of its template, so it is
// patched.
func BenchmarkPatch(b *testing.B) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"batch1000", func(*Config) {}},
		{"batch1000-dups10%", func(c *Config) { c.Duplicates = 0.1 }},
		{"batch1", func(c *Config) { c.Batch, c.Connections = 1, 32 }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := DefaultConfig()
			tc.mod(&cfg)
			s := newStream(b.Context(), cfg, newContent(cfg, time.Now()), 0)
			w := newWorkers(1)[0]
			for range s.templates { // their first uses, as made
				k, _, _ := s.take()
				s.skip(k)
			}
			events := 0
			for b.Loop() {
				k, n, _ := s.take()
				_, release := s.ready(k, n, w)
				release()
				events += n
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
		})
	}
}

// BenchmarkMakeTemplates measures what making templates costs, per event.
func BenchmarkMakeTemplates(b *testing.B) {
	cfg := DefaultConfig()
	con := newContent(cfg, time.Now())
	events := 0
	for b.Loop() {
		s := newStreamOf(b.Context(), cfg, con, 0, 8)
		events += len(s.templates) * cfg.Batch
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
}
