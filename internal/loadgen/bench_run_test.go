package loadgen

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/montool/montool/internal/wal"
)

// TestBenchRun: a bench runs its rounds against montool and each server
// it is compared with, says on the progress writer how each goes, and
// writes the report, also when it is interrupted before a round.
func TestBenchRun(t *testing.T) {
	montool, _ := newMontool(t)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		bench     Bench
		wantOut   []string
		wantRound bool // a round is said on the progress writer
	}{
		{"in process, against the others", t.Context(),
			Bench{Load: smallConfig(2000, 100), Rounds: 1, InProcess: true, Durable: true, DataDir: t.TempDir(), Sync: wal.SyncNever, Floor: true},
			[]string{"\n1      montool  ", "\n1      durable  ", "\n1      floor  ", "durable/montool"}, true},
		{"a server of someone else's", t.Context(),
			Bench{Load: smallConfig(1000, 100), Rounds: 2, Server: montool},
			[]string{"\n1      montool  ", "\n2      montool  "}, true},
		{"interrupted before a round", cancelled,
			Bench{Load: smallConfig(1000, 100), Rounds: 1, Server: montool},
			nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, progress bytes.Buffer
			if err := tt.bench.Run(tt.ctx, &out, &progress); err != nil {
				t.Fatal(err)
			}
			if out.Len() == 0 {
				t.Fatal("no report")
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("the report does not hold %q:\n%s", w, out.String())
				}
			}
			if got := strings.Contains(progress.String(), "round 1/"); got != tt.wantRound {
				t.Errorf("progress says a round: %v, want %v:\n%q", got, tt.wantRound, progress.String())
			}
		})
	}
}
