package store

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"sync"

	"github.com/montool/montool/internal/event"
)

// index is the dedupe index of one client: it maps each event id to the row
// that holds the event. It does not copy the ids: an entry names a row,
// and the id is read from there.
//
// It is an extendible hash table, so that no insert ever has to rebuild the
// whole index: the top bits of an id's hash choose a table through a
// directory, and a table that fills up doubles until it has maxTableSlots
// slots, then splits in two by one more bit of the hash. The work of any
// one insert is bounded by the size of one table.
//
// Each entry keeps the bits of its hash that place it in a table and the
// top bits that choose its table, so that a table doubles, and splits until
// it is chosen by more than keptTopBits bits, without reading an id back.
type index struct {
	dir   []*table // 1 << depth entries; the top depth bits of a hash choose one
	depth uint
}

// table is an open-addressing hash table with linear probing. A slot is
// one uint64:
//
//	bit 63      set in every used slot (0 is an empty slot)
//	bit 62      the id is not a UUID (it is kept as a string)
//	bits 44-61  the top keptTopBits bits of the id's hash
//	bits 32-43  the low posBits bits of the id's hash, its place in a table
//	bits 0-31   the row, as a rowRef
type table struct {
	slots []uint64 // len is a power of two
	used  int
	depth uint // the top depth bits of the hash are the same for every id in it
}

const (
	slotUsed  = 1 << 63
	slotNamed = 1 << 62
	// posBits is the number of low hash bits that place an id in a table
	// of maxTableSlots slots; keptTopBits the number of top bits kept.
	posBits     = 12
	keptTopBits = 18
	hashShift   = 32
	hashMask    = 1<<(posBits+keptTopBits) - 1
	// minSlots and maxTableSlots bound the size of one table.
	minSlots      = 8
	maxTableSlots = 1 << posBits
)

// keptBits returns the bits of hash that a slot keeps: the top keptTopBits
// above the low posBits.
func keptBits(hash uint64) uint64 {
	return hash>>(64-keptTopBits)<<posBits | hash&(1<<posBits-1)
}

func makeSlot(hash uint64, named bool, row rowRef) uint64 {
	s := slotUsed | keptBits(hash)<<hashShift | uint64(row)
	if named {
		s |= slotNamed
	}
	return s
}

func slotRow(s uint64) rowRef   { return rowRef(s) }
func slotNamedID(s uint64) bool { return s&slotNamed != 0 }

// slotHash returns the bits of its id's hash that slot s keeps, in their
// places; the others are 0.
func slotHash(s uint64) uint64 {
	k := s >> hashShift & hashMask
	return k>>posBits<<(64-keptTopBits) | k&(1<<posBits-1)
}

// tagMatches reports whether slot s may hold the id of hash.
func tagMatches(s, hash uint64) bool {
	return s>>hashShift&hashMask == keptBits(hash)
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

// add adds slot, of an id of hash that the index does not have, making
// room for it first (see makeRoom).
func (x *index) add(hash, slot uint64, copies *tableCopies, rehash func(slot uint64) uint64) {
	x.makeRoom(hash, copies, rehash)
	x.table(hash).insert(hash, slot)
}

// makeRoom grows or splits the table of hash until it can take one more id;
// rehash returns the hash of the id a slot refers to, read from its row,
// for the splits that need more bits than a slot keeps.
func (x *index) makeRoom(hash uint64, copies *tableCopies, rehash func(slot uint64) uint64) {
	for t := x.table(hash); t.needsGrowth(); t = x.table(hash) {
		if len(t.slots) < maxTableSlots {
			t.double()
			continue
		}
		x.split(t, copies, rehash)
	}
}

// double moves the slots of t into an array twice the size. The bits that
// place them there are in the slots.
func (t *table) double() {
	old := t.slots
	t.slots, t.used = make([]uint64, 2*len(old)), 0
	for _, s := range old {
		if s != 0 {
			t.insert(slotHash(s), s)
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

// split moves the ids of t whose next hash bit is 1 into a new table,
// keeping those whose bit is 0 in t, and doubles the directory first if t
// is chosen by all its bits. Only full tables split.
func (x *index) split(t *table, copies *tableCopies, rehash func(slot uint64) uint64) {
	if t.depth == x.depth {
		dir := make([]*table, 2*len(x.dir))
		for i, d := range x.dir {
			dir[2*i], dir[2*i+1] = d, d
		}
		x.dir, x.depth = dir, x.depth+1
	}
	bit := 63 - t.depth // the hash bit that tells the halves apart
	kept := t.depth < keptTopBits
	old := copies.get()
	defer copies.put(old)
	moving := old[:copy(old[:], t.slots)]
	clear(t.slots)
	t.used = 0
	t.depth++
	high := &table{slots: make([]uint64, len(t.slots)), depth: t.depth}
	for _, s := range moving {
		if s == 0 {
			continue
		}
		h := slotHash(s)
		if !kept {
			h = rehash(s)
		}
		if h>>bit&1 == 0 {
			t.insert(h, s)
		} else {
			high.insert(h, s)
		}
	}
	// The directory entries that chose t share its old depth top bits; the
	// next bit of their index tells which half they now choose.
	shift := x.depth - t.depth
	for i, d := range x.dir {
		if d == t && i>>shift&1 == 1 {
			x.dir[i] = high
		}
	}
}

// removeRows removes the entries whose rows gone says are gone, table by
// table: each table's other slots are put back in place, from the hash
// bits they keep.
func (x *index) removeRows(copies *tableCopies, gone func(rowRef) bool) {
	for i, t := range x.dir {
		if i > 0 && x.dir[i-1] == t {
			continue // the same table as the entry before
		}
		keep := copies.get()
		kept := keep[:0]
		for _, s := range t.slots {
			if s != 0 && !gone(slotRow(s)) {
				kept = append(kept, s)
			}
		}
		if len(kept) < t.used {
			clear(t.slots)
			t.used = 0
			for _, s := range kept {
				t.insert(slotHash(s), s)
			}
		}
		copies.put(keep)
	}
}

// tableCopies lends the arrays that a split, or a removal of rows, copies a
// table's slots into while it refills the table's own array: so only a
// split's new half is allocated. One Memory's indexes share it. Its zero
// value is ready to use.
type tableCopies struct {
	pool sync.Pool // of *[maxTableSlots]uint64
}

func (p *tableCopies) get() *[maxTableSlots]uint64 {
	if a, ok := p.pool.Get().(*[maxTableSlots]uint64); ok {
		return a
	}
	return new([maxTableSlots]uint64)
}

func (p *tableCopies) put(a *[maxTableSlots]uint64) { p.pool.Put(a) }

// hasher hashes event ids; it is the same for every client of a store.
type hasher struct {
	seed   maphash.Seed
	seed64 uint64
}

func (h *hasher) hash(id *[16]byte, name string) uint64 {
	if name != "" {
		return maphash.String(h.seed, name)
	}
	return hashUUID(h.seed64, id)
}

// idRef is an event id read for the index: the UUID, or the id itself
// when it is not one, and its hash.
type idRef struct {
	uuid [16]byte
	name string
	hash uint64
}

func (h *hasher) ref(id string) idRef {
	var r idRef
	if u, ok := event.ParseUUID(id); ok {
		r.uuid = u
	} else {
		r.name = id
	}
	r.hash = h.hash(&r.uuid, r.name)
	return r
}

// rehash returns the hash of the id that index slot s refers to.
func (c *clientData) rehash(h *hasher, s uint64) uint64 {
	_, ch, off := c.row(slotRow(s))
	if slotNamedID(s) {
		return h.hash(nil, ch.names[off])
	}
	return h.hash(&ch.ids[off], "")
}

// prefetch reads the first index slot of each id, so that the cache misses
// of a run of events overlap instead of coming one after the other. The
// caller holds c.mu.
func (c *clientData) prefetch(refs []idRef) {
	if c.ids.dir == nil {
		return
	}
	for i := range refs {
		t := c.ids.table(refs[i].hash)
		c.prefetched ^= t.slots[t.home(refs[i].hash)]
	}
}

// find returns the row that holds the id of ref, if c has it. The caller
// holds c.mu.
func (c *clientData) find(ref *idRef) (s *series, ch *chunk, off int, found bool) {
	if c.ids.dir == nil {
		return nil, nil, 0, false
	}
	t := c.ids.table(ref.hash)
	mask, named := uint64(len(t.slots)-1), ref.name != ""
	for i := t.home(ref.hash); t.slots[i] != 0; i = (i + 1) & mask {
		slot := t.slots[i]
		if !tagMatches(slot, ref.hash) || slotNamedID(slot) != named {
			continue
		}
		if s, ch, off = c.row(slotRow(slot)); ch.sameID(off, &ref.uuid, ref.name) {
			return s, ch, off, true
		}
	}
	return nil, nil, 0, false
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
