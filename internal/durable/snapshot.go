package durable

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/wal"
)

// A snapshot file is snapMagic, then frames in the log's format: one per
// batch of one client's events, one per CUMULATIVE key with a total beyond
// its rows (appendBase), and last an end frame, whose payload is
// snapEnd and the number of events (a varint), so that a snapshot cut
// short is told from a whole one. It is named after the last log segment it
// holds: "snapshot-" and 16 hex digits, then ".snap".
const (
	snapMagic  = "montool snapshot 1\n"
	snapPrefix = "snapshot-"
	snapExt    = ".snap"
	tmpExt     = ".tmp"
	snapEnd    = 0xe0 // no event payload starts with it
)

func snapshotName(seq uint64) string { return fmt.Sprintf("%s%016x%s", snapPrefix, seq, snapExt) }

// snapshots returns the numbers of the snapshots in dir, in order.
func snapshots(dir string) ([]uint64, error) { return wal.Numbered(dir, snapPrefix, snapExt) }

// writeSnapshot writes every event export gives to the snapshot seq of dir:
// into a temporary file, synced, then, if commit returns nil, renamed into
// place, and the directory synced. It returns the number of events written.
func writeSnapshot(ctx context.Context, dir string, seq uint64, mem *store.Memory, commit func() error) (int64, error) {
	final := filepath.Join(dir, snapshotName(seq))
	tmp := final + tmpExt
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp) // fails once renamed
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(snapMagic)
	var (
		n       int64
		payload []byte
		frame   []byte
		results []event.Result // all accepted
	)
	err = mem.Export(ctx, func(events []event.Event) error {
		if len(results) < len(events) {
			results = make([]event.Result, len(events))
		}
		var k int
		payload, k = appendEvents(payload[:0], events[0].ClientID, events, results[:len(events)])
		n += int64(k)
		frame = wal.AppendFrame(frame[:0], payload)
		_, err := w.Write(frame)
		return err
	}, func(b *store.Base) error {
		frame = wal.AppendFrame(frame[:0], appendBase(payload[:0], b))
		_, err := w.Write(frame)
		return err
	})
	if err == nil {
		payload = binary.AppendUvarint(append(payload[:0], snapEnd), uint64(n))
		_, err = w.Write(wal.AppendFrame(frame[:0], payload))
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = commit()
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err == nil {
		err = wal.SyncDir(dir)
	}
	if err != nil {
		return 0, fmt.Errorf("write snapshot %s: %w", final, err)
	}
	return n, nil
}

// readSnapshot calls fn with the events of the snapshot file, a batch at a
// time, and base with its keys' totals beyond their rows, and returns the
// number of events. A file that is not a whole snapshot is a
// *wal.DamageError.
func readSnapshot(file string, fn func([]event.Event) error, base func(*store.Base) error) (n int64, err error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	if !strings.HasPrefix(string(data[:min(len(data), len(snapMagic))]), snapMagic) {
		return 0, &wal.DamageError{File: file, Offset: 0, Reason: "not a montool snapshot (no header)"}
	}
	var (
		end    = int64(-1)
		events []event.Event
	)
	// Offsets in the damage reported are of the whole file.
	body := data[len(snapMagic):]
	valid, torn, err := wal.ScanFrames(file, body, func(off int64, payload []byte) error {
		if end >= 0 {
			return &wal.DamageError{File: file, Offset: off, Reason: "data after the end of the snapshot"}
		}
		if payload[0] == snapEnd {
			count, k := binary.Uvarint(payload[1:])
			if k <= 0 || 1+k != len(payload) || int64(count) != n {
				return &wal.DamageError{File: file, Offset: off, Reason: fmt.Sprintf("end record says %d events, the snapshot holds %d", count, n)}
			}
			end = off
			return nil
		}
		if b, ok, err := decodeBase(payload); ok {
			if err != nil {
				return &wal.DamageError{File: file, Offset: off, Reason: err.Error()}
			}
			return base(b)
		}
		var err error
		if events, err = decodeEvents(events[:0], payload); err != nil {
			return &wal.DamageError{File: file, Offset: off, Reason: err.Error()}
		}
		n += int64(len(events))
		return fn(events)
	})
	if err == nil && (torn || end < 0) {
		err = &wal.DamageError{File: file, Offset: valid, Reason: "snapshot cut short: no end record"}
	}
	var damage *wal.DamageError
	if errors.As(err, &damage) {
		damage.Offset += int64(len(snapMagic))
	}
	return n, err
}
