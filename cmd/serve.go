package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/montool/montool/internal/cmdline"
	"github.com/montool/montool/internal/configkey"
	"github.com/montool/montool/internal/durable"
	"github.com/montool/montool/internal/profiler"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/wal"
)

// serveOptions holds what `montool serve` runs with.
type serveOptions struct {
	Server server.Config
	// Policy is what the store keeps and takes in.
	Policy store.Policy
	// Durable are the options of the durable store, which a Durable.Dir
	// turns on; with none, the store is only in memory. Fsync is the
	// --fsync that Durable.Sync is read from.
	Durable durable.Options
	Fsync   string
	// flags are the resolved flags, and args the command line that makes
	// them again, for a reload.
	flags *pflag.FlagSet
	args  []string
	// DebugAddr is where net/http/pprof is served; "" for nowhere. It
	// must be a loopback address unless InsecureDebugAddr.
	DebugAddr         string
	InsecureDebugAddr bool
	Log               *slog.Logger
}

func newServeCmd(root *rootOptions, runF func(context.Context, *serveOptions) error) *cobra.Command {
	opts := &serveOptions{Server: server.DefaultConfig(), Fsync: "always",
		Durable: durable.Options{SyncInterval: time.Second, SnapshotInterval: 5 * time.Minute}}
	var maxMemory cmdline.ByteSize
	maxBodyMemory := cmdline.ByteSize(opts.Server.MaxBodyMemory)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the montool server",
		Long: `Run the montool HTTP server. It keeps events in memory; with --data-dir it
also writes them to a write-ahead log and snapshots there, and --fsync says
what a crash can lose. --retention, --client-ttl and the --max-* flags keep a
long-running server from growing without bound. SIGHUP (or POST /-/reload)
reads the configuration again; SIGINT or SIGTERM stops it cleanly. The README
says more of each: Durability, Bounding memory, Reloading the configuration.`,
		Example: `  montool serve
  montool serve --addr 127.0.0.1:9090
  montool serve --data-dir /var/lib/montool
  montool serve --data-dir ./data --fsync interval --fsync-interval 200ms
  montool serve --retention 720h --client-ttl 24h --max-memory 4GiB
  MONTOOL_SERVE_ADDR=:9090 montool serve`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.resolve(root, int64(maxMemory), int64(maxBodyMemory)); err != nil {
				return err
			}
			opts.Log = root.Log
			opts.flags, opts.args = cmd.Flags(), commandLine(cmd)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runServe(cmd.Context(), opts)
		},
	}
	addServeFlags(cmd.Flags(), opts, &maxMemory, &maxBodyMemory)
	return cmd
}

// addServeFlags adds the flags of serve to fs, each set by the config key
// serve.<its name in snake case>.
func addServeFlags(fs *pflag.FlagSet, opts *serveOptions, maxMemory, maxBodyMemory *cmdline.ByteSize) {
	fs.StringVar(&opts.Server.Addr, "addr", opts.Server.Addr, "address to listen on")
	fs.Int64Var(&opts.Server.MaxBodyBytes, "max-body-bytes", opts.Server.MaxBodyBytes, "largest request body taken, in bytes")
	fs.Var(maxBodyMemory, "max-body-memory", "memory all bodies being read may hold at once, such as 256MiB; past it, 503")
	fs.IntVar(&opts.Server.MaxBatchEvents, "max-batch-events", opts.Server.MaxBatchEvents, "most events taken in one request")
	fs.DurationVar(&opts.Server.ShutdownTimeout, "shutdown-timeout", opts.Server.ShutdownTimeout, "how long a shutdown waits for requests in flight")
	fs.StringVar(&opts.Durable.Dir, "data-dir", "", "directory of the write-ahead log and snapshots; empty keeps everything only in memory")
	fs.StringVar(&opts.Fsync, "fsync", opts.Fsync, "with --data-dir, when log writes are synced: always, interval or never")
	fs.DurationVar(&opts.Durable.SyncInterval, "fsync-interval", opts.Durable.SyncInterval, "with --fsync interval, how often the log is synced")
	fs.DurationVar(&opts.Durable.SnapshotInterval, "snapshot-interval", opts.Durable.SnapshotInterval, "with --data-dir, how often a snapshot is written; 0 for only at shutdown")
	fs.BoolVar(&opts.Durable.AcceptLoss, "accept-data-loss", false, "with --data-dir, start past a damaged or incomplete log, loading what can be read")
	fs.IntVar(&opts.Policy.Limits.MaxClients, "max-clients", 0, "most clients held; events of new ones past it get 429 (0: no limit)")
	fs.IntVar(&opts.Policy.Limits.MaxKeysPerClient, "max-keys-per-client", 0, "most keys of one client; events of new ones past it get 429 (0: 65536)")
	fs.Var(maxMemory, "max-memory", "about how much memory stored events may take, such as 4GiB; past it, 507 (0: no limit)")
	fs.Float64Var(&opts.Server.RateLimit, "rate-limit", 0, "events a second each client may send; past it, 429 (0: no limit)")
	fs.IntVar(&opts.Server.RateBurst, "rate-burst", 0, "events a client may send at once above --rate-limit (0: a second's worth)")
	fs.IntVar(&opts.Server.MaxInFlight, "max-in-flight", 0, "event requests handled at once; more get 503 (0: no bound)")
	fs.StringVar(&opts.DebugAddr, "debug-addr", "", "loopback address to serve Go's profiler on, such as 127.0.0.1:6060 (empty: off)")
	fs.BoolVar(&opts.InsecureDebugAddr, "insecure-debug-addr", false, "let --debug-addr be an address other than loopback, open to anyone who reaches it")
	fs.BoolVar(&opts.Server.MetricsPublic, "metrics-public", false, "serve /metrics to anyone, without a token")
	fs.StringVar(&opts.Server.TLSCert, "tls-cert", "", "PEM file of the certificate (with its chain) to serve HTTPS with; needs --tls-key")
	fs.StringVar(&opts.Server.TLSKey, "tls-key", "", "PEM file of the private key of --tls-cert")
	fs.BoolVar(&opts.Server.InsecureOpen, "insecure-open", false, "with no tokens, take requests from any address, not only this machine's")
	fs.DurationVar(&opts.Policy.ClientTTL, "client-ttl", 0, "forget a client that sent nothing for this long (0: never)")
	fs.DurationVar(&opts.Policy.Retention, "retention", 0, "keep events this long, by their timestamps; older ones get 400 (0: for ever)")
	configkey.Bind(fs, "serve")
}

// resolve checks the options the flags resolved to and completes them
// with the tokens of the configuration and the sizes given as text.
func (o *serveOptions) resolve(root *rootOptions, maxMemory, maxBodyMemory int64) error {
	sync, err := wal.ParseSyncMode(o.Fsync)
	if err != nil {
		return err
	}
	o.Durable.Sync = sync
	if o.DebugAddr != "" && !o.InsecureDebugAddr {
		if err := profiler.CheckAddr(o.DebugAddr); err != nil {
			return debugAddrError(err)
		}
	}
	if o.Server.Tokens, err = tokenSet(root.Config); err != nil {
		return err
	}
	o.Policy.Limits.MaxBytes = maxMemory
	o.Server.MaxBodyMemory = maxBodyMemory
	switch {
	case o.Server.MaxBodyMemory < o.Server.MaxBodyBytes:
		return fmt.Errorf("--max-body-memory (%d bytes) must be at least --max-body-bytes (%d), or no body of the largest size is ever taken", o.Server.MaxBodyMemory, o.Server.MaxBodyBytes)
	case o.Server.TLSCert != "" && o.Server.TLSKey == "":
		return errors.New("--tls-cert needs --tls-key, the PEM file of the certificate's private key")
	case o.Server.TLSKey != "" && o.Server.TLSCert == "":
		return errors.New("--tls-key needs --tls-cert, the PEM file of the certificate it is the key of")
	}
	if err := o.Server.Validate(); err != nil {
		return fmt.Errorf("server config: %w", err)
	}
	err = o.Policy.Validate()
	if err == nil {
		err = o.Durable.Validate()
	}
	var bad *store.SettingError
	if errors.As(err, &bad) { // named as the flag that sets it
		return fmt.Errorf("--%s %s, not %s", strings.ReplaceAll(bad.Setting, "_", "-"), bad.Message, bad.Value)
	}
	return err
}

// servedStore is a store that serve runs: built whole, run for as long as
// the server, its policy changed by a reload, and closed last.
type servedStore interface {
	server.Store
	Run(ctx context.Context) error
	SetPolicy(store.Policy) error
	Close(ctx context.Context) error
}

// openStore returns the store that opts name: durable over a data
// directory, else only in memory.
func openStore(opts *serveOptions) (servedStore, error) {
	if opts.Durable.Dir == "" {
		m, err := store.New(store.Options{Policy: opts.Policy, Log: opts.Log})
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	d := opts.Durable
	d.Policy, d.Log = opts.Policy, opts.Log
	ds, err := durable.New(d)
	if err != nil {
		return nil, err
	}
	return ds, nil
}

// runServe opens the store, builds the server over it, runs both, and
// closes them in order: the server stops first, then the store.
func runServe(ctx context.Context, opts *serveOptions) error {
	st, err := openStore(opts)
	if err != nil {
		return err
	}
	var srv *server.Server
	r := &reloader{args: opts.args, store: st, log: opts.Log, started: opts,
		apply: func(next *serveOptions) error { return srv.Apply(next.Server.Settings) }}
	opts.Server.Reload = r.reload
	if srv, err = server.New(opts.Server, st, opts.Log); err != nil {
		return err
	}
	logAccess(opts)
	ln, err := srv.Listen()
	if err != nil {
		return err
	}
	var debug *profiler.Server // nil without --debug-addr
	if opts.DebugAddr != "" {
		if debug, err = listenDebug(opts.DebugAddr, opts.InsecureDebugAddr, opts.Log); err != nil {
			ln.Close()
			return err
		}
	}
	return runServer(ctx, srv, ln, st, debug)
}

// runServer runs the store, the server on ln and the profiler (when not
// nil) until ctx ends or one of them fails, then closes them in order: the
// server first, then the store. The store runs (loads, for a durable one)
// while the server answers; a store that fails stops the server.
func runServer(ctx context.Context, srv *server.Server, ln net.Listener, st servedStore, debug *profiler.Server) error {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	storeCtx, stopStore := context.WithCancel(context.WithoutCancel(ctx))
	var runs sync.WaitGroup
	var storeErr, debugErr error
	runs.Go(func() {
		if storeErr = st.Run(storeCtx); storeErr != nil {
			stop(storeErr)
		}
	})
	runs.Go(func() { reloadOnHangup(ctx, srv.Reload) })
	if debug != nil {
		runs.Go(func() {
			if err := debug.Run(ctx); err != nil {
				debugErr = fmt.Errorf("--debug-addr: %w", err)
				stop(debugErr)
			}
		})
	}
	runErr := srv.Run(ctx, ln)
	stop(nil)
	stopStore()
	runs.Wait()
	if storeErr != nil {
		if errors.Is(storeErr, durable.ErrDataLoss) {
			storeErr = fmt.Errorf("%w; to load what can be read and go on, losing the rest, start with --accept-data-loss (the damaged bytes are copied aside)", storeErr)
		}
		return errors.Join(runErr, debugErr, storeErr)
	}
	if err := st.Close(context.WithoutCancel(ctx)); err != nil {
		return errors.Join(runErr, debugErr, fmt.Errorf("close the store: %w", err))
	}
	return errors.Join(runErr, debugErr)
}

// logAccess logs who may send requests: with tokens, or in open mode, a
// warning. It comes once the server is built, so that a setting it refuses
// is told first and alone.
func logAccess(opts *serveOptions) {
	switch {
	case opts.Server.Tokens.Len() > 0:
		opts.Log.Info("taking requests with a token", "tokens", opts.Server.Tokens.Len())
	case opts.Server.InsecureOpen:
		opts.Log.Warn("no tokens configured and --insecure-open: anyone who reaches the server may write and read everything")
	default:
		opts.Log.Warn("no tokens configured: taking requests only from this machine; add tokens to the config (montool token new) to take agents from elsewhere, or pass --insecure-open")
	}
}

// debugAddrError words an error of the profiler's address as one of
// --debug-addr, with what to do about an address that is not loopback.
func debugAddrError(err error) error {
	if errors.Is(err, profiler.ErrNotLoopback) {
		return fmt.Errorf("--debug-addr %w; the profiler has no token and shows the server's internals: "+
			"give a loopback address such as 127.0.0.1:6060 or localhost:6060, or pass --insecure-debug-addr to serve it there anyway", err)
	}
	return fmt.Errorf("--debug-addr %w", err)
}

// listenDebug listens on addr for the profiler: a loopback address unless
// insecure.
func listenDebug(addr string, insecure bool, log *slog.Logger) (*profiler.Server, error) {
	p, err := profiler.Listen(addr, insecure)
	if err != nil {
		return nil, debugAddrError(err)
	}
	if p.Loopback() {
		log.Info("profiler listening", "addr", p.Addr().String(), "path", "/debug/pprof/")
	} else {
		log.Warn("the profiler is served beyond this machine, with no token (--insecure-debug-addr): anyone who reaches it may profile the server and read its memory",
			"addr", p.Addr().String(), "path", "/debug/pprof/")
	}
	return p, nil
}
