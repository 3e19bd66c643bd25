package durable_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/durable"
	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/wal"
)

// TestOptionsValidate refuses each option that cannot work, naming it as
// the configuration does; New refuses them too, and an empty Dir.
func TestOptionsValidate(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		opts    durable.Options
		setting string // "" for valid
	}{
		{name: "defaults", opts: durable.Options{Dir: dir}},
		{name: "interval sync", opts: durable.Options{Dir: dir, Sync: wal.SyncInterval, SyncInterval: time.Second}},
		{name: "interval sync without an interval", opts: durable.Options{Dir: dir, Sync: wal.SyncInterval}, setting: "fsync_interval"},
		{name: "negative sync interval", opts: durable.Options{Dir: dir, SyncInterval: -time.Second}, setting: "fsync_interval"},
		{name: "negative snapshot interval", opts: durable.Options{Dir: dir, SnapshotInterval: -time.Minute}, setting: "snapshot_interval"},
		{name: "negative segment size", opts: durable.Options{Dir: dir, SegmentBytes: -1}, setting: "segment_bytes"},
		{name: "a policy that cannot work", opts: durable.Options{Dir: dir, Policy: store.Policy{ClientTTL: -time.Hour}}, setting: "client_ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, newErr := durable.New(tt.opts)
			for what, err := range map[string]error{"Validate": tt.opts.Validate(), "New": newErr} {
				var bad *store.SettingError
				switch {
				case tt.setting == "" && err != nil:
					t.Errorf("%s: unexpected error %v", what, err)
				case tt.setting != "" && (!errors.As(err, &bad) || bad.Setting != tt.setting):
					t.Errorf("%s: error %v, want a *store.SettingError of %s", what, err, tt.setting)
				}
			}
		})
	}
	if _, err := durable.New(durable.Options{}); err == nil {
		t.Error("New with no Dir: no error")
	}
}

// TestRunLoadsServesAndCloses runs a store over a directory that already
// holds events: it is ready once loaded, Run returns nil when its context
// ends, and Close then writes the snapshot a restart loads.
func TestRunLoadsServesAndCloses(t *testing.T) {
	opts := durable.Options{Dir: t.TempDir(), Sync: wal.SyncNever}
	counts := make(map[string]int64)
	s := openStore(t, opts)
	first := mixedEvents(0, 20)
	applyEvents(t, s, counts, first, allAccepted(len(first)))
	if err := s.Discard(); err != nil { // no snapshot: Run replays the log
		t.Fatal(err)
	}

	s = newStore(t, opts)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !s.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("not ready 10s after Run began")
		}
		time.Sleep(10 * time.Millisecond) // Ready has no channel to wait on
	}
	second := mixedEvents(1, 10)
	applyEvents(t, s, counts, append(second, first[0]), append(allAccepted(len(second)), duplicate))
	want := readState(t, s)
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run = %v, want nil once its context ended", err)
	}
	closeStore(t, s)
	if snaps := snapshotFiles(t, opts.Dir); len(snaps) != 1 {
		t.Errorf("snapshots after Close: %v, want 1", snaps)
	}
	s = openStore(t, opts)
	defer closeStore(t, s)
	checkState(t, s, want, counts)
}

// TestRunSnapshotsEveryInterval: a running store writes snapshots on its
// own, every SnapshotInterval.
func TestRunSnapshotsEveryInterval(t *testing.T) {
	opts := durable.Options{Dir: t.TempDir(), Sync: wal.SyncNever, SnapshotInterval: 50 * time.Millisecond}
	s := newStore(t, opts)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(snapshotFiles(t, opts.Dir)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no snapshot 10s after Run began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	closeStore(t, s)
}

// TestRunFailsToLoad: a data directory that cannot be loaded ends Run at
// once with an error that names it, and the store stays not ready.
func TestRunFailsToLoad(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, durable.Options{Dir: file})
	err := s.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "data directory "+file) {
		t.Errorf("Run over a file = %v, want an error naming the data directory", err)
	}
	if s.Ready() {
		t.Error("Ready after a failed Run")
	}
	if _, err := s.Apply(context.Background(), []event.Event{ev("c", "e", event.Cumulative, "k", sec(1), 1)}); !errors.Is(err, durable.ErrNotReady) {
		t.Errorf("Apply after a failed Run = %v, want ErrNotReady", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("Close after a failed Run = %v, want nil", err)
	}
}
