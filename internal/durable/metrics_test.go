package durable_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/montool/montool/internal/durable"
	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/wal"
)

// gather returns the metric families the store reports, by name.
func gather(t *testing.T, s *durable.Store) map[string]int {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := reg.Register(s); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]int{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			n := 1
			if h := m.GetHistogram(); h != nil {
				n = int(h.GetSampleCount())
			}
			for _, l := range m.GetLabel() {
				found[f.GetName()+"/"+l.GetValue()] += n
			}
			found[f.GetName()] += n
		}
	}
	return found
}

// TestMetrics checks what a durable store reports to Prometheus: the log's
// write and sync times, the load time, and the snapshot's age once there
// is a snapshot.
func TestMetrics(t *testing.T) {
	s := openStore(t, durable.Options{Dir: t.TempDir(), Sync: wal.SyncAlways})
	defer s.Discard()
	if _, err := s.Apply(context.Background(), []event.Event{{ClientID: "c", ID: "e1", Timestamp: 1, Type: event.Cumulative, Key: "k", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	got := gather(t, s)
	for _, name := range []string{"montool_wal_seconds/write", "montool_wal_seconds/sync", "montool_load_seconds"} {
		if got[name] == 0 {
			t.Errorf("%s: no sample; got %v", name, got)
		}
	}
	if got["montool_snapshot_age_seconds"] != 0 {
		t.Errorf("a snapshot age before any snapshot: %v", got)
	}
	if err := s.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := gather(t, s); got["montool_snapshot_age_seconds"] != 1 {
		t.Errorf("no snapshot age after a snapshot: %v", got)
	}
}
