package store

import (
	"encoding/binary"
	"math/bits"
)

// index is the dedupe index of one client: it maps each event id to the row
// that holds the event. It does not copy the ids: an entry names a series
// and a row, and the id is read from there.
//
// It is an extendible hash table, so that no insert ever has to rebuild the
// whole index: the top bits of an id's hash choose a table through a
// directory, and a table that fills up doubles until it has maxTableSlots
// slots, then splits in two by one more bit of the hash. The work of any
// one insert is bounded by the size of one table.
type index struct {
	dir   []*table // 1 << depth entries; the top depth bits of a hash choose one
	depth uint
}

// table is an open-addressing hash table with linear probing. A slot is
// one uint64:
//
//	bit 63      set in every used slot (0 is an empty slot)
//	bit 62      the id is not a UUID (it is kept as a string)
//	bits 48-61  14 bits of the id's hash, to skip most rows without reading them
//	bits 32-47  the series, by its position in the client's series
//	bits 0-31   the row within the series
type table struct {
	slots []uint64 // len is a power of two
	used  int
	depth uint // the top depth bits of the hash are the same for every id in it
}

const (
	slotUsed    = 1 << 63
	slotNamed   = 1 << 62
	tagShift    = 48
	tagMask     = 1<<14 - 1
	seriesShift = 32
	// hashTagShift picks the hash bits kept in a slot: above those that
	// choose a slot within a table, below those that choose a table.
	hashTagShift = 20
	// maxSeries is the most keys one client may have.
	maxSeries = 1 << 16
	// minSlots and maxTableSlots bound the size of one table.
	minSlots      = 8
	maxTableSlots = 1 << 12
)

func makeSlot(hash uint64, named bool, series int, row uint32) uint64 {
	s := slotUsed | (hash>>hashTagShift&tagMask)<<tagShift | uint64(series)<<seriesShift | uint64(row)
	if named {
		s |= slotNamed
	}
	return s
}

func slotSeries(s uint64) int   { return int(s >> seriesShift & (maxSeries - 1)) }
func slotRow(s uint64) uint32   { return uint32(s) }
func slotNamedID(s uint64) bool { return s&slotNamed != 0 }

// tagMatches reports whether slot s may hold the id of hash.
func tagMatches(s, hash uint64) bool {
	return s>>tagShift&tagMask == hash>>hashTagShift&tagMask
}

// table returns the table for hash, making the first one if need be.
func (x *index) table(hash uint64) *table {
	if x.dir == nil {
		x.dir = []*table{{slots: make([]uint64, minSlots)}}
	}
	if x.depth == 0 {
		return x.dir[0]
	}
	return x.dir[hash>>(64-x.depth)]
}

// home returns the first slot to probe for hash in t.
func (t *table) home(hash uint64) uint64 { return hash & uint64(len(t.slots)-1) }

// needsGrowth reports whether adding one more id would fill t past three
// quarters.
func (t *table) needsGrowth() bool { return (t.used+1)*4 > len(t.slots)*3 }

// makeRoom grows or splits the table of hash until it can take one more id;
// rehash returns the hash of the id a slot refers to.
func (x *index) makeRoom(hash uint64, rehash func(slot uint64) uint64) {
	for t := x.table(hash); t.needsGrowth(); t = x.table(hash) {
		if len(t.slots) < maxTableSlots {
			t.rebuild(2*len(t.slots), t.slots, rehash)
			continue
		}
		x.split(t, rehash)
	}
}

// rebuild puts the slots of old into a new array of size slots.
func (t *table) rebuild(size int, old []uint64, rehash func(slot uint64) uint64) {
	t.slots, t.used = make([]uint64, size), 0
	for _, s := range old {
		if s != 0 {
			t.insert(rehash(s), s)
		}
	}
}

func (t *table) insert(hash, slot uint64) {
	mask := uint64(len(t.slots) - 1)
	i := hash & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = slot
	t.used++
}

// split replaces t by two tables, each taking the ids whose next hash bit
// is 0 or 1, doubling the directory first if t is chosen by all its bits.
func (x *index) split(t *table, rehash func(slot uint64) uint64) {
	if t.depth == x.depth {
		dir := make([]*table, 2*len(x.dir))
		for i, d := range x.dir {
			dir[2*i], dir[2*i+1] = d, d
		}
		x.dir, x.depth = dir, x.depth+1
	}
	bit := 63 - t.depth // the hash bit that tells the halves apart
	low := &table{slots: make([]uint64, len(t.slots)), depth: t.depth + 1}
	high := &table{slots: make([]uint64, len(t.slots)), depth: t.depth + 1}
	for _, s := range t.slots {
		if s == 0 {
			continue
		}
		h := rehash(s)
		if h>>bit&1 == 0 {
			low.insert(h, s)
		} else {
			high.insert(h, s)
		}
	}
	// The directory entries that chose t share its depth top bits; the
	// next bit of their index tells which half they now choose.
	shift := x.depth - t.depth - 1
	for i, d := range x.dir {
		if d == t {
			if i>>shift&1 == 0 {
				x.dir[i] = low
			} else {
				x.dir[i] = high
			}
		}
	}
}

// hashUUID hashes a UUID with seed: wyhash's multiply-and-fold over its two
// halves, so that ids that differ in any bit spread over every bit of the
// hash.
func hashUUID(seed uint64, u *[16]byte) uint64 {
	a := binary.LittleEndian.Uint64(u[:8]) ^ seed ^ 0xa0761d6478bd642f
	b := binary.LittleEndian.Uint64(u[8:]) ^ 0xe7037ed1a0b428db
	hi, lo := bits.Mul64(a, b)
	hi, lo = bits.Mul64(hi^lo^0x8ebc6af09c88c6e3, seed^0x589965cc75374cc3)
	return hi ^ lo
}
