package cmd

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// byteSize is a flag value of a number of bytes, written as a whole number
// with an optional unit: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB,
// GiB, TiB (powers of 1024), in any letter case.
type byteSize int64

var byteUnits = []struct {
	name string
	mult int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"b", 1},
}

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Type() string { return "bytes" }

func (b *byteSize) Takes() string {
	return "a whole number of bytes, optionally with a unit such as 256MiB or 4GB"
}

func (b *byteSize) Set(s string) error {
	num, mult := strings.TrimSpace(s), int64(1)
	lower := strings.ToLower(num)
	for _, u := range byteUnits {
		if strings.HasSuffix(lower, u.name) {
			num, mult = strings.TrimSpace(num[:len(num)-len(u.name)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a size: want a whole number of bytes, optionally with a unit such as MiB or GB", s)
	}
	if n > math.MaxInt64/mult {
		return fmt.Errorf("%q is too large: %w", s, strconv.ErrRange)
	}
	*b = byteSize(n * mult)
	return nil
}
