package loadgen

import (
	"testing"
	"time"
)

func TestHistogramQuantile(t *testing.T) {
	tests := []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration
	}{
		// Nearest rank: the smallest value that at least q·n values do not exceed.
		{name: "empty", values: nil, q: 0.5, want: 0},
		{name: "one value, median", values: []time.Duration{42}, q: 0.5, want: 42},
		{name: "one value, p0", values: []time.Duration{42}, q: 0, want: 42},
		{name: "median of 1..10 is the 5th", values: seq(1, 10), q: 0.5, want: 5},
		{name: "p90 of 1..10 is the 9th", values: seq(1, 10), q: 0.9, want: 9},
		{name: "p91 of 1..10 rounds up to the 10th", values: seq(1, 10), q: 0.91, want: 10},
		{name: "p99 of 1..100 is the 99th", values: seq(1, 100), q: 0.99, want: 99},
		{name: "p100 is the max", values: seq(1, 100), q: 1, want: 100},
		{name: "p0 is the min", values: seq(7, 100), q: 0, want: 7},
		{name: "order does not matter", values: []time.Duration{9, 1, 5, 3, 7}, q: 0.6, want: 5},
		{name: "repeated values", values: []time.Duration{2, 2, 2, 2, 9}, q: 0.8, want: 2},
		{name: "q above 1 is the max", values: seq(1, 4), q: 1.5, want: 4},
		{name: "negative counts as 0", values: []time.Duration{-5, 10}, q: 0.5, want: 0},
		// 1000 ns has bit length 10: buckets of 2^(10-8) = 4 ns from 1000 to 1003.
		{name: "a large value reads as the top of its 4 ns bucket", values: []time.Duration{1000, 5000}, q: 0.5, want: 1003},
		// 1,000,000 ns has bit length 20: buckets of 4096 ns; 999,424 = 244·4096 is the start of its bucket.
		{name: "1ms reads as the top of its 4096 ns bucket", values: []time.Duration{time.Millisecond, time.Second}, q: 0.5, want: 999_424 + 4095},
		{name: "but never above the max", values: []time.Duration{1000, 1001}, q: 0.5, want: 1001},
		{name: "p100 of large values is the exact max", values: []time.Duration{time.Millisecond, 1_234_567}, q: 1, want: 1_234_567},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for _, v := range tt.values {
				h.Record(v)
			}
			if got := h.Quantile(tt.q); got != tt.want {
				t.Errorf("Quantile(%g) = %d, want %d", tt.q, got, tt.want)
			}
		})
	}
}

func seq(from, to int) []time.Duration {
	var s []time.Duration
	for i := from; i <= to; i++ {
		s = append(s, time.Duration(i))
	}
	return s
}

func TestHistogramPrecision(t *testing.T) {
	for _, v := range []time.Duration{255, 256, 257, 1 << 20, 3*time.Millisecond + 7, time.Second, time.Hour, 1 << 62} {
		var h Histogram
		h.Record(v)
		h.Record(v + 1)
		got := h.Quantile(0.5)
		if got < v || float64(got-v) > float64(v)/128 {
			t.Errorf("median of %d and %d reads %d: not within 1/128 above", v, v+1, got)
		}
	}
	for i := range bucketCount - 1 {
		if bucketOf(bucketHigh(i)) != i || bucketOf(bucketHigh(i)+1) != i+1 {
			t.Fatalf("bucket %d: high %d does not border bucket %d", i, bucketHigh(i), i+1)
		}
	}
}

func TestHistogramMerge(t *testing.T) {
	var a, b, all Histogram
	for i := range time.Duration(1000) {
		v := i * i * 37
		all.Record(v)
		if i%2 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(&Histogram{})
	if m.Count() != 1000 || m.Min() != 0 || m.Max() != all.Max() {
		t.Errorf("merged: count %d, min %d, max %d; want 1000, 0, %d", m.Count(), m.Min(), m.Max(), all.Max())
	}
	for _, q := range []float64{0, 0.25, 0.5, 0.9, 0.99, 0.999, 1} {
		if m.Quantile(q) != all.Quantile(q) {
			t.Errorf("q %g: merged %d, recorded together %d", q, m.Quantile(q), all.Quantile(q))
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1}, 2},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{10, 10, 1}, 10},
	}
	for _, tt := range tests {
		in := append([]float64(nil), tt.in...)
		if got := Median(tt.in); got != tt.want {
			t.Errorf("Median(%v) = %g, want %g", tt.in, got, tt.want)
		}
		for i := range in {
			if in[i] != tt.in[i] {
				t.Errorf("Median changed its input: %v, was %v", tt.in, in)
			}
		}
	}
}
