package wal_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/montool/montool/internal/wal"
)

// segmentPath is where the log keeps segment seq: 16 hex digits and ".wal".
func segmentPath(dir string, seq uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%016x.wal", seq))
}

// openLog opens a log in dir and fails t on an error.
func openLog(t *testing.T, dir string, after uint64, opts wal.Options) *wal.Log {
	t.Helper()
	l, err := wal.Open(dir, after, opts)
	if err != nil {
		t.Fatalf("Open(%q, %d, %+v): %v", dir, after, opts, err)
	}
	return l
}

// closeLog closes l and fails t on an error.
func closeLog(t *testing.T, l *wal.Log) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// wait calls l.Wait and fails t on an error.
func wait(t *testing.T, l *wal.Log) {
	t.Helper()
	if err := l.Wait(); err != nil {
		t.Fatalf("Wait: %v", err)
	}
}

// replay replays dir after after and returns every payload in order.
func replay(t *testing.T, dir string, after uint64) (payloads [][]byte, last uint64, losses []wal.Loss) {
	t.Helper()
	res, err := wal.Replay(dir, after, false, collect(&payloads))
	if err != nil {
		t.Fatalf("Replay(%q, %d): %v", dir, after, err)
	}
	return payloads, res.Last, res.Losses
}

// collect returns a function for Replay or ScanFrames that appends a copy
// of each payload to payloads.
func collect(payloads *[][]byte) func(payload []byte) error {
	return func(payload []byte) error {
		*payloads = append(*payloads, bytes.Clone(payload))
		return nil
	}
}

// checkPayloads fails t unless got and want hold the same payloads in
// order.
func checkPayloads(t *testing.T, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d payloads, want %d:\ngot  %q\nwant %q", len(got), len(want), got, want)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("payload %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// batch is payloads appended one after the other, as a user of the log
// appends the records of a request.
type batch [][]byte

// makeBatch makes a batch of n payloads of client, numbered from first, of
// sizes from a few bytes to about a hundred.
func makeBatch(client string, first, n int) batch {
	var b batch
	for i := first; i < first+n; i++ {
		b = append(b, fmt.Appendf(nil, "%s/%d %s", client, i, strings.Repeat("x", i%7*13)))
	}
	return b
}

func (b batch) append(l *wal.Log) {
	for _, p := range b {
		l.Append(p)
	}
}

func TestLogAppendReplay(t *testing.T) {
	for _, mode := range []wal.SyncMode{wal.SyncAlways, wal.SyncInterval, wal.SyncNever} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, 0, wal.Options{Sync: mode, Interval: 10 * time.Millisecond, SegmentBytes: 1 << 20})
			var want [][]byte
			for i := range 20 {
				b := makeBatch(fmt.Sprintf("client-%d", i%3), i*7, 1+i%7)
				b.append(l)
				want = append(want, b...)
				if i%4 == 3 {
					wait(t, l)
				}
			}
			// Append copies: a payload made in a buffer used again at
			// once comes back as it was.
			var buf []byte
			for i := range 3 {
				buf = fmt.Appendf(buf[:0], "reused %d", i)
				l.Append(buf)
				want = append(want, bytes.Clone(buf))
			}
			// A payload of a single byte, and a large one.
			for _, p := range [][]byte{{0}, bytes.Repeat([]byte{0xa5}, 200<<10)} {
				l.Append(p)
				want = append(want, p)
			}
			wait(t, l)
			if err := l.Err(); err != nil {
				t.Errorf("Err() = %v, want nil", err)
			}

			// Once Wait returns, the records are written: a reader sees
			// them before Close.
			got, _, torn := replay(t, dir, 0)
			checkPayloads(t, got, want)
			if torn != nil {
				t.Errorf("torn = %+v before Close", torn)
			}

			closeLog(t, l)
			got, last, torn := replay(t, dir, 0)
			checkPayloads(t, got, want)
			if torn != nil {
				t.Errorf("torn = %+v, want nil", torn)
			}
			seqs, err := wal.Segments(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(seqs) != 1 || last != seqs[0] {
				t.Errorf("Segments = %v, Replay's last = %d; want one segment, and last naming it", seqs, last)
			}
		})
	}
}

func TestLogConcurrentAppend(t *testing.T) {
	const goroutines, perGoroutine = 16, 100
	for _, tc := range []struct {
		name   string
		opts   wal.Options
		rotate bool
	}{
		{"always", wal.Options{Sync: wal.SyncAlways, SegmentBytes: 1 << 20}, false},
		{"never, small segments, rotating", wal.Options{Sync: wal.SyncNever, SegmentBytes: 8 << 10}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, 0, tc.opts)

			var wg sync.WaitGroup
			errs := make(chan error, goroutines)
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					client := fmt.Sprintf("client-%02d", g)
					for i := range perGoroutine {
						l.Append(fmt.Appendf(nil, "%s/%d", client, i))
						if err := l.Wait(); err != nil {
							errs <- fmt.Errorf("goroutine %d, record %d: Wait: %w", g, i, err)
							return
						}
					}
				}()
			}
			// With rotate, Rotate runs alongside, up to 50 times.
			stopRotating := make(chan struct{})
			rotated := make(chan error, 1)
			go func() {
				var err error
				for i := 0; tc.rotate && i < 50 && err == nil; i++ {
					select {
					case <-stopRotating:
						rotated <- nil
						return
					default:
					}
					_, err = l.Rotate()
				}
				rotated <- err
			}()
			wg.Wait()
			close(stopRotating)
			if err := <-rotated; err != nil {
				t.Errorf("Rotate: %v", err)
			}
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			closeLog(t, l)

			if seqs, err := wal.Segments(dir); err != nil || tc.rotate && len(seqs) < 2 {
				t.Errorf("Segments = %v, %v; want more than one with rotate", seqs, err)
			}
			got, _, torn := replay(t, dir, 0)
			if torn != nil {
				t.Errorf("torn = %+v, want nil", torn)
			}
			if len(got) != goroutines*perGoroutine {
				t.Errorf("replayed %d records, want %d", len(got), goroutines*perGoroutine)
			}
			next := make(map[string]int) // the record each client should show next
			for _, p := range got {
				client, i, _ := strings.Cut(string(p), "/")
				if want := fmt.Sprint(next[client]); i != want {
					t.Fatalf("%s: record %s where %s was due", client, i, want)
				}
				next[client]++
			}
			if len(next) != goroutines {
				t.Errorf("records of %d clients, want %d", len(next), goroutines)
			}
			for client, n := range next {
				if n != perGoroutine {
					t.Errorf("%s: %d records, want %d", client, n, perGoroutine)
				}
			}
		})
	}
}

func TestLogSegments(t *testing.T) {
	dir := t.TempDir()
	// Files that are not segments are ignored.
	for _, name := range []string{"notes.txt", "1.wal", "000000000000000g.wal", "0000000000000001.wal.tmp"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const segmentBytes = 4096
	l := openLog(t, dir, 0, wal.Options{Sync: wal.SyncNever, SegmentBytes: segmentBytes})
	var want [][]byte
	for i := range 150 {
		b := makeBatch("client", i*3, 3)
		b.append(l)
		want = append(want, b...)
		wait(t, l) // one batch a write: segments fill batch by batch
	}
	closeLog(t, l)

	seqs, err := wal.Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) < 3 {
		t.Fatalf("Segments = %v, want at least 3 of %d bytes", seqs, segmentBytes)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Errorf("Segments = %v, want them strictly ascending", seqs)
			break
		}
	}
	if seqs[0] == 0 {
		t.Errorf("first segment is numbered 0, want above after (0)")
	}
	for _, seq := range seqs {
		info, err := os.Stat(segmentPath(dir, seq))
		if err != nil {
			t.Fatalf("segment %d: %v", seq, err)
		}
		if info.Size() == 0 || info.Size() > segmentBytes {
			t.Errorf("segment %d is %d bytes, want 1 to %d", seq, info.Size(), segmentBytes)
		}
	}

	got, last, torn := replay(t, dir, 0)
	checkPayloads(t, got, want)
	if torn != nil {
		t.Errorf("torn = %+v, want nil", torn)
	}
	if last != seqs[len(seqs)-1] {
		t.Errorf("Replay's last = %d, want %d", last, seqs[len(seqs)-1])
	}

	// A log opened again goes on in a segment after every one there.
	l = openLog(t, dir, 0, wal.Options{Sync: wal.SyncNever, SegmentBytes: segmentBytes})
	closeLog(t, l)
	after, err := wal.Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(seqs)+1 || after[len(after)-1] <= seqs[len(seqs)-1] {
		t.Errorf("Segments after reopening = %v, want %v and one more after them", after, seqs)
	}
}

func TestSegmentsMissingDir(t *testing.T) {
	if _, err := wal.Segments(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Segments of a missing dir: err = %v, want fs.ErrNotExist", err)
	}
}

func TestOpenAfter(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 41, wal.Options{Sync: wal.SyncNever, SegmentBytes: 1 << 20})
	makeBatch("c", 0, 2).append(l)
	closeLog(t, l)
	seqs, err := wal.Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 1 || seqs[0] <= 41 {
		t.Fatalf("Segments = %v, want one numbered above 41", seqs)
	}
	if seqs[0] != 42 {
		t.Errorf("Segments = %v, want 42: the one after 41", seqs)
	}
	got, _, _ := replay(t, dir, 41)
	checkPayloads(t, got, makeBatch("c", 0, 2))
	// Segments 1 to 41, or 43, are missing to a replay from 0, or 42.
	for _, tc := range []struct {
		after uint64
		want  wal.Span
	}{{0, wal.Span{First: 1, Last: 41}}, {42, wal.Span{First: 43, Last: 43}}} {
		_, err := wal.Replay(dir, tc.after, false, func([]byte) error { return nil })
		var gap *wal.GapError
		if !errors.As(err, &gap) || len(gap.Missing) != 1 || gap.Missing[0] != tc.want {
			t.Errorf("Replay after %d: err = %v, want a *GapError missing %v", tc.after, err, tc.want)
		}
	}
}

func TestLogRotate(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 0, wal.Options{Sync: wal.SyncAlways, SegmentBytes: 1 << 20})

	var before, afterRotate [][]byte
	for i := range 3 {
		b := makeBatch("before", i*4, 4)
		b.append(l) // no Wait: Rotate writes what is appended
		before = append(before, b...)
	}
	closed, err := l.Rotate()
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	wait(t, l) // nothing left to write
	for i := range 3 {
		b := makeBatch("after", i*4, 4)
		b.append(l)
		afterRotate = append(afterRotate, b...)
	}
	wait(t, l)

	seqs, err := wal.Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(seqs, closed) || seqs[len(seqs)-1] <= closed {
		t.Fatalf("Segments = %v, want %d among them and a later one", seqs, closed)
	}

	// The payloads appended before Rotate are in the segments up to
	// closed.
	var inClosed [][]byte
	for _, seq := range seqs {
		if seq > closed {
			break
		}
		file := segmentPath(dir, seq)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		scan := collect(&inClosed)
		if _, _, err := wal.ScanFrames(file, data, func(_ int64, payload []byte) error { return scan(payload) }); err != nil {
			t.Fatalf("ScanFrames(%s): %v", file, err)
		}
	}
	checkPayloads(t, inClosed, before)
	got, _, _ := replay(t, dir, closed)
	checkPayloads(t, got, afterRotate)
	got, _, _ = replay(t, dir, 0)
	checkPayloads(t, got, append(slices.Clone(before), afterRotate...))

	if err := l.RemoveThrough(closed); err != nil {
		t.Fatalf("RemoveThrough(%d): %v", closed, err)
	}
	for _, seq := range seqs {
		_, err := os.Stat(segmentPath(dir, seq))
		if seq <= closed && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("segment %d still there after RemoveThrough(%d): %v", seq, closed, err)
		}
		if seq > closed && err != nil {
			t.Errorf("segment %d after RemoveThrough(%d): %v", seq, closed, err)
		}
	}
	got, _, _ = replay(t, dir, closed)
	checkPayloads(t, got, afterRotate)
	// From 0, the segments removed are missing.
	var gap *wal.GapError
	if _, err := wal.Replay(dir, 0, false, func([]byte) error { return nil }); !errors.As(err, &gap) {
		t.Errorf("Replay from 0 after RemoveThrough(%d): %v, want a *GapError", closed, err)
	}

	// The log writes on after all that.
	more := makeBatch("more", 0, 4)
	more.append(l)
	wait(t, l)
	closeLog(t, l)
	got, _, _ = replay(t, dir, closed)
	checkPayloads(t, got, append(slices.Clone(afterRotate), more...))
}

func TestLogRotateEmpty(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 0, wal.Options{Sync: wal.SyncNever, SegmentBytes: 1 << 20})
	first, err := l.Rotate()
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	second, err := l.Rotate()
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if second <= first {
		t.Errorf("Rotate returned %d, then %d; want ascending", first, second)
	}
	closeLog(t, l)
	if got, _, losses := replay(t, dir, 0); len(got) != 0 || losses != nil {
		t.Errorf("Replay = %d payloads, losses %+v; want none", len(got), losses)
	}
}

func TestReplayTornTail(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 0, wal.Options{Sync: wal.SyncAlways, SegmentBytes: 1 << 20})
	var want [][]byte
	for i := range 4 {
		b := makeBatch("client", i*5, 5)
		b.append(l)
		want = append(want, b...)
	}
	closeLog(t, l)
	seqs, err := wal.Segments(dir)
	if err != nil || len(seqs) == 0 {
		t.Fatalf("Segments = %v, %v", seqs, err)
	}
	file := segmentPath(dir, seqs[len(seqs)-1])

	// What a crash in the middle of a write leaves: half a frame.
	frame := wal.AppendFrame(nil, makeBatch("client", 100, 1)[0])
	half := frame[:len(frame)/2]
	oldSize := fileSize(t, file)
	appendFile(t, file, half)

	got, last, losses := replay(t, dir, 0)
	checkPayloads(t, got, want)
	if last != seqs[len(seqs)-1] {
		t.Errorf("last = %d, want %d", last, seqs[len(seqs)-1])
	}
	if len(losses) != 1 {
		t.Fatalf("losses = %+v, want one torn tail", losses)
	}
	saved := losses[0].SavedTo
	losses[0].SavedTo = ""
	wantTorn := wal.Loss{File: file, Offset: oldSize, Bytes: int64(len(half)), Frames: 1, Torn: true}
	if losses[0] != wantTorn {
		t.Fatalf("loss = %+v, want %+v", losses[0], wantTorn)
	}
	if data, err := os.ReadFile(saved); err != nil || !bytes.Equal(data, half) || filepath.Dir(saved) != dir {
		t.Errorf("%s does not hold the torn tail (%v)", saved, err)
	}
	if size := fileSize(t, file); size != oldSize {
		t.Errorf("segment is %d bytes after Replay, want it cut to %d", size, oldSize)
	}

	got, _, losses = replay(t, dir, 0)
	checkPayloads(t, got, want)
	if losses != nil {
		t.Errorf("second Replay: losses = %+v, want nil", losses)
	}

	// A log opened after it goes on, and everything replays.
	l = openLog(t, dir, last, wal.Options{Sync: wal.SyncAlways, SegmentBytes: 1 << 20})
	b := makeBatch("client", 200, 3)
	b.append(l)
	closeLog(t, l)
	got, _, losses = replay(t, dir, 0)
	checkPayloads(t, got, append(want, b...))
	if losses != nil {
		t.Errorf("Replay after reopening: losses = %+v, want nil", losses)
	}
}

// twoSegments writes two segments of two payloads each and returns their
// files and the payloads.
func twoSegments(t *testing.T) (dir string, files []string, want [][]byte) {
	t.Helper()
	dir = t.TempDir()
	l := openLog(t, dir, 0, wal.Options{Sync: wal.SyncNever, SegmentBytes: 1 << 20})
	for i, p := range makeBatch("client", 0, 4) {
		l.Append(p)
		want = append(want, p)
		if i == 1 {
			if _, err := l.Rotate(); err != nil {
				t.Fatalf("Rotate: %v", err)
			}
		}
	}
	closeLog(t, l)
	seqs, err := wal.Segments(dir)
	if err != nil || len(seqs) != 2 {
		t.Fatalf("Segments = %v, %v; want two", seqs, err)
	}
	return dir, []string{segmentPath(dir, seqs[0]), segmentPath(dir, seqs[1])}, want
}

func TestReplayDamage(t *testing.T) {
	t.Run("byte flipped in the first frame", func(t *testing.T) {
		dir, files, _ := twoSegments(t)
		data, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		data[frameHeader+2] ^= 0x40 // in the first payload
		if err := os.WriteFile(files[0], data, 0o644); err != nil {
			t.Fatal(err)
		}
		calls := 0
		res, err := wal.Replay(dir, 0, false, func([]byte) error { calls++; return nil })
		var de *wal.DamageError
		if !errors.As(err, &de) {
			t.Fatalf("Replay error = %v (%T), want a *DamageError", err, err)
		}
		if de.File != files[0] || de.Offset != 0 {
			t.Errorf("DamageError = %+v, want File %q, Offset 0", de, files[0])
		}
		if res.Losses != nil || calls != 0 {
			t.Errorf("losses = %+v after %d payloads, want nil after none", res.Losses, calls)
		}
		if size := fileSize(t, files[0]); size != int64(len(data)) {
			t.Errorf("damaged segment is %d bytes after Replay, want it left at %d", size, len(data))
		}
	})

	t.Run("torn tail in a segment that is not the last", func(t *testing.T) {
		dir, files, want := twoSegments(t)
		size := fileSize(t, files[0])
		appendFile(t, files[0], wal.AppendFrame(nil, []byte("half a frame"))[:10])
		var got [][]byte
		res, err := wal.Replay(dir, 0, false, collect(&got))
		var de *wal.DamageError
		if !errors.As(err, &de) {
			t.Fatalf("Replay error = %v (%T), want a *DamageError", err, err)
		}
		if de.File != files[0] || de.Offset != size {
			t.Errorf("DamageError = %+v, want File %q, Offset %d", de, files[0], size)
		}
		if res.Losses != nil {
			t.Errorf("losses = %+v, want nil", res.Losses)
		}
		checkPayloads(t, got, want[:2])
		if got := fileSize(t, files[0]); got != size+10 {
			t.Errorf("segment is %d bytes after Replay, want it left at %d", got, size+10)
		}
	})

	t.Run("callback error", func(t *testing.T) {
		dir, _, _ := twoSegments(t)
		stop := errors.New("stop")
		if _, err := wal.Replay(dir, 0, false, func([]byte) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("Replay error = %v, want %v", err, stop)
		}
	})
}

func TestWaitAfterClose(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 0, wal.Options{Sync: wal.SyncAlways, SegmentBytes: 1 << 20})
	b := makeBatch("client", 0, 5)
	b.append(l)
	closeLog(t, l) // Close writes what was appended, without a Wait

	// What Wait does after Close, with nothing pending (Close wrote it
	// all): it returns ErrClosed ("ErrClosed is returned by a Wait called
	// after Close"), although nothing was lost; Err stays nil, as no write
	// failed.
	if err := l.Wait(); !errors.Is(err, wal.ErrClosed) {
		t.Errorf("Wait after Close with nothing pending = %v, want ErrClosed", err)
	}
	if err := l.Err(); err != nil {
		t.Errorf("Err after Close = %v, want nil", err)
	}
	got, _, _ := replay(t, dir, 0)
	checkPayloads(t, got, b)
}

// A payload appended after Close is not written: Wait must say so.
func TestAppendAfterCloseWaitReportsIt(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 0, wal.Options{Sync: wal.SyncAlways, SegmentBytes: 1 << 20})
	closeLog(t, l)
	makeBatch("client", 0, 5).append(l)
	if err := l.Wait(); !errors.Is(err, wal.ErrClosed) {
		t.Errorf("Wait after an Append after Close = %v, want ErrClosed: the payload was not written", err)
	}
	if got, _, _ := replay(t, dir, 0); len(got) != 0 {
		t.Errorf("Replay = %d payloads, want none", len(got))
	}
}

// An empty payload is the caller's mistake: Append panics rather than
// write a frame that would read as damage.
func TestAppendEmptyPanics(t *testing.T) {
	l := openLog(t, t.TempDir(), 0, wal.Options{Sync: wal.SyncAlways, SegmentBytes: 1 << 20})
	defer closeLog(t, l)
	for _, p := range [][]byte{nil, {}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Append of a payload of %d bytes did not panic", len(p))
				}
			}()
			l.Append(p)
		}()
	}
	wait(t, l) // nothing was taken
}

// A last segment left empty is taken up again by the next Open, so that
// the numbers go on with no gap and empty files do not pile up.
func TestOpenTakesUpEmptySegment(t *testing.T) {
	dir := t.TempDir()
	opts := wal.Options{Sync: wal.SyncNever, SegmentBytes: 1 << 20}
	l := openLog(t, dir, 0, opts)
	b := makeBatch("c", 0, 3)
	b.append(l)
	closeLog(t, l)
	l = openLog(t, dir, 0, opts) // left empty
	closeLog(t, l)
	before, err := wal.Segments(dir)
	if err != nil || len(before) != 2 || fileSize(t, segmentPath(dir, before[1])) != 0 {
		t.Fatalf("Segments = %v, %v; want two, the second empty", before, err)
	}

	l = openLog(t, dir, 0, opts)
	more := makeBatch("c", 3, 3)
	more.append(l)
	closeLog(t, l)
	after, err := wal.Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(after, before) || fileSize(t, segmentPath(dir, after[1])) == 0 {
		t.Errorf("Segments after opening again = %v, want %v, the empty one written to", after, before)
	}
	got, _, _ := replay(t, dir, 0)
	checkPayloads(t, got, append(slices.Clone(b), more...))
}

// A write that fails stops the log: Rotate, Wait and Close report it, and
// Err returns it.
func TestLogStopsOnFailure(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 0, wal.Options{Sync: wal.SyncAlways, SegmentBytes: 1 << 20})
	b := makeBatch("client", 0, 5)
	b.append(l)
	wait(t, l)
	seqs, err := wal.Segments(dir)
	if err != nil || len(seqs) != 1 {
		t.Fatalf("Segments = %v, %v", seqs, err)
	}
	// The segment Rotate would go on in is already there.
	if err := os.WriteFile(segmentPath(dir, seqs[0]+1), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Rotate(); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Rotate = %v, want fs.ErrExist", err)
	}
	if err := l.Err(); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Err = %v, want fs.ErrExist", err)
	}
	makeBatch("client", 5, 5).append(l)
	if err := l.Wait(); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Wait = %v, want fs.ErrExist", err)
	}
	if err := l.Close(); err == nil {
		t.Errorf("Close = nil, want the log's error")
	}
	got, _, _ := replay(t, dir, 0)
	checkPayloads(t, got, b)
}

func TestParseSyncMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want wal.SyncMode
	}{
		{"always", wal.SyncAlways},
		{"interval", wal.SyncInterval},
		{"never", wal.SyncNever},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := wal.ParseSyncMode(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("ParseSyncMode(%q) = %v, %v; want %v, nil", tc.in, got, err, tc.want)
			}
			if s := got.String(); s != tc.in {
				t.Errorf("String() = %q, want %q", s, tc.in)
			}
		})
	}
	for _, in := range []string{"sometimes", "", "Always", "NEVER"} {
		t.Run("reject "+in, func(t *testing.T) {
			_, err := wal.ParseSyncMode(in)
			if err == nil {
				t.Fatalf("ParseSyncMode(%q) accepted it", in)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", in)) {
				t.Errorf("error %q does not name %q", err, in)
			}
		})
	}
	if s := wal.SyncMode(7).String(); s != "SyncMode(7)" {
		t.Errorf("SyncMode(7).String() = %q, want %q", s, "SyncMode(7)")
	}
}

func fileSize(t *testing.T, file string) int64 {
	t.Helper()
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

func appendFile(t *testing.T, file string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCloseTwice(t *testing.T) {
	l := openLog(t, t.TempDir(), 0, wal.Options{Sync: wal.SyncAlways, SegmentBytes: 1 << 20})
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := l.Close(); !errors.Is(err, wal.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

func TestOpenBadOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    wal.Options
		wantErr string
	}{
		{"interval without a period", wal.Options{Sync: wal.SyncInterval, SegmentBytes: 1 << 20}, "sync interval must be positive, not 0s"},
		{"no segment size", wal.Options{Sync: wal.SyncAlways}, "segment size must be positive, not 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := wal.Open(t.TempDir(), 0, tt.opts)
			if err == nil {
				l.Close()
				t.Fatalf("Open(%+v) = nil error, want %q", tt.opts, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open(%+v) = %v, want %q", tt.opts, err, tt.wantErr)
			}
		})
	}
}

// With accept, Replay goes past a frame that fails its checksum (to the
// next frame), and past a gap, copying the bytes it drops aside and
// leaving the segment as it was.
func TestReplayAcceptLoss(t *testing.T) {
	dir, files, want := twoSegments(t)
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	end := int64(frameHeader) + int64(binary.LittleEndian.Uint32(data)) // of the first frame
	data[frameHeader+2] ^= 0x01
	if err := os.WriteFile(files[0], data, 0o644); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	res, err := wal.Replay(dir, 0, true, collect(&got))
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	checkPayloads(t, got, want[1:])
	if len(res.Losses) != 1 {
		t.Fatalf("losses = %+v, want one", res.Losses)
	}
	l := res.Losses[0]
	if l.File != files[0] || l.Offset != 0 || l.Bytes != end || l.Frames != 1 || l.Torn || !strings.Contains(l.Reason, "checksum mismatch at offset 0") {
		t.Errorf("loss = %+v, want the first frame of %s, %d bytes, damaged", l, files[0], end)
	}
	if saved, err := os.ReadFile(l.SavedTo); err != nil || !bytes.Equal(saved, data[:end]) {
		t.Errorf("%s does not hold the frame dropped (%v)", l.SavedTo, err)
	}
	if now, err := os.ReadFile(files[0]); err != nil || !bytes.Equal(now, data) {
		t.Errorf("Replay changed %s (%v)", files[0], err)
	}

	// Without the first segment, only the second replays.
	if err := os.Remove(files[0]); err != nil {
		t.Fatal(err)
	}
	got = nil
	res, err = wal.Replay(dir, 0, true, collect(&got))
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	checkPayloads(t, got, want[2:])
	if len(res.Missing) != 1 || res.Missing[0] != (wal.Span{First: 1, Last: 1}) {
		t.Errorf("missing = %v, want segment 1", res.Missing)
	}
}
