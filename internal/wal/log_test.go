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

	"github.com/montool/montool/internal/event"
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

// replay replays dir after after and returns the events of every payload
// in order.
func replay(t *testing.T, dir string, after uint64) (events []event.Event, last uint64, losses []wal.Loss) {
	t.Helper()
	res, err := wal.Replay(dir, after, false, func(payload []byte) error {
		var err error
		events, err = wal.DecodeEvents(events, payload)
		return err
	})
	if err != nil {
		t.Fatalf("Replay(%q, %d): %v", dir, after, err)
	}
	return events, res.Last, res.Losses
}

// batch is the arguments of one Record call and the events it should
// leave in the log.
type batch struct {
	client   string
	events   []event.Event
	results  []event.Result
	accepted []event.Event
}

// makeBatch makes a batch of n events for client, numbered from first;
// every third event is a duplicate and every fifth a conflict.
func makeBatch(client string, first, n int) batch {
	b := batch{client: client}
	for i := first; i < first+n; i++ {
		e := event.Event{
			ClientID: client, ID: fmt.Sprintf("%s-evt-%d", client, i), Timestamp: event.Timestamp(i) * 1000,
			Type: event.Type(1 + i%2), Key: fmt.Sprintf("key-%d", i%5), Value: float64(i) - 0.5,
		}
		var r event.Result
		switch {
		case i%5 == 4:
			r.Err = errConflict
		case i%3 == 2:
			r.Duplicate = true
		default:
			b.accepted = append(b.accepted, e)
		}
		b.events = append(b.events, e)
		b.results = append(b.results, r)
	}
	return b
}

func (b batch) record(l *wal.Log) { l.Record(b.client, b.events, b.results) }

func TestLogRecordReplay(t *testing.T) {
	for _, mode := range []wal.SyncMode{wal.SyncAlways, wal.SyncInterval, wal.SyncNever} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, 0, wal.Options{Sync: mode, Interval: 10 * time.Millisecond, SegmentBytes: 1 << 20})
			var want []event.Event
			for i := range 20 {
				b := makeBatch(fmt.Sprintf("client-%d", i%3), i*7, 1+i%7)
				b.record(l)
				want = append(want, b.accepted...)
				if i%4 == 3 {
					wait(t, l)
				}
			}
			// A batch with nothing accepted leaves nothing.
			l.Record("client-x", []event.Event{{ID: "dup", Type: event.Cumulative, Key: "k"}}, []event.Result{duplicate})
			// A UUID id comes back in canonical form.
			l.Record("client-u", []event.Event{{ID: "6BA7B810-9DAD-11D1-80B4-00C04FD430C8", Timestamp: 5, Type: event.TimeSeries, Key: "k", Value: 3}}, []event.Result{accepted})
			want = append(want, event.Event{ClientID: "client-u", ID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", Timestamp: 5, Type: event.TimeSeries, Key: "k", Value: 3})
			wait(t, l)
			if err := l.Err(); err != nil {
				t.Errorf("Err() = %v, want nil", err)
			}

			// Once Wait returns, the records are written: a reader sees
			// them before Close.
			got, _, torn := replay(t, dir, 0)
			checkEvents(t, got, want)
			if torn != nil {
				t.Errorf("torn = %+v before Close", torn)
			}

			closeLog(t, l)
			got, last, torn := replay(t, dir, 0)
			checkEvents(t, got, want)
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

func TestLogConcurrentRecord(t *testing.T) {
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
						e := event.Event{ID: fmt.Sprintf("%d", i), Timestamp: event.Timestamp(i), Type: event.Cumulative, Key: "k", Value: float64(g)}
						l.Record(client, []event.Event{e}, []event.Result{accepted})
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
			for _, e := range got {
				want := fmt.Sprintf("%d", next[e.ClientID])
				if e.ID != want {
					t.Fatalf("%s: record %s where %s was due", e.ClientID, e.ID, want)
				}
				next[e.ClientID]++
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
	var want []event.Event
	for i := range 150 {
		b := makeBatch("client", i*3, 3)
		b.record(l)
		want = append(want, b.accepted...)
		wait(t, l) // one frame a write: segments fill frame by frame
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
	checkEvents(t, got, want)
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
	makeBatch("c", 0, 2).record(l)
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
	if got, _, _ := replay(t, dir, 41); len(got) != len(makeBatch("c", 0, 2).accepted) {
		t.Errorf("Replay = %d events, want %d", len(got), len(makeBatch("c", 0, 2).accepted))
	}
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

	var before, afterRotate []event.Event
	for i := range 3 {
		b := makeBatch("before", i*4, 4)
		b.record(l) // no Wait: Rotate writes what is recorded
		before = append(before, b.accepted...)
	}
	closed, err := l.Rotate()
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	wait(t, l) // nothing left to write
	for i := range 3 {
		b := makeBatch("after", i*4, 4)
		b.record(l)
		afterRotate = append(afterRotate, b.accepted...)
	}
	wait(t, l)

	seqs, err := wal.Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(seqs, closed) || seqs[len(seqs)-1] <= closed {
		t.Fatalf("Segments = %v, want %d among them and a later one", seqs, closed)
	}

	// The records made before Rotate are in the segments up to closed.
	var inClosed []event.Event
	for _, seq := range seqs {
		if seq > closed {
			break
		}
		file := segmentPath(dir, seq)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := wal.ScanFrames(file, data, func(_ int64, payload []byte) error {
			inClosed, err = wal.DecodeEvents(inClosed, payload)
			return err
		}); err != nil {
			t.Fatalf("ScanFrames(%s): %v", file, err)
		}
	}
	checkEvents(t, inClosed, before)
	got, _, _ := replay(t, dir, closed)
	checkEvents(t, got, afterRotate)
	got, _, _ = replay(t, dir, 0)
	checkEvents(t, got, append(slices.Clone(before), afterRotate...))

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
	checkEvents(t, got, afterRotate)
	// From 0, the segments removed are missing.
	var gap *wal.GapError
	if _, err := wal.Replay(dir, 0, false, func([]byte) error { return nil }); !errors.As(err, &gap) {
		t.Errorf("Replay from 0 after RemoveThrough(%d): %v, want a *GapError", closed, err)
	}

	// The log writes on after all that.
	more := makeBatch("more", 0, 4)
	more.record(l)
	wait(t, l)
	closeLog(t, l)
	got, _, _ = replay(t, dir, closed)
	checkEvents(t, got, append(slices.Clone(afterRotate), more.accepted...))
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
		t.Errorf("Replay = %d events, losses %+v; want none", len(got), losses)
	}
}

func TestReplayTornTail(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 0, wal.Options{Sync: wal.SyncAlways, SegmentBytes: 1 << 20})
	var want []event.Event
	for i := range 4 {
		b := makeBatch("client", i*5, 5)
		b.record(l)
		want = append(want, b.accepted...)
	}
	closeLog(t, l)
	seqs, err := wal.Segments(dir)
	if err != nil || len(seqs) == 0 {
		t.Fatalf("Segments = %v, %v", seqs, err)
	}
	file := segmentPath(dir, seqs[len(seqs)-1])

	// What a crash in the middle of a write leaves: half a frame.
	payload, _ := wal.AppendEvents(nil, "client", makeBatch("client", 100, 4).events, make([]event.Result, 4))
	frame := wal.AppendFrame(nil, payload)
	half := frame[:len(frame)/2]
	oldSize := fileSize(t, file)
	appendFile(t, file, half)

	got, last, losses := replay(t, dir, 0)
	checkEvents(t, got, want)
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
	checkEvents(t, got, want)
	if losses != nil {
		t.Errorf("second Replay: losses = %+v, want nil", losses)
	}

	// A log opened after it goes on, and everything replays.
	l = openLog(t, dir, last, wal.Options{Sync: wal.SyncAlways, SegmentBytes: 1 << 20})
	b := makeBatch("client", 200, 3)
	b.record(l)
	closeLog(t, l)
	got, _, losses = replay(t, dir, 0)
	checkEvents(t, got, append(want, b.accepted...))
	if losses != nil {
		t.Errorf("Replay after reopening: losses = %+v, want nil", losses)
	}
}

// twoSegments writes two segments of two records each and returns their
// files and the events.
func twoSegments(t *testing.T) (dir string, files []string, want []event.Event) {
	t.Helper()
	dir = t.TempDir()
	l := openLog(t, dir, 0, wal.Options{Sync: wal.SyncNever, SegmentBytes: 1 << 20})
	for i := range 4 {
		b := makeBatch("client", i*5, 5)
		b.record(l)
		want = append(want, b.accepted...)
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
		var got []event.Event
		res, err := wal.Replay(dir, 0, false, func(payload []byte) error {
			var err error
			got, err = wal.DecodeEvents(got, payload)
			return err
		})
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
		checkEvents(t, got, want[:len(makeBatch("client", 0, 5).accepted)+len(makeBatch("client", 5, 5).accepted)])
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
	b.record(l)
	closeLog(t, l) // Close writes what was recorded, without a Wait

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
	checkEvents(t, got, b.accepted)
}

// A record made after Close is not written: Wait must say so.
func TestRecordAfterCloseWaitReportsIt(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 0, wal.Options{Sync: wal.SyncAlways, SegmentBytes: 1 << 20})
	closeLog(t, l)
	makeBatch("client", 0, 5).record(l)
	l.Delete("client")
	if err := l.Wait(); !errors.Is(err, wal.ErrClosed) {
		t.Errorf("Wait after a Record after Close = %v, want ErrClosed: the record was not written", err)
	}
	if got, _, _ := replay(t, dir, 0); len(got) != 0 {
		t.Errorf("Replay = %d events, want none", len(got))
	}
}

func TestLogDelete(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 0, wal.Options{Sync: wal.SyncAlways, SegmentBytes: 1 << 20})
	a, b := makeBatch("c1", 0, 4), makeBatch("c1", 4, 4)
	a.record(l)
	l.Delete("c1")
	b.record(l)
	wait(t, l)
	closeLog(t, l)

	// What the log holds, in order: "+id" for an event, "-client" for a
	// deletion.
	var got []string
	_, err := wal.Replay(dir, 0, false, func(payload []byte) error {
		if client, ok, err := wal.DecodeDelete(payload); ok || err != nil {
			got = append(got, "-"+client)
			return err
		}
		events, err := wal.DecodeEvents(nil, payload)
		for _, e := range events {
			got = append(got, "+"+e.ID)
		}
		return err
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	var want []string
	for _, e := range a.accepted {
		want = append(want, "+"+e.ID)
	}
	want = append(want, "-c1")
	for _, e := range b.accepted {
		want = append(want, "+"+e.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("log holds %q, want %q", got, want)
	}
}

// A last segment left empty is taken up again by the next Open, so that
// the numbers go on with no gap and empty files do not pile up.
func TestOpenTakesUpEmptySegment(t *testing.T) {
	dir := t.TempDir()
	opts := wal.Options{Sync: wal.SyncNever, SegmentBytes: 1 << 20}
	l := openLog(t, dir, 0, opts)
	b := makeBatch("c", 0, 3)
	b.record(l)
	closeLog(t, l)
	l = openLog(t, dir, 0, opts) // left empty
	closeLog(t, l)
	before, err := wal.Segments(dir)
	if err != nil || len(before) != 2 || fileSize(t, segmentPath(dir, before[1])) != 0 {
		t.Fatalf("Segments = %v, %v; want two, the second empty", before, err)
	}

	l = openLog(t, dir, 0, opts)
	more := makeBatch("c", 3, 3)
	more.record(l)
	closeLog(t, l)
	after, err := wal.Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(after, before) || fileSize(t, segmentPath(dir, after[1])) == 0 {
		t.Errorf("Segments after opening again = %v, want %v, the empty one written to", after, before)
	}
	got, _, _ := replay(t, dir, 0)
	checkEvents(t, got, append(slices.Clone(b.accepted), more.accepted...))
}

// A write that fails stops the log: Rotate, Wait and Close report it, and
// Err returns it.
func TestLogStopsOnFailure(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 0, wal.Options{Sync: wal.SyncAlways, SegmentBytes: 1 << 20})
	b := makeBatch("client", 0, 5)
	b.record(l)
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
	makeBatch("client", 5, 5).record(l)
	if err := l.Wait(); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Wait = %v, want fs.ErrExist", err)
	}
	if err := l.Close(); err == nil {
		t.Errorf("Close = nil, want the log's error")
	}
	got, _, _ := replay(t, dir, 0)
	checkEvents(t, got, b.accepted)
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
	first := len(makeBatch("client", 0, 5).accepted)
	end := int64(frameHeader) + int64(binary.LittleEndian.Uint32(data)) // of the first frame
	data[frameHeader+2] ^= 0x01
	if err := os.WriteFile(files[0], data, 0o644); err != nil {
		t.Fatal(err)
	}
	var got []event.Event
	res, err := wal.Replay(dir, 0, true, func(payload []byte) error {
		var err error
		got, err = wal.DecodeEvents(got, payload)
		return err
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	checkEvents(t, got, want[first:])
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
	res, err = wal.Replay(dir, 0, true, func(payload []byte) error {
		var err error
		got, err = wal.DecodeEvents(got, payload)
		return err
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	checkEvents(t, got, want[first+len(makeBatch("client", 5, 5).accepted):])
	if len(res.Missing) != 1 || res.Missing[0] != (wal.Span{First: 1, Last: 1}) {
		t.Errorf("missing = %v, want segment 1", res.Missing)
	}
}
