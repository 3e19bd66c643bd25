package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/montool/montool/internal/event"
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

func segmentName(seq uint64) string { return fmt.Sprintf("%016x%s", seq, segmentExt) }

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

// Torn tells where a torn tail was cut off a segment.
type Torn struct {
	File   string
	Offset int64 // the length the file was cut to
	Bytes  int64 // the bytes cut off
}

// Replay calls fn with the payload of every frame of the segments of dir
// numbered above after, in order. A torn tail of the last segment (what a
// crash in the middle of a write leaves) is cut off the file and returned;
// any other damage is a *DamageError. It returns the number of the last
// segment, or after when there is none.
func Replay(dir string, after uint64, fn func(payload []byte) error) (last uint64, torn *Torn, err error) {
	seqs, err := Segments(dir)
	if err != nil {
		return after, nil, err
	}
	last = after
	for i, seq := range seqs {
		if seq <= after {
			continue
		}
		last = seq
		file := filepath.Join(dir, segmentName(seq))
		data, err := os.ReadFile(file)
		if err != nil {
			return last, nil, err
		}
		valid, cut, err := ScanFrames(file, data, func(_ int64, payload []byte) error { return fn(payload) })
		if err != nil {
			return last, nil, err
		}
		if !cut {
			continue
		}
		if i != len(seqs)-1 {
			return last, nil, &DamageError{File: file, Offset: valid, Reason: "cut short, and later segments follow"}
		}
		if err := truncate(file, valid); err != nil {
			return last, nil, fmt.Errorf("cut the torn tail off %s: %w", file, err)
		}
		torn = &Torn{File: file, Offset: valid, Bytes: int64(len(data)) - valid}
	}
	return last, torn, nil
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

// Log appends records to segment files in a directory. It is safe for
// concurrent use. Record only adds to a buffer; a background writer
// writes the buffer out, and Wait waits for it.
type Log struct {
	dir  string
	opts Options

	mu       sync.Mutex
	cond     sync.Cond // broadcast when done or err changes
	buf      []byte    // records not yet taken by a write
	appended uint64    // bytes recorded in all
	done     uint64    // bytes written (and synced, with SyncAlways)
	err      error     // the first write or sync failure; the log takes nothing after it
	closed   bool
	closing  bool // Close was called
	kick     chan struct{}
	stop     chan struct{}
	stopped  chan struct{}

	fmu   sync.Mutex // held while writing the files; taken before mu
	file  *os.File
	seq   uint64
	size  int64
	spare []byte
}

// Open starts a log in dir, in a new segment numbered after every segment
// there (and above after), and its background writer.
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
	seq := after + 1
	if len(seqs) > 0 {
		seq = max(seq, seqs[len(seqs)-1]+1)
	}
	// Segments left empty (a restart with nothing written after it) hold
	// nothing; they go rather than pile up until the next snapshot.
	for _, s := range seqs {
		file := filepath.Join(dir, segmentName(s))
		if fi, err := os.Stat(file); err == nil && fi.Size() == 0 {
			if err := os.Remove(file); err != nil {
				return nil, err
			}
		}
	}
	l := &Log{dir: dir, opts: opts, kick: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	l.cond.L = &l.mu
	if err := l.openSegment(seq); err != nil {
		return nil, err
	}
	go l.run()
	return l, nil
}

func (l *Log) openSegment(seq uint64) error {
	f, err := os.OpenFile(filepath.Join(l.dir, segmentName(seq)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
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

// Record appends a frame of the accepted events of one client. It
// implements store.Journal.
func (l *Log) Record(clientID string, events []event.Event, results []event.Result) {
	// The frame is made outside the lock, which is held only to copy it.
	scratch := frames.Get().(*[]byte)
	defer frames.Put(scratch)
	frame, n := AppendEvents(beginFrame((*scratch)[:0]), clientID, events, results)
	*scratch = frame
	if n == 0 {
		return
	}
	endFrame(frame, 0)
	l.append(frame)
}

// Delete appends a frame that records the deletion of a client. It
// implements store.Journal.
func (l *Log) Delete(clientID string) {
	l.append(AppendFrame(nil, AppendDelete(nil, clientID)))
}

// append adds a whole frame to the buffer.
func (l *Log) append(frame []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil || l.closed {
		return // Wait reports it
	}
	l.buf = append(l.buf, frame...)
	l.appended += uint64(len(frame))
}

// frames pools the room Record makes frames in. Of *[]byte.
var frames = sync.Pool{New: func() any { return new([]byte) }}

// Err returns the error that stopped the log, or nil while it works.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// ErrClosed is returned by a Wait called after Close.
var ErrClosed = errors.New("write-ahead log closed")

// Wait returns once everything recorded before it was called is written,
// and synced with SyncAlways, or the error that stopped the log.
func (l *Log) Wait() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed && l.err == nil {
		return ErrClosed // what was recorded since Close was dropped
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
// sync is set, then wakes the waiters. It writes again while records keep
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
		if err != nil && l.err == nil {
			l.err = fmt.Errorf("write-ahead log %s: %w", l.file.Name(), err)
		}
		if err == nil {
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
// the current one is full. The caller holds fmu.
func (l *Log) write(data []byte, sync bool) error {
	if l.size > 0 && l.size+int64(len(data)) > l.opts.SegmentBytes {
		if err := l.rotate(); err != nil {
			return err
		}
	}
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
	return l.openSegment(l.seq + 1)
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

// Rotate writes and syncs everything recorded so far, closes the segment
// that holds it, and goes on in a new one. It returns the number of the
// segment it closed: every record made before Rotate is in a segment up to
// that one.
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
		l.err = fmt.Errorf("write-ahead log %s: %w", l.file.Name(), err)
		l.cond.Broadcast()
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
		if err := os.Remove(filepath.Join(l.dir, segmentName(s))); err != nil {
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
	} else if l.err == nil {
		l.err = err
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
