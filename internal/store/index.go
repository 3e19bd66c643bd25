package store

import (
	"encoding/binary"
	"math/bits"
)

// index is the dedupe index of one client: an open-addressing hash table,
// with linear probing, from event id to the row that holds the event. It
// does not copy the ids: an entry names a series and a row, and the id is
// read from there. A slot is one uint64:
//
//	bit 63      set in every used slot (0 is an empty slot)
//	bit 62      the id is not a UUID (it is kept as a string)
//	bits 48-61  14 bits of the id's hash, to skip most rows without reading them
//	bits 32-47  the series, by its position in the client's series
//	bits 0-31   the row within the series
type index struct {
	slots []uint64 // len is a power of two, or 0
	used  int
}

const (
	slotUsed    = 1 << 63
	slotNamed   = 1 << 62
	tagShift    = 48
	tagMask     = 1<<14 - 1
	seriesShift = 32
	// maxSeries is the most keys one client may have.
	maxSeries = 1 << 16
	// minSlots is the size of a new index.
	minSlots = 8
)

func makeSlot(hash uint64, named bool, series int, row uint32) uint64 {
	s := slotUsed | (hash>>tagShift&tagMask)<<tagShift | uint64(series)<<seriesShift | uint64(row)
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
	return (s^hash)>>tagShift&tagMask == 0
}

// needsGrowth reports whether adding one more id would fill the table past
// three quarters.
func (x *index) needsGrowth() bool {
	return (x.used+1)*4 > len(x.slots)*3
}

// resize rebuilds the table with size slots; rehash returns the hash of the
// id a slot refers to.
func (x *index) resize(size int, rehash func(slot uint64) uint64) {
	old := x.slots
	x.slots = make([]uint64, size)
	mask := uint64(size - 1)
	for _, s := range old {
		if s == 0 {
			continue
		}
		h := rehash(s)
		i := h & mask
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = s
	}
}

// hashUUID hashes a UUID with seed: wyhash's multiply-and-fold over its two
// halves, so that ids that differ in any bit spread over the whole table.
func hashUUID(seed uint64, u *[16]byte) uint64 {
	a := binary.LittleEndian.Uint64(u[:8]) ^ seed ^ 0xa0761d6478bd642f
	b := binary.LittleEndian.Uint64(u[8:]) ^ 0xe7037ed1a0b428db
	hi, lo := bits.Mul64(a, b)
	hi, lo = bits.Mul64(hi^lo^0x8ebc6af09c88c6e3, seed^0x589965cc75374cc3)
	return hi ^ lo
}
