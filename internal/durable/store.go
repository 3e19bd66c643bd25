// Package durable is montool's durable store: the in-memory store, with
// every accepted event written to a write-ahead log before it is
// acknowledged, and snapshots that let the log be cut short.
//
// Package wal keeps payloads in frames and knows nothing of what they
// mean; this package gives them their meaning. It owns the records, events,
// deletions and the totals of keys (record.go), the journal that writes the
// store's records to the log as the store applies them (journal.go), and
// the snapshots, files of frames of the same records (snapshot.go).
//
// Start-up loads the newest snapshot and replays the log after it, through
// the store's own Apply: an event the snapshot and the log both hold is a
// duplicate the second time, so overlap is harmless, and the dedupe index
// is rebuilt with the rows.
package durable

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/wal"
)

// Options are where and how a Store keeps its data.
type Options struct {
	// Dir holds the snapshots, and the log in its "wal" subdirectory.
	Dir string
	// Sync says when log writes are synced; SyncInterval how often, for
	// wal.SyncInterval.
	Sync         wal.SyncMode
	SyncInterval time.Duration
	// SnapshotInterval is how often a snapshot is written in the
	// background; 0 for only at Close.
	SnapshotInterval time.Duration
	// SegmentBytes is the size of a log segment.
	SegmentBytes int64
	// Policy is what the store keeps and takes in, as store.Options
	// says; the replay of Load is not held to it.
	Policy store.Policy
	// AcceptLoss lets Load go on past damage to the log and segments
	// missing from it, which else stop it with an error of kind
	// ErrDataLoss: it loads what can be read, logs at warn what it
	// skipped, and writes a snapshot so that the next Load does not meet
	// the loss again.
	AcceptLoss bool
	Log        *slog.Logger
}

// Validate reports the first option but Dir that cannot work, as a
// *store.SettingError. (New refuses an empty Dir.)
func (o Options) Validate() error {
	switch {
	case o.SyncInterval < 0 || o.Sync == wal.SyncInterval && o.SyncInterval == 0:
		return &store.SettingError{Setting: "fsync_interval", Value: o.SyncInterval.String(), Message: "must be positive"}
	case o.SnapshotInterval < 0:
		return &store.SettingError{Setting: "snapshot_interval", Value: o.SnapshotInterval.String(), Message: "must not be negative"}
	case o.SegmentBytes < 0:
		return &store.SettingError{Setting: "segment_bytes", Value: strconv.FormatInt(o.SegmentBytes, 10), Message: "must not be negative"}
	}
	return o.Policy.Validate()
}

// ErrDataLoss is the kind of the Load errors that going on would lose data
// over: damage to the log, or segments missing from it. Options.AcceptLoss
// goes on.
var ErrDataLoss = errors.New("going on would lose data")

// lossError is a Load error of kind ErrDataLoss.
type lossError struct{ err error }

func (e *lossError) Error() string        { return e.err.Error() }
func (e *lossError) Unwrap() error        { return e.err }
func (e *lossError) Is(target error) bool { return target == ErrDataLoss }

// DefaultSegmentBytes is the size of a log segment unless set.
const DefaultSegmentBytes = 64 << 20

// Store is a durable event store. Run it (or Load it) before use, and
// Close it last, once Run has returned and nothing else uses it.
type Store struct {
	opts    Options
	mem     *store.Memory
	journal *journal
	log     *wal.Log
	ready   atomic.Bool

	// snapMu guards lastSnap, and is held for the whole of a snapshot
	// and of a Prune, so that neither runs while a snapshot is made.
	snapMu   sync.Mutex
	lastSnap uint64 // the number of the newest snapshot, 0 for none

	// policyMu guards opts.Policy and tuned: whether Load has handed the
	// policy to mem, which then takes every change.
	policyMu sync.Mutex
	tuned    bool

	// For the metrics: the log's write and sync times, how long Load took,
	// and when the last snapshot was written (Unix nanoseconds, 0 none).
	logSeconds   *prometheus.HistogramVec
	loadSeconds  atomic.Int64 // nanoseconds
	snapshotTime atomic.Int64
}

// New returns a store over opts.Dir, once opts validate, that holds
// nothing until Load.
func New(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("no data directory")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.SegmentBytes == 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	j := new(journal)
	// The policy is mem's once the replay is done (Load).
	mem, err := store.New(store.Options{Journal: j, Log: opts.Log})
	if err != nil {
		return nil, err
	}
	return &Store{opts: opts, mem: mem, journal: j,
		logSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "montool_wal_seconds",
			Help:    "Time the write-ahead log took to write its buffer to the OS (op=write) and to sync it (op=sync).",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
		}, []string{"op"}),
	}, nil
}

var (
	loadDesc     = prometheus.NewDesc("montool_load_seconds", "Time the last start-up took to load the snapshot and replay the log.", nil, nil)
	snapshotDesc = prometheus.NewDesc("montool_snapshot_age_seconds", "Time since the last snapshot was written (absent before the first).", nil, nil)
)

// Describe and Collect make the store a prometheus.Collector of its log's
// times, its load time and the age of its last snapshot.
func (s *Store) Describe(ch chan<- *prometheus.Desc) {
	s.logSeconds.Describe(ch)
	ch <- loadDesc
	ch <- snapshotDesc
}

func (s *Store) Collect(ch chan<- prometheus.Metric) {
	s.logSeconds.Collect(ch)
	if !s.Ready() {
		return
	}
	ch <- prometheus.MustNewConstMetric(loadDesc, prometheus.GaugeValue, time.Duration(s.loadSeconds.Load()).Seconds())
	if t := s.snapshotTime.Load(); t != 0 {
		ch <- prometheus.MustNewConstMetric(snapshotDesc, prometheus.GaugeValue, time.Since(time.Unix(0, t)).Seconds())
	}
}

func (s *Store) walDir() string { return filepath.Join(s.opts.Dir, "wal") }

// Load loads the newest snapshot and replays the log after it, then opens
// the log for appending and starts the background snapshots. The store is
// Ready once Load returns nil. Damage other than a torn log tail stops it
// with an error that names the file and the offset.
func (s *Store) Load(ctx context.Context) error {
	start := time.Now()
	if err := os.MkdirAll(s.walDir(), 0o755); err != nil {
		return err
	}
	if err := s.removeTemporaries(); err != nil {
		return err
	}
	snaps, err := snapshots(s.opts.Dir)
	if err != nil {
		return err
	}
	var fromSnap, fromLog int64
	apply := func(events []event.Event) error {
		_, err := s.mem.Apply(ctx, events)
		return err
	}
	if len(snaps) > 0 {
		s.lastSnap = snaps[len(snaps)-1]
		file := filepath.Join(s.opts.Dir, snapshotName(s.lastSnap))
		if fi, err := os.Stat(file); err == nil {
			s.snapshotTime.Store(fi.ModTime().UnixNano())
		}
		if fromSnap, err = readSnapshot(file, apply, s.mem.LoadBase); err != nil {
			return fmt.Errorf("load snapshot: %w", err)
		}
	}
	var events []event.Event
	replayed, err := wal.Replay(s.walDir(), s.lastSnap, s.opts.AcceptLoss, func(payload []byte) error {
		if client, ok, err := decodeDelete(payload); ok || err != nil {
			if err == nil {
				_, err = s.mem.Delete(ctx, client)
			}
			if errors.Is(err, event.ErrNotFound) { // deleted before the snapshot too
				err = nil
			}
			return err
		}
		var err error
		if events, err = decodeEvents(events[:0], payload); err != nil {
			return err
		}
		fromLog += int64(len(events))
		return apply(events)
	})
	s.logLosses(replayed)
	if err != nil {
		var (
			damage *wal.DamageError
			gap    *wal.GapError
		)
		after := "with no snapshot"
		if s.lastSnap > 0 {
			after = "after " + snapshotName(s.lastSnap)
		}
		err = fmt.Errorf("replay the write-ahead log %s: %w", after, err)
		if errors.As(err, &damage) || errors.As(err, &gap) {
			err = &lossError{err}
		}
		return err
	}
	observe := func(op string, took time.Duration) { s.logSeconds.WithLabelValues(op).Observe(took.Seconds()) }
	if s.log, err = wal.Open(s.walDir(), s.lastSnap, wal.Options{Sync: s.opts.Sync, Interval: s.opts.SyncInterval, SegmentBytes: s.opts.SegmentBytes, Observe: observe}); err != nil {
		return err
	}
	s.journal.log = s.log
	s.policyMu.Lock()
	s.mem.SetPolicy(s.opts.Policy) // valid: New or SetPolicy checked it
	s.tuned = true
	s.policyMu.Unlock()
	s.loadSeconds.Store(int64(time.Since(start)))
	s.opts.Log.Info("loaded the data directory", "dir", s.opts.Dir, "snapshot_events", fromSnap, "replayed_events", fromLog,
		"took", time.Since(start).Round(time.Millisecond))
	if accepted(replayed) {
		// What was lost is lost: a snapshot of what loaded saves the
		// next start from meeting the loss again.
		if err := s.Snapshot(ctx); err != nil {
			s.opts.Log.Warn("no snapshot after the data loss: the next start meets it again", "err", err)
		}
	}
	s.ready.Store(true)
	return nil
}

// Run loads the store, unless it is loaded already, then keeps it until
// ctx ends: it writes a snapshot every SnapshotInterval and does the
// upkeep of store.Upkeep. It returns nil once ctx ends, and an error when
// the load fails or the log fails: the store then takes and shows nothing
// more, for what it holds in memory may not all be in the log, and a
// restart loads what the log holds.
func (s *Store) Run(ctx context.Context) error {
	if !s.Ready() {
		if err := s.Load(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("data directory %s: %w", s.opts.Dir, err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	var upkeep sync.WaitGroup
	upkeep.Go(func() { store.Upkeep(ctx, s, s.mem.Policy, s.opts.Log) })
	err := s.snapshotLoop(ctx)
	cancel()
	upkeep.Wait()
	return err
}

// accepted reports whether the replay went past a loss that only
// Options.AcceptLoss lets it: more than a torn tail.
func accepted(r wal.Replayed) bool {
	return len(r.Missing) > 0 || slices.ContainsFunc(r.Losses, func(l wal.Loss) bool { return !l.Torn })
}

// logLosses logs at warn what the replay dropped.
func (s *Store) logLosses(r wal.Replayed) {
	if len(r.Missing) > 0 {
		s.opts.Log.Warn("segments of the write-ahead log are missing; loaded what is there, as data loss is accepted",
			"dir", s.walDir(), "segments", wal.MissingCount(r.Missing), "runs", len(r.Missing),
			"first", wal.SegmentName(r.Missing[0].First), "last", wal.SegmentName(r.Missing[len(r.Missing)-1].Last))
	}
	for _, l := range r.Losses {
		if l.Torn {
			msg := "cut a torn record off the end of the write-ahead log, left by a crash in the middle of a write"
			if s.opts.Sync == wal.SyncAlways {
				msg += "; it was never acknowledged (fsync always)"
			} else {
				msg += "; with fsync " + s.opts.Sync.String() + " it may have been acknowledged before a machine crash"
			}
			s.opts.Log.Warn(msg, "file", l.File, "offset", l.Offset, "frames", l.Frames, "bytes", l.Bytes, "saved_to", l.SavedTo)
			continue
		}
		s.opts.Log.Warn("dropped damaged records of the write-ahead log, as data loss is accepted",
			"file", l.File, "offset", l.Offset, "frames", l.Frames, "bytes", l.Bytes, "saved_to", l.SavedTo, "reason", l.Reason)
	}
}

// removeTemporaries removes the snapshots that a crash left half written.
func (s *Store) removeTemporaries() error {
	entries, err := os.ReadDir(s.opts.Dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), snapPrefix) && strings.HasSuffix(e.Name(), tmpExt) {
			s.opts.Log.Warn("removing a snapshot left half written", "file", e.Name())
			if err := os.Remove(filepath.Join(s.opts.Dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// SetPolicy makes p the policy of the store, once it validates, as
// store.Memory.SetPolicy does, at any time; the replay of Load is not held
// to it.
func (s *Store) SetPolicy(p store.Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	s.opts.Policy = p
	if s.tuned {
		return s.mem.SetPolicy(p)
	}
	return nil
}

// Ready reports whether Load has finished.
func (s *Store) Ready() bool { return s.ready.Load() }

// Failed returns nil while the store works; once its log has failed, an
// *event.Error of kind event.ErrStorageFull that says why. The store then
// takes nothing more and shows nothing more, for what it holds in memory
// may not all be in the log: a restart loads what the log holds.
func (s *Store) Failed() error {
	if !s.Ready() {
		return nil
	}
	return failure(s.log.Err())
}

// failure returns the error of the store of a log that failed with err,
// nil for nil. A wal.ErrClosed is its own.
func failure(err error) error {
	if err == nil || errors.Is(err, wal.ErrClosed) {
		return err
	}
	return &event.Error{Kind: event.ErrStorageFull, Message: "the write-ahead log cannot be written, so nothing more is taken or shown until a restart, which loads what the log holds: " + err.Error()}
}

// ErrNotReady is returned by a Store used before Load finished.
var ErrNotReady = errors.New("the data directory is still loading")

// Apply applies the events and returns once the accepted ones are in the
// log: written, and synced when the sync mode is always. A duplicate waits
// too, for the record of the event it repeats.
func (s *Store) Apply(ctx context.Context, events []event.Event) ([]event.Result, error) {
	return inLog(s, func() ([]event.Result, error) { return s.mem.Apply(ctx, events) })
}

// usable returns ErrNotReady before Load has finished, and the failure once
// the log has failed: nothing more is taken or shown then.
func (s *Store) usable() error {
	if !s.Ready() {
		return ErrNotReady
	}
	return s.Failed()
}

// inLog returns what fn returns, when s is usable, once all fn did, and
// all it saw, is in the log.
func inLog[T any](s *Store, fn func() (T, error)) (T, error) {
	var zero T
	if err := s.usable(); err != nil {
		return zero, err
	}
	v, err := fn()
	if err != nil {
		return zero, err
	}
	if err := s.log.Wait(); err != nil {
		return zero, failure(err)
	}
	return v, nil
}

// Delete forgets a client and returns the number of its events, once the
// deletion is in the log.
func (s *Store) Delete(ctx context.Context, clientID string) (int64, error) {
	return inLog(s, func() (int64, error) { return s.mem.Delete(ctx, clientID) })
}

// ExpireIdle deletes the clients idle since before, as store.Memory does,
// and returns once the deletions are in the log.
func (s *Store) ExpireIdle(ctx context.Context, before time.Time) ([]store.Expired, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	expired, err := s.mem.ExpireIdle(ctx, before)
	if len(expired) > 0 {
		err = errors.Join(err, failure(s.log.Wait()))
	}
	return expired, err
}

// Prune drops the events that retention no longer keeps at now, as
// store.Memory does. It writes nothing to the log, and never runs while a
// snapshot is made: so every event a snapshot holds in a key's total
// beyond its rows was logged before the snapshot began, in the segments
// it replaces, and a replay of the log after it counts nothing twice.
// What a replay brings back that retention would drop, the next Prune
// drops again.
func (s *Store) Prune(ctx context.Context, now time.Time) (int64, error) {
	if !s.Ready() {
		return 0, ErrNotReady
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	return s.mem.Prune(ctx, now)
}

// Keys returns the number of keys of all clients.
func (s *Store) Keys() int { return s.mem.Keys() }

// Bytes returns about how much memory the stored events take.
func (s *Store) Bytes() int64 { return s.mem.Bytes() }

// View returns what one client holds, once all of it is in the log: an
// event applied in memory whose record the log then fails to write is
// never shown.
func (s *Store) View(ctx context.Context, clientID string) (*event.View, error) {
	return inLog(s, func() (*event.View, error) { return s.mem.View(ctx, clientID) })
}

// Clients lists the known clients, once what they hold is in the log, as
// View does.
func (s *Store) Clients(ctx context.Context) ([]event.ClientInfo, error) {
	return inLog(s, func() ([]event.ClientInfo, error) { return s.mem.Clients(ctx) })
}

// snapshotLoop writes a snapshot every SnapshotInterval until ctx ends,
// and returns nil, or until the log fails, and returns why: a snapshot then
// would hold what the log may not, and is not made.
func (s *Store) snapshotLoop(ctx context.Context) error {
	var tick <-chan time.Time
	if s.opts.SnapshotInterval > 0 {
		t := time.NewTicker(s.opts.SnapshotInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.log.Failed():
			s.opts.Log.Error("the write-ahead log failed: the store takes and shows nothing more, and writes no snapshot, until a restart loads what the log holds",
				"err", s.log.Err())
			return fmt.Errorf("data directory %s: stopped: %w", s.opts.Dir, s.Failed())
		case <-tick:
			if err := s.Snapshot(ctx); err != nil && s.log.Err() == nil && ctx.Err() == nil {
				s.opts.Log.Error("snapshot failed; the write-ahead log keeps everything meanwhile", "err", err)
			}
		}
	}
}

// Snapshot writes everything the store holds to a new snapshot, then
// removes what the one before it makes redundant: older snapshots, and the
// log segments it holds. The newest two snapshots are kept with the log
// after the older one, so that if the newest cannot be read, removing it
// starts from the one before with nothing lost.
func (s *Store) Snapshot(ctx context.Context) error {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	start := time.Now()
	seq, err := s.log.Rotate()
	if err != nil {
		return err
	}
	// The snapshot goes into place only once every event it holds is in
	// the log too: one whose record then failed was never acknowledged.
	n, err := writeSnapshot(ctx, s.opts.Dir, seq, s.mem, func() error { return failure(s.log.Wait()) })
	if err != nil {
		return err
	}
	prev := s.lastSnap
	s.lastSnap = seq
	s.snapshotTime.Store(time.Now().UnixNano())
	if err := s.log.RemoveThrough(prev); err != nil {
		return fmt.Errorf("remove log segments the snapshots hold: %w", err)
	}
	snaps, err := snapshots(s.opts.Dir)
	if err != nil {
		return err
	}
	for _, old := range snaps {
		if old < prev {
			if err := os.Remove(filepath.Join(s.opts.Dir, snapshotName(old))); err != nil {
				return err
			}
		}
	}
	s.opts.Log.Info("wrote a snapshot", "file", snapshotName(seq), "events", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Close writes a last snapshot and closes the log. A store whose log
// failed is closed without a snapshot (memory may hold what the log does
// not), and Close returns the failure. Call it once Run has returned and
// nothing uses the store any more.
func (s *Store) Close(ctx context.Context) error {
	if !s.Ready() {
		return nil
	}
	if err := s.Failed(); err != nil {
		s.log.Close()
		return err
	}
	err := s.Snapshot(ctx)
	if cerr := s.log.Close(); err == nil {
		err = cerr
	}
	return err
}

// Discard closes the log without a last snapshot, for a store whose data
// directory is about to go. Call it once nothing uses the store any more.
func (s *Store) Discard() error {
	if !s.Ready() {
		return nil
	}
	return s.log.Close()
}
