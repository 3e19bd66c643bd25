package loadgen

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/montool/montool/internal/durable"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/wal"
)

// remoteServer is the montool server at url, run by someone else: every round
// drives it as it is.
func remoteServer(url string) Server {
	return Server{Target: Target{Name: "montool", Stats: true}, Start: func(context.Context) (string, func() error, error) {
		return url, func() error { return nil }, nil
	}}
}

// inProcessServer is a fresh montool server over a fresh store, started in this
// process on a free port of 127.0.0.1 for each round. It runs until the
// round's stop function is called, whatever becomes of the round's
// context, so that the round can still read its stats after an interrupt.
func inProcessServer() Server {
	return Server{Target: Target{Name: "montool", Stats: true}, Start: func(ctx context.Context) (string, func() error, error) {
		m, err := store.New(store.Options{})
		if err != nil {
			return "", nil, err
		}
		return startServer(ctx, m)
	}}
}

// durableServer is inProcessServer over a durable store that syncs as mode says, in a
// fresh data directory under parent for each round, removed when the
// round's server stops.
func durableServer(parent string, mode wal.SyncMode) Server {
	return Server{Target: Target{Name: "durable", Stats: true}, Start: func(ctx context.Context) (string, func() error, error) {
		return startDurable(ctx, parent, mode)
	}}
}

// server is f, started, as a server of the rounds.
func (f *Floor) server() Server {
	return Server{Target: Target{Name: "floor", NoPreload: true}, Start: func(context.Context) (string, func() error, error) {
		return f.URL(), func() error { return nil }, nil
	}}
}

// startDurable starts a montool server over a durable store in a fresh
// data directory under parent; see durableServer.
func startDurable(ctx context.Context, parent string, mode wal.SyncMode) (string, func() error, error) {
	dir, err := os.MkdirTemp(parent, "montool-bench-")
	if err != nil {
		return "", nil, err
	}
	ds, err := durable.New(durable.Options{Dir: dir, Sync: mode, SyncInterval: time.Second})
	if err == nil {
		err = ds.Load(ctx)
	}
	if err != nil {
		return "", nil, errors.Join(err, os.RemoveAll(dir))
	}
	url, stop, err := startServer(ctx, ds)
	if err != nil {
		return "", nil, errors.Join(err, ds.Close(ctx), os.RemoveAll(dir))
	}
	return url, func() error {
		err := stop()
		// No snapshot: the data directory goes.
		return errors.Join(err, ds.Discard(), os.RemoveAll(dir))
	}, nil
}

// startServer starts a montool server over st on a free port of
// 127.0.0.1; see inProcessServer.
func startServer(ctx context.Context, st server.Store) (string, func() error, error) {
	cfg := server.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	srv, err := server.New(cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		return "", nil, err
	}
	ln, err := srv.Listen()
	if err != nil {
		return "", nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- srv.Run(runCtx, ln) }()
	return "http://" + ln.Addr().String(), func() error {
		cancel()
		return <-served
	}, nil
}
