package loadgen

import (
	"math/bits"
	"time"
)

// subBits sets the precision of a Histogram: each power of two is split
// into 2^subBits buckets, so a recorded value is known to within 1/128
// (0.8%) of itself, and values below 2^(subBits+1) ns exactly.
const subBits = 7

const (
	subCount    = 1 << subBits // buckets per power of two
	exactBelow  = 2 * subCount // values below this have a bucket each
	bucketCount = exactBelow + (64-subBits-1)*subCount
)

// Histogram counts durations in log-linear buckets, in the manner of
// HdrHistogram: a fixed 58 KiB whatever the number of values, and
// quantiles to within 0.8%. It is not safe for concurrent use: each sender
// of a run keeps its own, and the run merges them at the end.
type Histogram struct {
	counts [bucketCount]uint64
	total  uint64
	min    time.Duration
	max    time.Duration
}

// bucketOf returns the bucket of v, a number of nanoseconds.
func bucketOf(v uint64) int {
	if v < exactBelow {
		return int(v)
	}
	shift := bits.Len64(v) - (subBits + 1) // at least 1
	top := v >> shift                      // in [subCount, exactBelow)
	return exactBelow + (shift-1)*subCount + int(top-subCount)
}

// bucketHigh returns the largest value that falls in bucket i.
func bucketHigh(i int) uint64 {
	if i < exactBelow {
		return uint64(i)
	}
	shift := (i-exactBelow)/subCount + 1
	top := uint64((i-exactBelow)%subCount + subCount)
	return (top+1)<<shift - 1
}

// Record adds one duration; a negative one counts as 0.
func (h *Histogram) Record(d time.Duration) {
	d = max(d, 0)
	h.counts[bucketOf(uint64(d))]++
	if h.total == 0 || d < h.min {
		h.min = d
	}
	h.max = max(h.max, d)
	h.total++
}

// Merge adds every value recorded in o.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.total += o.total
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Max returns the largest value recorded, exactly; 0 when there is none.
func (h *Histogram) Max() time.Duration { return h.max }

// Min returns the smallest value recorded, exactly; 0 when there is none.
func (h *Histogram) Min() time.Duration { return h.min }

// Quantile returns the q-quantile (q in [0, 1]; 0.99 for the 99th
// percentile) by the nearest-rank method: the smallest recorded value that
// at least a fraction q of the values do not exceed. It is exact for values
// below 256 ns and otherwise the top of the value's bucket, at most 0.8%
// above it, never above Max. It returns 0 when nothing was recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(q * float64(h.total))
	if float64(rank) < q*float64(h.total) {
		rank++ // the ceiling of q·n
	}
	rank = max(rank, 1)
	if rank == h.total {
		return h.max
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(max(time.Duration(bucketHigh(i)), h.min), h.max)
		}
	}
	return h.max
}
