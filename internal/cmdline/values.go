package cmdline

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ByteSize is a flag value of a number of bytes, written as a whole number
// with an optional unit: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB,
// GiB, TiB (powers of 1024), in any letter case.
type ByteSize int64

// byteUnit is a unit ByteSize takes, in lower case, and the bytes it
// stands for.
type byteUnit struct {
	name string
	mult int64
}

// byteUnits returns the units ByteSize takes, each after those whose names
// end with its own.
func byteUnits() []byteUnit {
	return []byteUnit{
		{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
		{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
		{"b", 1},
	}
}

// String returns the number of bytes.
func (b *ByteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

// Type names the value in help.
func (b *ByteSize) Type() string { return "bytes" }

// Takes says what the value may be.
func (b *ByteSize) Takes() string {
	return "a whole number of bytes, optionally with a unit such as 256MiB or 4GB"
}

// Set reads a whole number with an optional unit.
func (b *ByteSize) Set(s string) error {
	num, mult := strings.TrimSpace(s), int64(1)
	lower := strings.ToLower(num)
	for _, u := range byteUnits() {
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
	*b = ByteSize(n * mult)
	return nil
}

// AutoBool is the value of a flag that is true, false, or auto: left for
// the command to decide. Its zero value is auto.
type AutoBool struct {
	set bool // the value is true or false, not auto
	on  bool
}

// String returns "true", "false" or "auto".
func (b *AutoBool) String() string {
	if !b.set {
		return "auto"
	}
	return strconv.FormatBool(b.on)
}

// Set takes any form strconv.ParseBool takes, or "auto".
func (b *AutoBool) Set(s string) error {
	if strings.EqualFold(s, "auto") {
		*b = AutoBool{}
		return nil
	}
	on, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("must be true, false or auto")
	}
	*b = AutoBool{set: true, on: on}
	return nil
}

// Takes says what the value may be.
func (b *AutoBool) Takes() string { return "true, false or auto" }

// Type names the value as a bool, so that help shows the flag as a switch.
func (b *AutoBool) Type() string { return "bool" }

// Or returns the value of b, or dflt when b is auto.
func (b *AutoBool) Or(dflt bool) bool {
	if !b.set {
		return dflt
	}
	return b.on
}
