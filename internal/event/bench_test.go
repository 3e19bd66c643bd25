package event

import "testing"

// BenchmarkSumAdd adds counter increments to a total: whole ones, as most
// counters send, and fractional ones.
func BenchmarkSumAdd(b *testing.B) {
	for _, bc := range []struct {
		name string
		v    float64
	}{{"whole", 3}, {"fraction", 0.25}} {
		b.Run(bc.name, func(b *testing.B) {
			var s Sum
			for b.Loop() {
				if !s.Add(bc.v) {
					b.Fatalf("Add(%v): got false, want true", bc.v)
				}
			}
		})
	}
}
