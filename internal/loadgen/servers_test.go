package loadgen

import (
	"context"
	"net/http"
	"os"
	"testing"

	"github.com/montool/montool/internal/wal"
)

// get returns the status of a GET of url, or 0 when it gets no answer.
func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServersOfEachRound: the servers started in this process serve each
// round until it stops them, an interrupt or not, and leave nothing
// behind; the others are driven as they are.
func TestServersOfEachRound(t *testing.T) {
	parent := t.TempDir()
	floor := newFloor(t, FloorDrop)
	montool, _ := newMontool(t)
	tests := []struct {
		name      string
		server    Server
		wantName  string
		wantStays bool // the server is still up once the round stops it
	}{
		{"in process", inProcessServer(), "montool", false},
		{"durable", durableServer(parent, wal.SyncAlways), "durable", false},
		{"remote", remoteServer(montool), "montool", true},
		{"floor", floor.server(), "floor", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.server.Name != tt.wantName {
				t.Errorf("Name = %q, want %q", tt.server.Name, tt.wantName)
			}
			ctx, cancel := context.WithCancel(t.Context())
			url, stop, err := tt.server.Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			cancel() // an interrupt: the round still reads its stats
			if got := get(t, url+"/healthz"); got == 0 {
				t.Fatalf("GET %s/healthz got no answer after the context ended", url)
			}
			if err := stop(); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if up := get(t, url+"/healthz") != 0; up != tt.wantStays {
				t.Errorf("up after the round: %v, want %v", up, tt.wantStays)
			}
		})
	}
	if left, err := os.ReadDir(parent); err != nil || len(left) != 0 {
		t.Errorf("the durable rounds left %v behind (%v)", left, err)
	}
}
