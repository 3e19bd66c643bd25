// Package wal is a write-ahead log of payloads that it knows only as
// bytes: each payload goes into a frame (a length, CRCs, the payload),
// frames are appended to numbered segment files by a background writer
// that shares one sync among concurrent waiters (group commit), and Replay
// gives the payloads back in order, cutting off the torn tail a crash
// leaves and reporting any other damage. What a payload means is its
// user's business: wal imports nothing of the program around it. Its frames
// are a file format of their own too (AppendFrame, ScanFrames), for other
// files made of records, such as snapshots.
package wal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// A frame is the length of its payload (uint32, little endian), the CRC-32C
// of the payload (uint32, little endian), the CRC-32C of those eight bytes
// (uint32, little endian), then the payload. The header's own checksum
// tells a damaged length from a frame cut short.
const (
	frameHeader = 12
	// MaxPayload bounds a payload; a length over it is damage.
	MaxPayload = 256 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checkPayload panics unless a payload of n bytes can have a frame: one
// that is empty or over MaxPayload would read as damage.
func checkPayload(n int) {
	if n == 0 || n > MaxPayload {
		panic(fmt.Sprintf("wal: a payload of %d bytes, not 1 to %d", n, MaxPayload))
	}
}

// appendHeader appends the header of the frame of a payload of n bytes
// whose CRC-32C is crc.
func appendHeader(buf []byte, n int, crc uint32) []byte {
	start := len(buf)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(n))
	buf = binary.LittleEndian.AppendUint32(buf, crc)
	return binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf[start:], castagnoli))
}

// AppendFrame appends payload as one frame. The payload must be 1 to
// MaxPayload bytes, as no other can be read back: AppendFrame panics on
// one that is not.
func AppendFrame(buf, payload []byte) []byte {
	checkPayload(len(payload))
	return append(appendHeader(buf, len(payload), crc32.Checksum(payload, castagnoli)), payload...)
}

// DamageError says a file of the log or a snapshot cannot be read past
// Offset.
type DamageError struct {
	File   string
	Offset int64
	Reason string
	// Next is where reading can go on past the damage: the end of a frame
	// whose header is sound and whose payload fails its checksum. It is 0
	// when the rest of the file cannot be read.
	Next int64
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("%s: damaged at byte offset %d: %s", e.File, e.Offset, e.Reason)
}

// ScanFrames calls fn with the offset and payload of each frame of data in
// turn, and returns the length of the frames it read whole.
//
// A frame whose header is cut short, or whose header is sound but whose
// payload ends before the length it gives, ends where data ends: that is a
// torn tail, what a crash in the middle of a write leaves, and so is a
// tail of zero bytes only. ScanFrames stops there and reports torn. A
// frame that is all there but fails a checksum, or gives an impossible
// length, is corruption: a *DamageError with file as its File.
func ScanFrames(file string, data []byte, fn func(off int64, payload []byte) error) (valid int64, torn bool, err error) {
	off := 0
	for off < len(data) {
		rest := data[off:]
		if len(rest) < frameHeader || allZero(rest) {
			return int64(off), true, nil
		}
		n := int(binary.LittleEndian.Uint32(rest))
		damage := func(reason string, next int) error {
			return &DamageError{File: file, Offset: int64(off), Reason: reason, Next: int64(next)}
		}
		switch {
		case crc32.Checksum(rest[:8], castagnoli) != binary.LittleEndian.Uint32(rest[8:]):
			return int64(off), false, damage(fmt.Sprintf("checksum mismatch at offset %d (the frame's header)", off), 0)
		case n == 0 || n > MaxPayload:
			return int64(off), false, damage(fmt.Sprintf("impossible frame length %d", n), 0)
		case len(rest) < frameHeader+n:
			return int64(off), true, nil
		case crc32.Checksum(rest[frameHeader:frameHeader+n], castagnoli) != binary.LittleEndian.Uint32(rest[4:]):
			return int64(off), false, damage(fmt.Sprintf("checksum mismatch at offset %d (the frame's payload)", off), off+frameHeader+n)
		}
		if err := fn(int64(off), rest[frameHeader:frameHeader+n]); err != nil {
			return int64(off), false, err
		}
		off += frameHeader + n
	}
	return int64(off), false, nil
}

func allZero(b []byte) bool { return len(bytes.TrimLeft(b, "\x00")) == 0 }
