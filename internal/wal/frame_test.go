package wal_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/montool/montool/internal/wal"
)

const frameHeader = 12 // length, payload CRC, header CRC

// testFrames are three frames of different sizes, and where each starts.
func testFrames() (data []byte, payloads [][]byte, offsets []int64) {
	payloads = [][]byte{
		[]byte("first payload"),
		bytes.Repeat([]byte{0xa5}, 300),
		[]byte("third"),
	}
	for _, p := range payloads {
		offsets = append(offsets, int64(len(data)))
		data = wal.AppendFrame(data, p)
	}
	return data, payloads, offsets
}

type scanned struct {
	off     int64
	payload []byte
}

// scanAll runs ScanFrames over data and collects what fn was called with.
func scanAll(file string, data []byte) (got []scanned, valid int64, torn bool, err error) {
	valid, torn, err = wal.ScanFrames(file, data, func(off int64, payload []byte) error {
		got = append(got, scanned{off, bytes.Clone(payload)})
		return nil
	})
	return got, valid, torn, err
}

func TestAppendFrame(t *testing.T) {
	payload := []byte("hello, frame")
	buf := wal.AppendFrame([]byte("pre"), payload)
	if string(buf[:3]) != "pre" {
		t.Fatalf("AppendFrame lost what buf held: %q", buf[:3])
	}
	frame := buf[3:]
	if got, want := len(frame), frameHeader+len(payload); got != want {
		t.Fatalf("frame is %d bytes, want %d", got, want)
	}
	if got := binary.LittleEndian.Uint32(frame); got != uint32(len(payload)) {
		t.Errorf("length field = %d, want %d", got, len(payload))
	}
	if !bytes.Equal(frame[frameHeader:], payload) {
		t.Errorf("payload = %q, want %q", frame[frameHeader:], payload)
	}
	// The same payload gives the same frame; another payload another CRC.
	if again := wal.AppendFrame(nil, payload); !bytes.Equal(again, frame) {
		t.Errorf("AppendFrame is not deterministic: %x vs %x", again, frame)
	}
	other := wal.AppendFrame(nil, []byte("hello, frame!"))
	if bytes.Equal(other[4:8], frame[4:8]) {
		t.Errorf("two payloads share the CRC %x", frame[4:8])
	}
}

func TestScanFrames(t *testing.T) {
	clean, payloads, offsets := testFrames()
	end := int64(len(clean))
	const file = "/some/dir/0000000000000001.wal"

	// next is the header of a fourth frame, to cut.
	next := wal.AppendFrame(nil, []byte("fourth payload"))[:frameHeader]

	type want struct {
		frames int   // how many of the frames fn sees
		valid  int64 // returned offset
		torn   bool
		damage int64 // offset of a *DamageError, or -1 for no error
	}
	tests := []struct {
		name string
		data func() []byte
		want want
	}{
		{"empty", func() []byte { return nil }, want{0, 0, false, -1}},
		{"clean", func() []byte { return clean }, want{3, end, false, -1}},
		{"one frame", func() []byte { return clean[:offsets[1]] }, want{1, offsets[1], false, -1}},
		{"last frame cut short by one byte", func() []byte { return clean[:end-1] }, want{2, offsets[2], true, -1}},
		{"last frame cut after its header", func() []byte { return clean[:offsets[2]+frameHeader] }, want{2, offsets[2], true, -1}},
		{"last frame cut inside its header", func() []byte { return clean[:offsets[2]+3] }, want{2, offsets[2], true, -1}},
		{"middle frame cut short, nothing after", func() []byte { return clean[:offsets[2]-10] }, want{1, offsets[1], true, -1}},
		// A frame that is all there but fails a checksum is damage, not a
		// torn tail, wherever it is.
		{"CRC flipped in the last frame", func() []byte {
			return flip(clean, offsets[2]+4)
		}, want{2, offsets[2], false, offsets[2]}},
		{"payload byte flipped in the last frame", func() []byte {
			return flip(clean, end-1)
		}, want{2, offsets[2], false, offsets[2]}},
		{"CRC flipped in the last frame, zeros after", func() []byte {
			return append(flip(clean, offsets[2]+5), make([]byte, 64)...)
		}, want{2, offsets[2], false, offsets[2]}},
		{"length flipped in the last frame", func() []byte {
			return flip(clean, offsets[2]+1) // longer than what is there
		}, want{2, offsets[2], false, offsets[2]}},
		{"header CRC flipped in the last frame", func() []byte {
			return flip(clean, offsets[2]+9)
		}, want{2, offsets[2], false, offsets[2]}},
		{"CRC flipped in the last frame, junk after", func() []byte {
			return append(flip(clean, offsets[2]+5), 0, 0, 1)
		}, want{2, offsets[2], false, offsets[2]}},
		{"CRC flipped in the middle frame", func() []byte {
			return flip(clean, offsets[1]+4)
		}, want{1, offsets[1], false, offsets[1]}},
		{"payload flipped in the middle frame", func() []byte {
			return flip(clean, offsets[1]+frameHeader+150)
		}, want{1, offsets[1], false, offsets[1]}},
		{"CRC flipped in the first frame", func() []byte {
			return flip(clean, 7)
		}, want{0, 0, false, 0}},
		{"zero-filled tail", func() []byte {
			return append(bytes.Clone(clean), make([]byte, 4096)...)
		}, want{3, end, true, -1}},
		{"zero-filled tail shorter than a header", func() []byte {
			return append(bytes.Clone(clean), make([]byte, 5)...)
		}, want{3, end, true, -1}},
		{"zero length, then non-zero bytes", func() []byte {
			return append(bytes.Clone(clean), 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8)
		}, want{3, end, false, end}},
		{"zero header, then a frame", func() []byte {
			return wal.AppendFrame(append(bytes.Clone(clean), make([]byte, frameHeader)...), []byte("x"))
		}, want{3, end, false, end}},
		{"impossible length", func() []byte {
			return append(bytes.Clone(clean), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0)
		}, want{3, end, false, end}},
	}
	for k := 1; k < frameHeader; k++ {
		tests = append(tests, struct {
			name string
			data func() []byte
			want want
		}{
			fmt.Sprintf("%d bytes of a next header", k),
			func() []byte { return append(bytes.Clone(clean), next[:k]...) },
			want{3, end, true, -1},
		})
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data()
			got, valid, torn, err := scanAll(file, data)

			if tc.want.damage < 0 {
				if err != nil {
					t.Fatalf("ScanFrames: %v", err)
				}
			} else {
				var de *wal.DamageError
				if !errors.As(err, &de) {
					t.Fatalf("ScanFrames error = %v (%T), want a *DamageError", err, err)
				}
				if de.File != file || de.Offset != tc.want.damage || de.Reason == "" {
					t.Errorf("DamageError = %+v, want File %q, Offset %d and a reason", de, file, tc.want.damage)
				}
			}
			if valid != tc.want.valid {
				t.Errorf("valid = %d, want %d", valid, tc.want.valid)
			}
			if torn != tc.want.torn {
				t.Errorf("torn = %v, want %v", torn, tc.want.torn)
			}
			if len(got) != tc.want.frames {
				t.Fatalf("fn was called %d times, want %d", len(got), tc.want.frames)
			}
			for i, g := range got {
				if g.off != offsets[i] || !bytes.Equal(g.payload, payloads[i]) {
					t.Errorf("frame %d = (%d, %q), want (%d, %q)", i, g.off, g.payload, offsets[i], payloads[i])
				}
			}
		})
	}
}

// flip returns a copy of data with the byte at off inverted.
func flip(data []byte, off int64) []byte {
	data = bytes.Clone(data)
	data[off] ^= 0xff
	return data
}

func TestScanFramesStopsOnCallbackError(t *testing.T) {
	data, _, offsets := testFrames()
	stop := errors.New("stop here")
	calls := 0
	valid, torn, err := wal.ScanFrames("f", data, func(off int64, _ []byte) error {
		calls++
		if off == offsets[1] {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("err = %v, want %v", err, stop)
	}
	if valid != offsets[1] || torn {
		t.Errorf("valid, torn = %d, %v; want %d, false", valid, torn, offsets[1])
	}
	if calls != 2 {
		t.Errorf("fn was called %d times, want 2", calls)
	}
}

func TestDamageErrorMessage(t *testing.T) {
	err := error(&wal.DamageError{File: "seg.wal", Offset: 1234, Reason: "CRC mismatch"})
	msg := err.Error()
	for _, part := range []string{"seg.wal", "1234", "CRC mismatch"} {
		if !bytes.Contains([]byte(msg), []byte(part)) {
			t.Errorf("Error() = %q, want it to contain %q", msg, part)
		}
	}
}

func FuzzScanFrames(f *testing.F) {
	clean, _, offsets := testFrames()
	f.Add([]byte{})
	f.Add(clean)
	f.Add(clean[:len(clean)-1])
	f.Add(flip(clean, offsets[1]+4))
	f.Add(flip(clean, offsets[2]+4))
	f.Add(append(bytes.Clone(clean), make([]byte, 16)...))
	f.Add(append(bytes.Clone(clean), 0, 0, 0, 0, 1))
	f.Add([]byte{1, 0, 0, 0})
	f.Add(wal.AppendFrame(nil, []byte{0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var sum int64
		valid, torn, err := wal.ScanFrames("fuzz", data, func(off int64, payload []byte) error {
			if off != sum {
				t.Fatalf("fn got offset %d, want %d (the end of the frames before)", off, sum)
			}
			if len(payload) == 0 {
				t.Fatalf("fn got an empty payload at %d", off)
			}
			sum += frameHeader + int64(len(payload))
			if sum > int64(len(data)) {
				t.Fatalf("frame at %d ends at %d, past the %d bytes of data", off, sum, len(data))
			}
			return nil
		})
		if valid < 0 || valid > int64(len(data)) {
			t.Fatalf("valid = %d, out of [0, %d]", valid, len(data))
		}
		if valid != sum {
			t.Fatalf("valid = %d, but the frames fn saw end at %d", valid, sum)
		}
		if err == nil && !torn && valid != int64(len(data)) {
			t.Fatalf("no error and not torn, but valid = %d of %d bytes", valid, len(data))
		}
		if torn && err != nil {
			t.Fatalf("torn and an error: %v", err)
		}
		if err != nil {
			var de *wal.DamageError
			if !errors.As(err, &de) || de.File != "fuzz" || de.Offset != valid {
				t.Fatalf("err = %v (%T), want a *DamageError in %q at %d", err, err, "fuzz", valid)
			}
		}
	})
}
