package loadgen

import (
	"context"
	"errors"
	"io"

	"github.com/montool/montool/internal/wal"
)

// Bench is what montool bench runs: rounds of one load against a montool
// server and the servers it is compared with, then a report.
type Bench struct {
	// Load is the load of every round, and Rounds the rounds against each
	// server.
	Load   Config
	Rounds int
	// Server is the URL of the montool server driven, unless InProcess,
	// which starts a fresh one in this process for each round.
	Server    string
	InProcess bool
	// Durable compares a durable server in this process too, in a fresh
	// data directory under DataDir for each round, syncing as Sync says.
	Durable bool
	DataDir string
	Sync    wal.SyncMode
	// Floor compares a bare net/http server too.
	Floor bool
}

// Run runs b's rounds, rewriting how each goes on progress (nil for
// nothing), and writes the report on out, also when ctx ends after a round
// was measured.
func (b Bench) Run(ctx context.Context, out, progress io.Writer) error {
	servers := []Server{remoteServer(b.Server)}
	if b.InProcess {
		servers[0] = inProcessServer()
	}
	if b.Durable {
		servers = append(servers, durableServer(b.DataDir, b.Sync))
	}
	var floor *Floor
	if b.Floor {
		floor = NewFloor(FloorModeFor(b.Load.Batch))
		if err := floor.Start(); err != nil {
			return err
		}
		defer floor.Close()
		servers = append(servers, floor.server())
	}

	cfg := b.Load
	var done func(*Result)
	if progress != nil {
		cfg.Progress = func(p Progress) { WriteProgress(progress, b.Rounds, p) }
		done = func(r *Result) { WriteRoundDone(progress, b.Rounds, r) }
	}
	results, err := Rounds(ctx, cfg, b.Rounds, servers, done)
	if len(results) > 0 || err == nil {
		rep := Report{Load: b.Load, Rounds: b.Rounds, Server: b.Server, InProcess: b.InProcess, Floor: floor,
			Results: results, Interrupted: ctx.Err() != nil}
		err = errors.Join(err, rep.Write(out))
	}
	return err
}
