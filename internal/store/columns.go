package store

import (
	"slices"
	"sort"
	"unsafe"

	"github.com/montool/montool/internal/event"
)

// Rows of a series are kept in chunks of columns. A full chunk holds
// chunkRows rows. The first chunk of a series starts small and doubles until
// it is full; every later chunk is made full size at once, so a series never
// carries more unused room than its last chunk.
const (
	chunkShift    = 10
	chunkRows     = 1 << chunkShift
	firstChunkCap = 4
)

// chunk is up to chunkRows rows, one slice per column. Rows are only ever
// appended: a row once written does not change, so readers may read rows
// below a count they took under the client's lock without holding it.
type chunk struct {
	ids        [][16]byte // the event id, when it is a UUID
	timestamps []event.Timestamp
	values     []float64
	// names holds the ids that are not UUIDs, by row; nil while the chunk
	// has none.
	names []string
	maxTS event.Timestamp // the latest timestamp of its rows
}

// columns is the rows of one series, in order of arrival: the full chunks,
// then the chunk being filled. That one is held here rather than behind a
// slice, so that an append finds it beside the rest of the series.
type columns struct {
	full []chunk
	tail chunk
	n    int // rows ever added; rows are numbered from 0 in order of arrival
	// dropped is the number of leading full chunks that retention dropped:
	// full[0] is chunk dropped.
	dropped int
}

// add appends a row. name is the event id when it is not a UUID, else "".
func (c *columns) add(id *[16]byte, name string, ts event.Timestamp, value float64) uint32 {
	row := c.n
	off := row & (chunkRows - 1)
	if off == 0 && row > 0 { // the tail is full
		c.full = append(c.full, c.tail)
		c.tail = chunk{
			ids:        make([][16]byte, 0, chunkRows),
			timestamps: make([]event.Timestamp, 0, chunkRows),
			values:     make([]float64, 0, chunkRows),
		}
	}
	ch := &c.tail
	if off == cap(ch.ids) { // the first chunk, growing
		size := chunkRows
		if off < chunkRows/2 {
			size = max(2*off, firstChunkCap)
		}
		ch.ids = grow(ch.ids, size)
		ch.timestamps = grow(ch.timestamps, size)
		ch.values = grow(ch.values, size)
		if ch.names != nil {
			ch.names = grow(ch.names, size)
		}
	}
	if name != "" && ch.names == nil {
		ch.names = make([]string, off, cap(ch.ids))
	}
	ch.maxTS = max(ch.maxTS, ts)
	ch.ids = append(ch.ids, *id)
	ch.timestamps = append(ch.timestamps, ts)
	ch.values = append(ch.values, value)
	if ch.names != nil {
		ch.names = append(ch.names, name)
	}
	c.n++
	return uint32(row)
}

// grow returns s moved to a new array of exactly size elements: unlike
// append, with no room beyond that.
func grow[E any](s []E, size int) []E {
	return append(make([]E, 0, size), s...)
}

// chunkAt returns chunk i of the rows, which must not be dropped.
func (c *columns) chunkAt(i int) *chunk {
	if i -= c.dropped; i < len(c.full) {
		return &c.full[i]
	}
	return &c.tail
}

// dropBefore drops the leading full chunks whose rows are all older than
// cutoff, calling fn with each first, and returns their number.
func (c *columns) dropBefore(cutoff event.Timestamp, fn func(*chunk)) int {
	k := 0
	for k < len(c.full) && c.full[k].maxTS < cutoff {
		fn(&c.full[k])
		k++
	}
	if k > 0 {
		c.full = slices.Clone(c.full[k:]) // lets the dropped chunks go
		c.dropped += k
	}
	return k
}

// sameID reports whether row off holds the UUID id, or the other id name.
func (ch *chunk) sameID(off int, id *[16]byte, name string) bool {
	if name != "" {
		return ch.names != nil && ch.names[off] == name
	}
	return ch.ids[off] == *id && (ch.names == nil || ch.names[off] == "")
}

// samples reads the first n rows of a series, in timestamp order. It holds
// copies of the chunk headers, so the series may grow while it is read.
type samples struct {
	chunks []chunk
	n      int
	// order lists the rows by timestamp, ties by arrival; nil when the
	// rows arrived in that order.
	order []uint32
	// start is the first sample given, in timestamp order: those before it
	// are older than retention keeps.
	start int
	text  [event.UUIDLen]byte // the text of the UUID last returned by At
}

// reader returns a reader of the rows the columns hold now. The caller
// holds the lock that guards c; the reader needs none.
func (c *columns) reader() *samples {
	chunks := make([]chunk, len(c.full), len(c.full)+1)
	copy(chunks, c.full)
	return &samples{chunks: append(chunks, c.tail), n: c.n - c.dropped*chunkRows}
}

// sortIfNeeded computes the timestamp order of the rows if they did not
// arrive in it. It needs no lock.
func (s *samples) sortIfNeeded(inOrder bool) {
	if inOrder {
		return
	}
	s.order = make([]uint32, s.n)
	for i := range s.order {
		s.order[i] = uint32(i)
	}
	slices.SortStableFunc(s.order, func(a, b uint32) int {
		ta, tb := s.timestamp(a), s.timestamp(b)
		switch {
		case ta < tb:
			return -1
		case ta > tb:
			return 1
		}
		return 0
	})
}

func (s *samples) timestamp(row uint32) event.Timestamp {
	return s.chunks[row>>chunkShift].timestamps[row&(chunkRows-1)]
}

// skipBefore leaves out the samples older than cutoff. Call it after
// sortIfNeeded.
func (s *samples) skipBefore(cutoff event.Timestamp) {
	s.start = sort.Search(s.n, func(i int) bool { return s.timestamp(s.row(i)) >= cutoff })
}

// row returns the row of sample i, counting from the oldest.
func (s *samples) row(i int) uint32 {
	if s.order != nil {
		return s.order[i]
	}
	return uint32(i)
}

// Len returns the number of samples.
func (s *samples) Len() int { return s.n - s.start }

// At returns sample i in timestamp order. A UUID id is written into the
// reader's own buffer: it is valid until the next call to At.
func (s *samples) At(i int) event.Sample {
	row := s.row(s.start + i)
	ch := &s.chunks[row>>chunkShift]
	off := row & (chunkRows - 1)
	smp := event.Sample{Timestamp: ch.timestamps[off], Value: ch.values[off]}
	if ch.names != nil && ch.names[off] != "" {
		smp.ID = ch.names[off]
	} else {
		event.AppendUUID(s.text[:0], &ch.ids[off])
		smp.ID = unsafe.String(&s.text[0], event.UUIDLen)
	}
	return smp
}
