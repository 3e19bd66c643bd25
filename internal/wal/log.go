package wal

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SyncMode says when the log's writes reach stable storage.
type SyncMode int

const (
	// SyncAlways syncs each write before Wait returns: concurrent requests
	// share one fsync (group commit).
	SyncAlways SyncMode = iota
	// SyncInterval writes before Wait returns and syncs every interval.
	SyncInterval
	// SyncNever writes before Wait returns and leaves syncing to the OS.
	SyncNever
)

var syncModes = []string{"always", "interval", "never"}

func (m SyncMode) String() string {
	if int(m) < len(syncModes) {
		return syncModes[m]
	}
	return "SyncMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseSyncMode reads "always", "interval" or "never".
func ParseSyncMode(s string) (SyncMode, error) {
	if i := slices.Index(syncModes, s); i >= 0 {
		return SyncMode(i), nil
	}
	return 0, fmt.Errorf("fsync mode %q: want always, interval or never", s)
}

// Options are how a Log writes.
type Options struct {
	Sync SyncMode
	// Interval is how often SyncInterval syncs.
	Interval time.Duration
	// SegmentBytes is the size past which the log goes on in a new segment.
	SegmentBytes int64
	// Observe, when not nil, is told how long each write ("write") and
	// each sync ("sync") of the log took. It is called by one goroutine at
	// a time.
	Observe func(op string, took time.Duration)
}

// segment file names: the sequence number in 16 hex digits, then ".wal".
const segmentExt = ".wal"

// SegmentName returns the file name of segment seq.
func SegmentName(seq uint64) string { return fmt.Sprintf("%016x%s", seq, segmentExt) }

// Segments returns the sequence numbers of the segments in dir, in order.
func Segments(dir string) ([]uint64, error) { return Numbered(dir, "", segmentExt) }

// Numbered returns, in order, the numbers of the files in dir named prefix,
// a number in 16 hex digits, then ext.
func Numbered(dir, prefix, ext string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		if name, ok = strings.CutSuffix(name, ext); ok && len(name) == 16 {
			if seq, err := strconv.ParseUint(name, 16, 64); err == nil {
				seqs = append(seqs, seq)
			}
		}
	}
	slices.Sort(seqs)
	return seqs, nil
}

// Loss is a run of bytes of a segment that a replay dropped: a torn tail,
// cut off the file, or damage that the replay was told to go past, left in
// place. Either way the bytes are first copied to SavedTo, next to the
// segment, so that the evidence stays.
type Loss struct {
	File   string
	Offset int64 // where the bytes dropped begin
	Bytes  int64
	// Frames is the number of frames dropped: 1, unless the header of
	// the first was unsound, when the frames after it cannot be told
	// apart and are counted as one with it.
	Frames  int
	SavedTo string
	Torn    bool   // a torn tail, cut off; else damage, left in place
	Reason  string // for damage, what is wrong
}

// Span is a run of segment numbers, First to Last.
type Span struct{ First, Last uint64 }

// GapError says segments of the log are missing: the segments numbered
// above After must go on from After+1 with no number left out.
type GapError struct {
	Dir     string
	After   uint64
	Missing []Span
}

func (e *GapError) Error() string {
	var b strings.Builder
	for i, s := range e.Missing {
		if i == 3 {
			fmt.Fprintf(&b, " and %d more runs", len(e.Missing)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(filepath.Join(e.Dir, SegmentName(s.First)))
		if s.Last > s.First {
			fmt.Fprintf(&b, " to %s (%d segments)", SegmentName(s.Last), s.Last-s.First+1)
		}
	}
	return fmt.Sprintf("%d segments of the write-ahead log are missing: %s; the segments after %d must follow on from %s with no gap",
		MissingCount(e.Missing), b.String(), e.After, SegmentName(e.After+1))
}

// MissingCount returns the number of segments in spans.
func MissingCount(spans []Span) uint64 {
	var n uint64
	for _, s := range spans {
		n += s.Last - s.First + 1
	}
	return n
}

// Replayed is what Replay found besides the payloads.
type Replayed struct {
	// Last is the number of the last segment, or after when there is none.
	Last uint64
	// Losses are the bytes dropped: a torn tail, and, with accept, damage.
	Losses []Loss
	// Missing are, with accept, the segments that should be there and
	// are not.
	Missing []Span
}

// Replay calls fn with the payload of every frame of the segments of dir
// numbered above after, in order. The segments must follow on from
// after+1 with no gap, and there must be one when after is not 0 (a
// snapshot is written only once the segment after it is made): else Replay
// returns a *GapError. A torn tail of the last segment (what a crash in
// the middle of a write leaves) is copied aside, cut off the file and
// reported in Losses; any other damage is a *DamageError. With accept, a
// gap and damage are not errors: the segments there are replayed, and
// the frames that cannot be read are copied aside, left in place, and
// reported.
func Replay(dir string, after uint64, accept bool, fn func(payload []byte) error) (Replayed, error) {
	res := Replayed{Last: after}
	seqs, err := Segments(dir)
	if err != nil {
		return res, err
	}
	seqs = slices.DeleteFunc(seqs, func(s uint64) bool { return s <= after })
	next := after + 1
	for _, seq := range seqs {
		if seq != next {
			res.Missing = append(res.Missing, Span{next, seq - 1})
		}
		next = seq + 1
	}
	if len(seqs) == 0 && after > 0 {
		res.Missing = append(res.Missing, Span{after + 1, after + 1})
	}
	if len(res.Missing) > 0 && !accept {
		return res, &GapError{Dir: dir, After: after, Missing: res.Missing}
	}
	for i, seq := range seqs {
		res.Last = seq
		file := filepath.Join(dir, SegmentName(seq))
		data, err := os.ReadFile(file)
		if err != nil {
			return res, err
		}
		losses, err := replaySegment(file, data, i == len(seqs)-1, accept, fn)
		res.Losses = append(res.Losses, losses...)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// replaySegment replays the frames of one segment, file, which holds data.
func replaySegment(file string, data []byte, last, accept bool, fn func(payload []byte) error) ([]Loss, error) {
	var losses []Loss
	for base := int64(0); base < int64(len(data)); {
		valid, torn, err := ScanFrames(file, data[base:], func(_ int64, payload []byte) error { return fn(payload) })
		valid += base
		var damage *DamageError
		switch {
		case err == nil && !torn:
			return losses, nil
		case errors.As(err, &damage) && damage.File == file:
			damage.Offset += base
			if damage.Next > 0 {
				damage.Next += base
			}
		case err != nil:
			return losses, err
		case !last:
			damage = &DamageError{File: file, Offset: valid, Reason: "the last frame is cut short, and later segments follow"}
		}
		if damage != nil && !accept {
			return losses, damage
		}
		end := int64(len(data))
		if damage != nil && damage.Next > 0 {
			end = damage.Next
		}
		loss := Loss{File: file, Offset: valid, Bytes: end - valid, Frames: 1, Torn: damage == nil}
		kind := "cut"
		if damage != nil {
			loss.Reason, kind = damage.Reason, "damaged"
		}
		saved, err := saveAside(file, kind, valid, data[valid:end])
		if err != nil {
			return losses, err
		}
		loss.SavedTo = saved
		if loss.Torn {
			if err := truncate(file, valid); err != nil {
				return losses, fmt.Errorf("cut the torn tail off %s: %w", file, err)
			}
		}
		losses = append(losses, loss)
		base = end
	}
	return losses, nil
}

// saveAside copies the bytes of file from off, which a replay is about to
// drop, to a new file next to it named after it, kind, the offset and the
// time, and syncs it. It returns the new file's name.
func saveAside(file, kind string, off int64, data []byte) (string, error) {
	name := fmt.Sprintf("%s.%s-%d-%s", file, kind, off, time.Now().UTC().Format("20060102T150405.000000000Z"))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", fmt.Errorf("copy the bytes to drop from %s aside: %w", file, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = SyncDir(filepath.Dir(file))
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("copy the bytes to drop from %s aside: %w", file, err)
	}
	return name, nil
}

// truncate cuts file to size and syncs it, so that the cut holds across a
// crash: else the torn tail could come back in a segment that is no
// longer the last.
func truncate(file string, size int64) error {
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Log appends payloads, each as a frame, to segment files in a directory.
// It is safe for concurrent use. Append only adds to a buffer; a
// background writer writes the buffer out, and Wait waits for it.
type Log struct {
	dir  string
	opts Options

	// mu guards buf, appended, done, err, closed and closing; cond waits
	// on it.
	mu       sync.Mutex
	cond     sync.Cond     // broadcast when done or err changes
	buf      []byte        // frames not yet taken by a write
	appended uint64        // bytes appended in all
	done     uint64        // bytes written (and synced, with SyncAlways)
	err      error         // the first write or sync failure; the log takes nothing after it
	failed   chan struct{} // closed when err is set
	closed   bool
	closing  bool // Close was called
	kick     chan struct{}
	stop     chan struct{}
	stopped  chan struct{}

	fmu   sync.Mutex // guards file, seq, size and spare, held while writing the files; taken before mu
	file  *os.File
	seq   uint64
	size  int64
	spare []byte
}

// Open starts a log in dir, in a new segment numbered after every segment
// there and above after, or in the last segment when it is empty and
// numbered above after, and its background writer. after is the number of
// the last segment a snapshot holds, 0 for none.
func Open(dir string, after uint64, opts Options) (*Log, error) {
	if opts.Sync == SyncInterval && opts.Interval <= 0 {
		return nil, fmt.Errorf("write-ahead log: sync interval must be positive, not %s", opts.Interval)
	}
	if opts.SegmentBytes <= 0 {
		return nil, fmt.Errorf("write-ahead log: segment size must be positive, not %d", opts.SegmentBytes)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	seqs, err := Segments(dir)
	if err != nil {
		return nil, err
	}
	// A last segment left empty (by a restart with nothing written after
	// it) is taken up again rather than left behind: segment numbers
	// follow on with no gap, and an empty file holds nothing to keep.
	seq, reuse := after+1, false
	if len(seqs) > 0 {
		if lastSeq := seqs[len(seqs)-1]; lastSeq > after {
			seq = lastSeq + 1
			if fi, err := os.Stat(filepath.Join(dir, SegmentName(lastSeq))); err == nil && fi.Size() == 0 {
				seq, reuse = lastSeq, true
			}
		}
	}
	l := &Log{dir: dir, opts: opts, kick: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{}), failed: make(chan struct{})}
	l.cond.L = &l.mu
	if err := l.openSegment(seq, reuse); err != nil {
		return nil, err
	}
	go l.run()
	return l, nil
}

// openSegment opens segment seq for writing: a new one, or with reuse one
// that is there and empty.
func (l *Log) openSegment(seq uint64, reuse bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if reuse {
		flags = os.O_WRONLY | os.O_TRUNC
	}
	f, err := os.OpenFile(filepath.Join(l.dir, SegmentName(seq)), flags, 0o644)
	if err != nil {
		return err
	}
	if err := SyncDir(l.dir); err != nil {
		f.Close()
		return err
	}
	l.file, l.seq, l.size = f, seq, 0
	return nil
}

// Append adds payload to the buffer as one frame: the background writer
// writes the frames in the order they were appended, and Wait waits for
// it. Append copies payload, so the caller may reuse it at once. A payload
// must be 1 to MaxPayload bytes, as no other can be read back: Append
// panics on one that is not. Once the log has failed or is closed, Append
// drops the payload, and Wait says so.
func (l *Log) Append(payload []byte) {
	checkPayload(len(payload))
	// The payload's checksum is made outside the lock, which is held only
	// to copy.
	crc := crc32.Checksum(payload, castagnoli)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil || l.closed {
		return // Wait reports it
	}
	l.buf = append(appendHeader(l.buf, len(payload), crc), payload...)
	l.appended += uint64(frameHeader + len(payload))
}

// fail sets the log's error, unless it has one, and wakes the waiters.
// The caller holds mu.
func (l *Log) fail(err error) {
	if l.err == nil {
		l.err = fmt.Errorf("write-ahead log %s: %w", l.file.Name(), err)
		close(l.failed)
	}
	l.cond.Broadcast()
}

// Failed returns a channel that is closed once the log has failed: Err
// says why.
func (l *Log) Failed() <-chan struct{} { return l.failed }

// Err returns the error that stopped the log, or nil while it works.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// ErrClosed is returned by a Wait called after Close.
var ErrClosed = errors.New("write-ahead log closed")

// Wait returns once everything appended before it was called is written,
// and synced with SyncAlways, or the error that stopped the log.
func (l *Log) Wait() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed && l.err == nil {
		return ErrClosed // what was appended since Close was dropped
	}
	target := l.appended
	if l.done < target {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
	for l.done < target && l.err == nil {
		if l.closed {
			return ErrClosed
		}
		l.cond.Wait()
	}
	return l.err
}

// run writes the buffer out whenever there is a waiter, and syncs on
// schedule with SyncInterval.
func (l *Log) run() {
	defer close(l.stopped)
	var tick <-chan time.Time
	if l.opts.Sync == SyncInterval {
		t := time.NewTicker(l.opts.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-l.stop:
			return
		case <-l.kick:
			l.flush(false)
		case <-tick:
			l.flush(true)
		}
	}
}

// flush writes what is buffered, syncing it when the mode says so or
// sync is set, then wakes the waiters. It writes again while frames keep
// coming in the meantime.
func (l *Log) flush(sync bool) {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	for {
		l.mu.Lock()
		data, target := l.buf, l.appended
		l.buf, l.spare = l.spare[:0], nil
		failed := l.err != nil
		l.mu.Unlock()
		if failed || (len(data) == 0 && !sync) {
			return
		}
		err := l.write(data, sync || l.opts.Sync == SyncAlways)
		l.mu.Lock()
		l.spare = data[:0]
		if err != nil {
			l.fail(err)
		} else {
			l.done = target
		}
		more := len(l.buf) > 0
		l.cond.Broadcast()
		l.mu.Unlock()
		if !more || err != nil {
			return
		}
		sync = false
	}
}

// write writes data to the current segment, first moving to a new one if
// the current one is full. The caller holds fmu. When the write or its
// sync fails, the segment is cut back to where data began, so that none
// of it, never acknowledged, comes back in a replay, and no torn frame is
// left for the next start.
func (l *Log) write(data []byte, sync bool) error {
	if l.size > 0 && l.size+int64(len(data)) > l.opts.SegmentBytes {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	before := l.size
	err := l.writeData(data, sync)
	if err != nil && len(data) > 0 {
		if terr := l.file.Truncate(before); terr != nil {
			err = fmt.Errorf("%w (and cutting back the records not written whole failed: %w)", err, terr)
		}
		l.size = before
		l.file.Seek(before, io.SeekStart)
	}
	return err
}

func (l *Log) writeData(data []byte, sync bool) error {
	if len(data) > 0 {
		start := time.Now()
		if _, err := l.file.Write(data); err != nil {
			return err
		}
		l.size += int64(len(data))
		if l.opts.Observe != nil {
			l.opts.Observe("write", time.Since(start))
		}
	}
	if sync {
		start := time.Now()
		err := syncData(l.file)
		if err == nil && l.opts.Observe != nil {
			l.opts.Observe("sync", time.Since(start))
		}
		return err
	}
	return nil
}

// rotate syncs and closes the current segment and opens the next. The
// caller holds fmu.
func (l *Log) rotate() error {
	if err := l.file.Sync(); err != nil {
		return err
	}
	if err := l.file.Close(); err != nil {
		return err
	}
	return l.openSegment(l.seq+1, false)
}

// take takes the buffer for a write, with the position it reaches and the
// log's error. The caller holds fmu.
func (l *Log) take() (data []byte, target uint64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	data, target, err = l.buf, l.appended, l.err
	l.buf = nil
	return data, target, err
}

// Rotate writes and syncs everything appended so far, closes the segment
// that holds it, and goes on in a new one. It returns the number of the
// segment it closed: every payload appended before Rotate is in a segment
// up to that one.
func (l *Log) Rotate() (uint64, error) {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	data, target, err := l.take()
	if err != nil {
		return 0, err
	}
	err = l.write(data, false) // may itself move to a new segment
	closed := l.seq
	if err == nil {
		err = l.rotate()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.fail(err)
		return 0, l.err
	}
	l.done = max(l.done, target)
	l.cond.Broadcast()
	return closed, nil
}

// RemoveThrough deletes the segments numbered up to seq, which must be
// closed: a snapshot holds what they hold.
func (l *Log) RemoveThrough(seq uint64) error {
	seqs, err := Segments(l.dir)
	if err != nil {
		return err
	}
	for _, s := range seqs {
		if s > seq {
			break
		}
		if err := os.Remove(filepath.Join(l.dir, SegmentName(s))); err != nil {
			return err
		}
	}
	return SyncDir(l.dir)
}

// Close writes and syncs what is buffered, stops the writer and closes the
// segment. Waits after it get ErrClosed, or the log's error. Closing a
// closed log does nothing and returns ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	closing := l.closing
	l.closing = true
	l.mu.Unlock()
	if closing {
		return ErrClosed
	}
	close(l.stop)
	<-l.stopped
	l.fmu.Lock()
	defer l.fmu.Unlock()
	data, target, err := l.take()
	if err == nil {
		err = l.write(data, true)
	}
	if cerr := l.file.Close(); err == nil {
		err = cerr
	}
	l.mu.Lock()
	if err == nil {
		l.done = target
	} else {
		l.fail(err)
	}
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	return err
}

// SyncDir syncs a directory, so that files made, renamed or removed in it
// stay so across a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
