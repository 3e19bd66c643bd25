package redisstore_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/redisstore"
	"github.com/montool/montool/internal/redistest"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// The Redis store is a server.Store.
var _ server.Store = (*redisstore.Store)(nil)

// open returns a store on addrs with policy p, over an emptied Redis,
// closed when t ends.
func open(t *testing.T, addrs []string, p store.Policy) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(context.Background(), redisstore.Options{Addrs: addrs, Policy: p})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// conformance runs the store suite on addrs, each test on an emptied Redis.
func conformance(t *testing.T, addrs []string) {
	storetest.Run(t, func(t *testing.T, p store.Policy) server.Store {
		s := open(t, addrs, p)
		s.FlushForTest(t)
		return s
	})
}

// TestConformanceSingle runs the store suite on one Redis that is not a
// cluster.
func TestConformanceSingle(t *testing.T) {
	conformance(t, []string{redistest.Single(t).Addr()})
}

// TestConformanceCluster runs the store suite on a Redis Cluster of three
// masters, each with a replica.
func TestConformanceCluster(t *testing.T) {
	conformance(t, redistest.NewCluster(t, 3, 1).Addrs())
}

// TestTwoServersAcceptOnce applies the same batches at once through two
// stores on one cluster, as two montool servers would: each event is
// accepted exactly once, and the totals are exact.
func TestTwoServersAcceptOnce(t *testing.T) {
	addrs := redistest.NewCluster(t, 3, 0).Addrs()
	a, b := open(t, addrs, store.Policy{}), open(t, addrs, store.Policy{})
	ts := event.FromTime(time.Now())
	var batches [][]event.Event
	for n := range 20 {
		var batch []event.Event
		for i := range 50 {
			client := "c" + strconv.Itoa(i%7)
			batch = append(batch, event.Event{ClientID: client, ID: strconv.Itoa(n*50 + i), Timestamp: ts, Type: event.Cumulative, Key: "hits", Value: 0.1})
		}
		batches = append(batches, batch)
	}
	var mu sync.Mutex
	accepted := map[string]int{}
	var wg sync.WaitGroup
	for _, st := range []*redisstore.Store{a, b} {
		wg.Go(func() {
			for _, batch := range batches {
				results, err := st.Apply(context.Background(), batch)
				if err != nil {
					t.Errorf("Apply: %v", err)
					return
				}
				mu.Lock()
				for i, r := range results {
					if r.Err != nil {
						t.Errorf("%s/%s: %v", batch[i].ClientID, batch[i].ID, r.Err)
					} else if !r.Duplicate {
						accepted[batch[i].ClientID+"/"+batch[i].ID]++
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(accepted) != 1000 {
		t.Errorf("%d events accepted, want all 1000", len(accepted))
	}
	for e, n := range accepted {
		if n != 1 {
			t.Errorf("%s accepted %d times", e, n)
		}
	}
	// Each batch gives c0 8 events and the others 7: 160 and 140 in all,
	// whose tenths sum exactly to 16 and 14.
	for c := range 7 {
		v, err := b.View(context.Background(), "c"+strconv.Itoa(c))
		if err != nil {
			t.Fatal(err)
		}
		want := struct {
			count int64
			total float64
		}{140, 14}
		if c == 0 {
			want.count, want.total = 160, 16
		}
		if s := v.Series[0]; s.Count != want.count || s.Total != want.total {
			t.Errorf("c%d: %d events totalling %v, want %d and exactly %v", c, s.Count, s.Total, want.count, want.total)
		}
	}
}

// TestOptions refuses what cannot work, before anything connects.
func TestOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    redisstore.Options
		setting string // "" for an error that is not a setting's
	}{
		{"no address", redisstore.Options{}, ""},
		{"a memory limit", redisstore.Options{Addrs: []string{"127.0.0.1:1"}, Policy: store.Policy{Limits: store.Limits{MaxBytes: 1 << 30}}}, "max_memory"},
		{"a policy that cannot work", redisstore.Options{Addrs: []string{"127.0.0.1:1"}, Policy: store.Policy{Retention: -time.Hour}}, "retention"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			var bad *store.SettingError
			switch {
			case err == nil:
				t.Fatal("no error")
			case tt.setting != "" && (!errors.As(err, &bad) || bad.Setting != tt.setting):
				t.Errorf("error %v, want a *store.SettingError of %s", err, tt.setting)
			}
			if _, err := redisstore.New(context.Background(), tt.opts); err == nil {
				t.Error("New: no error")
			}
		})
	}
}

// TestUnreachable: a Redis that does not answer is an error of New that
// names its address.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := redisstore.New(ctx, redisstore.Options{Addrs: []string{addr}}); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("New on %s, where nothing listens: %v, want an error naming it", addr, err)
	}
}
