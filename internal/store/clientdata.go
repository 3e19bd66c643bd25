package store

import (
	"strconv"
	"strings"
	"sync"

	"github.com/montool/montool/internal/event"
)

// clientData is all the state of one client.
type clientData struct {
	id string

	mu     sync.Mutex     // guards every field below
	keys   map[string]int // event key → position in series
	series []*series
	chunks []chunkRef // every chunk of every series, by its client-wide number
	ids    index      // dedupe: event id → row
	events int64      // accepted events
	// deleted says the client was deleted: it is no longer in its shard,
	// and an Apply that found it before must look again.
	deleted bool
	bytes   int64 // about how much memory the client's data takes
	// lastSeen is when the client last had events, in Unix nanoseconds:
	// set by seen, read by ExpireIdle.
	lastSeen int64
	// prefetched is the slots prefetch read, XORed together: it stores
	// them so that the compiler keeps reads whose values are never used.
	prefetched uint64
}

// What the store counts against Limits.MaxBytes: about what an event, a
// series, an id that is not a UUID (besides its bytes) and a client take,
// from BenchmarkMemoryPerEvent and the sizes of the structures.
const (
	eventBytes   = 48
	seriesBytes  = 256
	namedIDBytes = 16
	clientBytes  = 512
)

// rowRef names a row of a client in 32 bits, for the dedupe index: the
// client-wide number of its chunk, then its place in the chunk.
type rowRef uint32

// chunkRef tells where a chunk of a client is: its series, by position,
// and its place among the chunks of the series.
type chunkRef struct{ series, chunk uint32 }

const (
	// maxSeries is the most keys one client may have.
	maxSeries = MaxKeysPerClient
	// maxChunks is the most chunks one client may have, as many as a
	// rowRef can name: about 4 billion events.
	maxChunks = 1 << (32 - chunkShift)
)

// row returns the series, chunk and offset of the row r.
func (c *clientData) row(r rowRef) (*series, *chunk, int) {
	at := c.chunks[r>>chunkShift]
	s := c.series[at.series]
	return s, s.rows.chunkAt(int(at.chunk)), int(r & (chunkRows - 1))
}

// series is the data of one key of one client.
type series struct {
	key string
	typ event.Type

	// Every event, in order of arrival: the events of a TIME-SERIES key
	// are its samples; those of a CUMULATIVE key are kept to tell a
	// duplicate from a conflict.
	rows    columns
	inOrder bool            // the rows are in timestamp order
	last    event.Timestamp // the latest timestamp of the rows
	tail    uint32          // the client-wide number of the chunk being filled

	// CUMULATIVE only: the exact total and the number of events, and of
	// them those whose rows retention dropped (or that a snapshot held
	// without rows): their total and number.
	total     event.Sum
	count     int64
	base      event.Sum
	baseCount int64
}

// apply applies e, whose id is ref, to c: the dedupe check, the record of
// the id and the change happen together, under c.mu, which the caller holds.
//
// full, when not nil, says the store holds as much as it may: an event
// that is not a duplicate is refused with it. A refused event changes
// nothing.
func (c *clientData) apply(m *Memory, lim *Limits, e *event.Event, ref *idRef, full error) event.Result {
	if old, ch, off, found := c.find(ref); found {
		if old.key == e.Key && old.typ == e.Type && ch.timestamps[off] == e.Timestamp && ch.values[off] == e.Value {
			return event.Result{Duplicate: true}
		}
		return event.Result{Err: &event.Error{Kind: event.ErrConflict, Field: event.FieldEventID,
			Message: "already used by this client for an event with other content"}}
	}

	// Nothing of the client changes before every check has passed: a
	// refused event makes no key, no row and no index entry.
	if full != nil {
		return event.Result{Err: full}
	}
	pos, ok := c.keys[e.Key]
	var s *series
	if ok {
		s = c.series[pos]
		if s.typ != e.Type {
			return event.Result{Err: &event.Error{Kind: event.ErrConflict, Field: event.FieldType,
				Message: "key " + strconv.Quote(e.Key) + " is " + s.typ.String() + " for this client, not " + e.Type.String()}}
		}
	} else if limit := lim.MaxKeysPerClient; len(c.series) >= maxSeries || limit > 0 && len(c.series) >= limit {
		return event.Result{Err: &event.Error{Kind: event.ErrLimit, Field: event.FieldKey,
			Message: "this client already has " + strconv.Itoa(len(c.series)) + " keys, " + keysLimitOf(limit)}}
	}
	newChunk := s == nil || s.rows.n&(chunkRows-1) == 0
	if newChunk && len(c.chunks) == maxChunks {
		return event.Result{Err: &event.Error{Kind: event.ErrLimit, Field: event.FieldClientID,
			Message: "this client already holds as many events as one client may (about 4 billion): delete it to start again"}}
	}
	if s != nil && s.typ == event.Cumulative {
		if !s.total.Add(e.Value) {
			return event.Result{Err: &event.Error{Kind: event.ErrConflict, Field: event.FieldValue,
				Message: "adding this value would take the total of key " + strconv.Quote(e.Key) + " past the largest number montool holds"}}
		}
	}
	if s == nil {
		pos = len(c.series)
		s = &series{key: strings.Clone(e.Key), typ: e.Type, inOrder: true}
		if s.typ == event.Cumulative {
			s.total.Add(e.Value) // a first value always fits
		}
		c.series = append(c.series, s)
		c.keys[s.key] = pos
		c.bytes += seriesBytes + int64(len(e.Key))
	}
	// While the rows are in order, the latest is the last row's.
	if s.rows.n > 0 && e.Timestamp < s.last {
		s.inOrder = false
	}
	s.last = max(s.last, e.Timestamp)
	named := ref.name != ""
	row := s.rows.add(&ref.uuid, strings.Clone(ref.name), e.Timestamp, e.Value)
	c.bytes += eventBytes
	if named {
		c.bytes += namedIDBytes + int64(len(ref.name))
	}
	if newChunk {
		s.tail = uint32(len(c.chunks))
		c.chunks = append(c.chunks, chunkRef{series: uint32(pos), chunk: row >> chunkShift})
	}
	c.ids.add(ref.hash, makeSlot(ref.hash, named, rowRef(s.tail<<chunkShift|row&(chunkRows-1))), &m.tableCopies, func(s uint64) uint64 { return c.rehash(&m.hasher, s) })
	c.events++
	s.count++
	return event.Result{}
}

// view returns what c holds, the samples read in place. The caller holds c.mu.
func (c *clientData) view() (*event.View, []*samples, []bool) {
	v := &event.View{ClientID: c.id, Series: make([]event.SeriesView, len(c.series))}
	readers := make([]*samples, len(c.series))
	inOrder := make([]bool, len(c.series))
	for i, s := range c.series {
		sv := event.SeriesView{Key: s.key, Type: s.typ}
		if s.typ == event.Cumulative {
			sv.Total, sv.Count, sv.Last = s.total.Float64(), s.count, s.last
		} else {
			readers[i], inOrder[i] = s.rows.reader(), s.inOrder
			sv.Samples = readers[i]
		}
		v.Series[i] = sv
	}
	return v, readers, inOrder
}

// keysLimitOf says what bounds the keys of a client: the server's
// max_keys_per_client when it is set, else what one client can hold.
func keysLimitOf(limit int) string {
	if limit > 0 {
		return "the most the server's max_keys_per_client lets it have"
	}
	return "the most one client can have"
}
