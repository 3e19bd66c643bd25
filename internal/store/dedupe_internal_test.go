package store

import (
	"math/rand/v2"
	"testing"
)

// TestIndexFindsEveryID inserts random hashes into an index, as a client
// does, and then looks each one up: every hash must be found after the
// tables have doubled and split. "deep" starts from one table chosen by
// keptTopBits bits, so that its splits need bits that slots do not keep
// and read them back through rehash.
func TestIndexFindsEveryID(t *testing.T) {
	tests := []struct {
		name string
		n    int
		deep bool
	}{
		{"from empty", 100_000, false},
		{"deep", 20_000, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			prefix := rng.Uint64N(1 << keptTopBits)
			hashes := make([]uint64, tc.n)
			for i := range hashes {
				hashes[i] = rng.Uint64()
				if tc.deep {
					hashes[i] = prefix<<(64-keptTopBits) | hashes[i]>>keptTopBits
				}
			}
			var (
				x      index
				copies tableCopies
			)
			if tc.deep { // the one table of the prefix, the others never used
				x.depth = keptTopBits
				x.dir = make([]*table, 1<<keptTopBits)
				x.dir[prefix] = &table{slots: make([]uint64, maxTableSlots), depth: keptTopBits}
			}
			rehashes := 0
			rehash := func(s uint64) uint64 {
				rehashes++
				return hashes[slotRow(s)]
			}
			find := func(h uint64) (rowRef, bool) {
				tb := x.table(h)
				mask := uint64(len(tb.slots) - 1)
				for i := tb.home(h); tb.slots[i] != 0; i = (i + 1) & mask {
					if s := tb.slots[i]; tagMatches(s, h) && hashes[slotRow(s)] == h {
						return slotRow(s), true
					}
				}
				return 0, false
			}
			for i, h := range hashes {
				if _, ok := find(h); ok {
					t.Fatalf("hash %d found before it was inserted", i)
				}
				insertEntry(&x, &copies, h, rowRef(i), rehash)
			}
			for i, h := range hashes {
				if row, ok := find(h); !ok || row != rowRef(i) {
					t.Fatalf("hash %d: got (%d, %v), want (%d, true)", i, row, ok, i)
				}
			}
			if tc.deep != (rehashes > 0) {
				t.Errorf("ids read back to split: %d, want them read only in the deep case", rehashes)
			}
		})
	}
}

// TestIndexRemoveRows removes every third entry of a grown index: the
// others must all be found still, and the removed ones not.
func TestIndexRemoveRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	hashes := make([]uint64, 50_000)
	var (
		x      index
		copies tableCopies
	)
	rehash := func(s uint64) uint64 { return hashes[slotRow(s)] }
	for i := range hashes {
		h := rng.Uint64()
		hashes[i] = h
		insertEntry(&x, &copies, h, rowRef(i), rehash)
	}
	gone := func(r rowRef) bool { return r%3 == 0 }
	x.removeRows(&copies, gone)
	used := 0
	for i, tb := range x.dir {
		if i == 0 || x.dir[i-1] != tb {
			used += tb.used
		}
	}
	if want := len(hashes) - (len(hashes)+2)/3; used != want {
		t.Errorf("tables hold %d entries after removing, want %d", used, want)
	}
	for i, h := range hashes {
		tb := x.table(h)
		mask := uint64(len(tb.slots) - 1)
		found := false
		for j := tb.home(h); tb.slots[j] != 0; j = (j + 1) & mask {
			if s := tb.slots[j]; tagMatches(s, h) && slotRow(s) == rowRef(i) {
				found = true
				break
			}
		}
		if found == gone(rowRef(i)) {
			t.Fatalf("entry %d: found %v after removing every third", i, found)
		}
	}
}

// insertEntry adds the entry of hash and row to x, as a client does, with
// copies for its splits.
func insertEntry(x *index, copies *tableCopies, h uint64, row rowRef, rehash func(uint64) uint64) {
	x.makeRoom(h, copies, rehash)
	tb := x.table(h)
	mask := uint64(len(tb.slots) - 1)
	j := tb.home(h)
	for tb.slots[j] != 0 {
		j = (j + 1) & mask
	}
	tb.slots[j] = makeSlot(h, false, row)
	tb.used++
}
