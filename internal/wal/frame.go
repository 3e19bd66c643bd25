package wal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// A frame is the length of its payload (uint32, little endian), the CRC-32C
// of the payload (uint32, little endian), then the payload.
const (
	frameHeader = 8
	// maxPayload bounds a payload; a length over it is damage.
	maxPayload = 256 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// beginFrame appends room for a frame header; endFrame fills it in once
// the payload that follows has been appended.
func beginFrame(buf []byte) []byte { return append(buf, make([]byte, frameHeader)...) }

func endFrame(buf []byte, start int) {
	payload := buf[start+frameHeader:]
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(payload, castagnoli))
}

// AppendFrame appends payload as one frame.
func AppendFrame(buf, payload []byte) []byte {
	start := len(buf)
	buf = append(beginFrame(buf), payload...)
	endFrame(buf, start)
	return buf
}

// DamageError says a file of the log or a snapshot cannot be read past
// Offset.
type DamageError struct {
	File   string
	Offset int64
	Reason string
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("%s: damaged at byte offset %d: %s", e.File, e.Offset, e.Reason)
}

// ScanFrames calls fn with the offset and payload of each frame of data in
// turn, and returns the length of the frames it read whole. A frame that
// is cut short, or fails its CRC, and ends where data ends (or is followed
// only by zero bytes) is a torn tail, what a crash in the middle of a
// write leaves: ScanFrames stops there and reports torn. Any other bad
// frame is a *DamageError with file as its File.
func ScanFrames(file string, data []byte, fn func(off int64, payload []byte) error) (valid int64, torn bool, err error) {
	off := 0
	for off < len(data) {
		rest := data[off:]
		bad, torn := "", false
		var n int
		if len(rest) < frameHeader {
			bad, torn = "frame header cut short", true
		} else {
			n = int(binary.LittleEndian.Uint32(rest))
			switch {
			case n == 0 || n > maxPayload:
				bad, torn = fmt.Sprintf("impossible frame length %d", n), allZero(rest)
			case len(rest) < frameHeader+n:
				bad, torn = fmt.Sprintf("frame of %d bytes cut short after %d", n, len(rest)-frameHeader), true
			case crc32.Checksum(rest[frameHeader:frameHeader+n], castagnoli) != binary.LittleEndian.Uint32(rest[4:]):
				bad, torn = "CRC mismatch", allZero(rest[frameHeader+n:])
			}
		}
		if torn {
			return int64(off), true, nil
		}
		if bad != "" {
			return int64(off), false, &DamageError{File: file, Offset: int64(off), Reason: bad + ", with more data after it"}
		}
		if err := fn(int64(off), rest[frameHeader:frameHeader+n]); err != nil {
			return int64(off), false, err
		}
		off += frameHeader + n
	}
	return int64(off), false, nil
}

func allZero(b []byte) bool { return len(bytes.TrimLeft(b, "\x00")) == 0 }
