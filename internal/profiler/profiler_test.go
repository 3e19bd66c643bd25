package profiler_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/profiler"
)

// TestServeUntilCancelled serves the profile index on loopback, says it is
// loopback, and stops when its context ends.
func TestServeUntilCancelled(t *testing.T) {
	s, err := profiler.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Loopback() {
		t.Errorf("Loopback() = false for %s", s.Addr())
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	resp, err := http.Get("http://" + s.Addr().String() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Errorf("GET /debug/pprof/: %d %.200s, want 200 and the profile index", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run = %v, want nil once its context ended", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run went on 5s after its context ended")
	}
	if _, err := http.Get("http://" + s.Addr().String() + "/debug/pprof/"); err == nil {
		t.Error("the profiler still answers after Run returned")
	}
}

// TestListenTaken: an address in use is an error.
func TestListenTaken(t *testing.T) {
	s, err := profiler.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := profiler.Listen(s.Addr().String(), false); err == nil {
		t.Errorf("Listen on %s, which is taken: no error", s.Addr())
	}
}

// TestCheckAddr passes loopback addresses and host names, and refuses the
// others as ErrNotLoopback, and an address without a port as itself.
func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr        string
		ok, notLoop bool
	}{
		{addr: "127.0.0.1:6060", ok: true},
		{addr: "127.0.0.2:6060", ok: true},
		{addr: "[::1]:6060", ok: true},
		{addr: "localhost:6060", ok: true},
		{addr: ":6060", notLoop: true},
		{addr: "0.0.0.0:6060", notLoop: true},
		{addr: "[::]:6060", notLoop: true},
		{addr: "[::ffff:0.0.0.0]:6060", notLoop: true},
		{addr: "192.0.2.7:6060", notLoop: true},
		{addr: "127.0.0.1"},
	}
	for _, tt := range tests {
		err := profiler.CheckAddr(tt.addr)
		switch {
		case tt.ok && err != nil:
			t.Errorf("CheckAddr(%q) = %v, want nil", tt.addr, err)
		case !tt.ok && err == nil:
			t.Errorf("CheckAddr(%q) = nil, want an error", tt.addr)
		case !tt.ok && errors.Is(err, profiler.ErrNotLoopback) != tt.notLoop:
			t.Errorf("CheckAddr(%q) = %v; ErrNotLoopback %v, want %v", tt.addr, err, !tt.notLoop, tt.notLoop)
		}
		if tt.ok {
			continue
		}
		if _, err := profiler.Listen(tt.addr, false); err == nil { // refused before it listens
			t.Errorf("Listen(%q) without remote: no error", tt.addr)
		}
	}
}
