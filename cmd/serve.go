package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/montool/montool/internal/durable"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/wal"
)

var (
	_ server.Store      = (*store.Memory)(nil)
	_ server.Sizer      = (*store.Memory)(nil)
	_ server.KeyCounter = (*store.Memory)(nil)

	_ server.Store            = (*durable.Store)(nil)
	_ server.Readiness        = (*durable.Store)(nil)
	_ server.Failure          = (*durable.Store)(nil)
	_ server.Sizer            = (*durable.Store)(nil)
	_ server.KeyCounter       = (*durable.Store)(nil)
	_ server.MetricsCollector = (*durable.Store)(nil)
)

// serveOptions holds what `montool serve` runs with.
type serveOptions struct {
	Server server.Config
	// DataDir turns on durable mode: the write-ahead log and snapshots
	// live there. Empty for a store only in memory.
	DataDir string
	// Fsync is always, interval or never; FsyncInterval is how often
	// interval syncs.
	Fsync            string
	FsyncInterval    time.Duration
	SnapshotInterval time.Duration
	// AcceptDataLoss starts from a damaged data directory: what can be
	// read loads, and what cannot is logged and skipped.
	AcceptDataLoss bool
	// Limits bound what the store takes in.
	Limits store.Limits
	// ClientTTL forgets clients that sent nothing for that long; 0 never.
	ClientTTL time.Duration
	// Retention is how long events are kept, by their timestamps; 0 for
	// ever.
	Retention time.Duration
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
	opts := &serveOptions{Server: server.DefaultConfig(), Fsync: "always", FsyncInterval: time.Second, SnapshotInterval: 5 * time.Minute}
	var maxMemory byteSize
	maxBodyMemory := byteSize(opts.Server.MaxBodyMemory)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the montool server",
		Long: `Run the montool HTTP server over an in-memory store.

With --data-dir the store is durable: every accepted event is appended to a
write-ahead log in that directory before its request is acknowledged, and
a snapshot of the store is written every --snapshot-interval and on a
clean shutdown. At start-up the newest snapshot is loaded and the log after
it replayed; /readyz answers 503 until that is done, and the API with it.
Damaged or missing log segments stop the start with the files named;
--accept-data-loss loads what can be read and logs what it skipped. If
the log cannot be written (a full disk), writes get 507, and the server
stops and exits 1, for a supervisor to restart it.
What a crash can lose depends on --fsync:

  always    nothing acknowledged: each write is synced before the answer
            (concurrent requests share one fsync)
  interval  nothing acknowledged if only montool crashes (each write is
            made before the answer); if the machine crashes or loses
            power, what was acknowledged in the last --fsync-interval
  never     as interval, but syncing is left to the operating system, so
            a machine crash can lose more (tens of seconds on Linux)

--retention drops events older than a window (and refuses them with 400
too_old), --client-ttl forgets clients that went quiet, and --max-clients,
--max-keys-per-client and --max-memory refuse new events past a limit (429
or 507), so that a long-running server does not grow without bound.

On SIGHUP (or POST /-/reload) it reads the configuration again: tokens,
limits, the rate limit, retention and the client TTL change at once.

The server stops cleanly on SIGINT or SIGTERM: it stops accepting, lets the
requests in flight finish, writes a snapshot with --data-dir, and exits 0.`,
		Example: `  montool serve
  montool serve --addr 127.0.0.1:9090
  montool serve --data-dir /var/lib/montool
  montool serve --data-dir ./data --fsync interval --fsync-interval 200ms
  montool serve --retention 720h --client-ttl 24h --max-memory 4GiB
  MONTOOL_SERVE_ADDR=:9090 montool serve`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := wal.ParseSyncMode(opts.Fsync); err != nil {
				return err
			}
			if opts.FsyncInterval <= 0 {
				return fmt.Errorf("--fsync-interval must be positive, not %s", opts.FsyncInterval)
			}
			if opts.SnapshotInterval < 0 {
				return fmt.Errorf("--snapshot-interval must not be negative, not %s", opts.SnapshotInterval)
			}
			if opts.ClientTTL < 0 {
				return fmt.Errorf("--client-ttl must not be negative, not %s", opts.ClientTTL)
			}
			if opts.Retention < 0 {
				return fmt.Errorf("--retention must not be negative, not %s", opts.Retention)
			}
			if err := checkDebugAddr(opts.DebugAddr, opts.InsecureDebugAddr); err != nil {
				return err
			}
			tokens, err := tokenSet(root.Config)
			if err != nil {
				return err
			}
			opts.Server.Tokens = tokens
			opts.Limits.MaxBytes = int64(maxMemory)
			opts.Server.MaxBodyMemory = int64(maxBodyMemory)
			if opts.Server.MaxBodyMemory < opts.Server.MaxBodyBytes {
				return fmt.Errorf("--max-body-memory (%d bytes) must be at least --max-body-bytes (%d), or no body of the largest size is ever taken", opts.Server.MaxBodyMemory, opts.Server.MaxBodyBytes)
			}
			if err := checkLimits(opts.Limits); err != nil {
				return err
			}
			switch {
			case opts.Server.TLSCert != "" && opts.Server.TLSKey == "":
				return errors.New("--tls-cert needs --tls-key, the PEM file of the certificate's private key")
			case opts.Server.TLSKey != "" && opts.Server.TLSCert == "":
				return errors.New("--tls-key needs --tls-cert, the PEM file of the certificate it is the key of")
			}
			if err := opts.Server.Validate(); err != nil {
				return fmt.Errorf("server config: %w", err)
			}
			opts.Log = root.Log
			opts.flags, opts.args = cmd.Flags(), commandLine(cmd)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runServe(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Server.Addr, "addr", opts.Server.Addr, "address to listen on")
	fs.Int64Var(&opts.Server.MaxBodyBytes, "max-body-bytes", opts.Server.MaxBodyBytes, "largest request body taken, in bytes")
	fs.IntVar(&opts.Server.MaxBatchEvents, "max-batch-events", opts.Server.MaxBatchEvents, "most events taken in one request")
	fs.DurationVar(&opts.Server.ShutdownTimeout, "shutdown-timeout", opts.Server.ShutdownTimeout, "how long a shutdown waits for requests in flight")
	configKey(fs, "addr", "serve.addr")
	fs.Var(&maxBodyMemory, "max-body-memory", "memory all request bodies being read may hold at once, such as 256MiB; a body past it gets 503 with Retry-After")
	configKey(fs, "max-body-bytes", "serve.max_body_bytes")
	configKey(fs, "max-body-memory", "serve.max_body_memory")
	configKey(fs, "max-batch-events", "serve.max_batch_events")
	configKey(fs, "shutdown-timeout", "serve.shutdown_timeout")
	fs.StringVar(&opts.DataDir, "data-dir", opts.DataDir, "directory of the write-ahead log and snapshots; empty keeps everything only in memory")
	fs.StringVar(&opts.Fsync, "fsync", opts.Fsync, "with --data-dir, when log writes are synced: always, interval or never")
	fs.DurationVar(&opts.FsyncInterval, "fsync-interval", opts.FsyncInterval, "with --fsync interval, how often the log is synced")
	fs.DurationVar(&opts.SnapshotInterval, "snapshot-interval", opts.SnapshotInterval, "with --data-dir, how often a snapshot is written; 0 for only at shutdown")
	configKey(fs, "data-dir", "serve.data_dir")
	configKey(fs, "fsync", "serve.fsync")
	configKey(fs, "fsync-interval", "serve.fsync_interval")
	configKey(fs, "snapshot-interval", "serve.snapshot_interval")
	fs.BoolVar(&opts.AcceptDataLoss, "accept-data-loss", false, "with --data-dir, start even though log segments are missing or damaged: load what can be read, copy the damaged bytes aside, and log at warn what was skipped (else such damage stops the start)")
	configKey(fs, "accept-data-loss", "serve.accept_data_loss")
	fs.IntVar(&opts.Limits.MaxClients, "max-clients", 0, "most clients the server holds; events of new clients past it get 429 (0: no limit)")
	fs.IntVar(&opts.Limits.MaxKeysPerClient, "max-keys-per-client", 0, "most keys one client may have; events of new keys past it get 429 (0: the built-in most, 65536)")
	fs.Var(&maxMemory, "max-memory", "about how much memory stored events may take, such as 4GiB; new events past it get 507 (0: no limit)")
	configKey(fs, "max-clients", "serve.max_clients")
	configKey(fs, "max-keys-per-client", "serve.max_keys_per_client")
	configKey(fs, "max-memory", "serve.max_memory")
	fs.Float64Var(&opts.Server.RateLimit, "rate-limit", 0, "events a second each client may send; a request over it gets 429 with Retry-After and applies nothing (0: no limit)")
	fs.IntVar(&opts.Server.RateBurst, "rate-burst", 0, "events a client may send at once above --rate-limit (0: a second's worth)")
	fs.IntVar(&opts.Server.MaxInFlight, "max-in-flight", 0, "event requests handled at once; more get 503 with Retry-After at once (0: no bound)")
	configKey(fs, "rate-limit", "serve.rate_limit")
	configKey(fs, "rate-burst", "serve.rate_burst")
	configKey(fs, "max-in-flight", "serve.max_in_flight")
	fs.StringVar(&opts.DebugAddr, "debug-addr", "", "address to serve Go's profiler (net/http/pprof) on, apart from the API and without a token, such as 127.0.0.1:6060 or localhost:6060: a loopback address unless --insecure-debug-addr (empty: off)")
	fs.BoolVar(&opts.InsecureDebugAddr, "insecure-debug-addr", false, "let --debug-addr be an address other than loopback (such as :6060, every interface): anyone who reaches it may profile the server and read its memory and command line")
	configKey(fs, "debug-addr", "serve.debug_addr")
	configKey(fs, "insecure-debug-addr", "serve.insecure_debug_addr")
	fs.BoolVar(&opts.Server.MetricsPublic, "metrics-public", false, "serve /metrics to anyone, without a token; else it needs an admin token (or, with no tokens, a loopback address)")
	configKey(fs, "metrics-public", "serve.metrics_public")
	fs.StringVar(&opts.Server.TLSCert, "tls-cert", "", "PEM file of the certificate (with its chain) to serve HTTPS with; needs --tls-key")
	fs.StringVar(&opts.Server.TLSKey, "tls-key", "", "PEM file of the private key of --tls-cert")
	configKey(fs, "tls-cert", "serve.tls_cert")
	configKey(fs, "tls-key", "serve.tls_key")
	fs.BoolVar(&opts.Server.InsecureOpen, "insecure-open", false, "with no tokens configured, take requests from any address instead of only this machine's: anyone who reaches the server may write and read everything")
	configKey(fs, "insecure-open", "serve.insecure_open")
	fs.DurationVar(&opts.ClientTTL, "client-ttl", 0, "forget a client, and all it sent, once it has sent nothing for this long (0: never)")
	fs.DurationVar(&opts.Retention, "retention", 0, "keep events this long, by their timestamps: older ones are dropped and refused with 400 too_old (0: for ever)")
	configKey(fs, "client-ttl", "serve.client_ttl")
	configKey(fs, "retention", "serve.retention")
	return cmd
}

// keeper is a store that forgets idle clients and prunes old events.
type keeper interface {
	ExpireIdle(ctx context.Context, before time.Time) ([]store.Expired, error)
	Prune(ctx context.Context, now time.Time) (int64, error)
}

var (
	_ keeper = (*store.Memory)(nil)
	_ keeper = (*durable.Store)(nil)
)

// housekeep forgets the clients of st that sent nothing for the TTL and
// prunes the events older than the retention (either 0: not that), as u
// says at each round, every u.every(), until ctx ends. ready says whether
// st can be used yet.
func housekeep(ctx context.Context, st keeper, ready func() bool, u *upkeep, log *slog.Logger) {
	t := time.NewTimer(u.every())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			t.Reset(u.every())
			ttl, retention := u.get()
			if !ready() {
				continue
			}
			if ttl > 0 {
				expired, err := st.ExpireIdle(ctx, now.Add(-ttl))
				for _, e := range expired {
					log.Info("forgot an idle client", "client_id", e.ClientID, "events", e.Events, "last_seen", e.LastSeen.UTC().Format(time.RFC3339))
				}
				if err != nil && ctx.Err() == nil {
					log.Error("forgetting idle clients failed", "err", err)
				}
			}
			if retention > 0 {
				start := time.Now()
				n, err := st.Prune(ctx, now)
				if n > 0 {
					log.Info("dropped events past retention", "events", n, "took", time.Since(start).Round(time.Millisecond))
				}
				if err != nil && ctx.Err() == nil {
					log.Error("dropping events past retention failed", "err", err)
				}
			}
		}
	}
}

// checkLimits reports the first limit that cannot work.
func checkLimits(l store.Limits) error {
	switch {
	case l.MaxClients < 0:
		return fmt.Errorf("--max-clients must not be negative, not %d", l.MaxClients)
	case l.MaxKeysPerClient < 0 || l.MaxKeysPerClient > store.MaxKeysPerClient:
		return fmt.Errorf("--max-keys-per-client must be from 0 to %d, not %d", store.MaxKeysPerClient, l.MaxKeysPerClient)
	}
	return nil
}

func runServe(ctx context.Context, opts *serveOptions) error {
	if opts.DebugAddr != "" {
		stop, err := serveDebug(opts.DebugAddr, opts.InsecureDebugAddr, opts.Log)
		if err != nil {
			return err
		}
		defer stop()
	}
	up := newUpkeep(opts.ClientTTL, opts.Retention)
	var srv *server.Server
	reloadWith := func(st tunable) func(context.Context) error {
		r := &reloader{args: opts.args, store: st, up: up, log: opts.Log, started: opts,
			apply: func(next *serveOptions) error { return srv.Apply(next.Server.Settings) }}
		return r.reload
	}
	var background sync.WaitGroup // waited for before the store closes
	if opts.DataDir == "" {
		mem := store.New()
		mem.SetLimits(opts.Limits)
		mem.SetRetention(opts.Retention)
		opts.Server.Reload = reloadWith(mem)
		var err error
		if srv, err = server.New(opts.Server, mem, opts.Log); err != nil {
			return err
		}
		logAccess(opts)
		ln, err := srv.Listen()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(ctx)
		background.Go(func() { housekeep(ctx, mem, func() bool { return true }, up, opts.Log) })
		background.Go(func() { reloadOnHangup(ctx, srv.Reload) })
		err = srv.Run(ctx, ln)
		cancel()
		background.Wait()
		return err
	}
	mode, err := wal.ParseSyncMode(opts.Fsync)
	if err != nil {
		return err
	}
	ds := durable.New(durable.Options{Dir: opts.DataDir, Sync: mode, SyncInterval: opts.FsyncInterval,
		SnapshotInterval: opts.SnapshotInterval, Limits: opts.Limits, Retention: opts.Retention, AcceptLoss: opts.AcceptDataLoss, Log: opts.Log})
	opts.Server.Reload = reloadWith(ds)
	if srv, err = server.New(opts.Server, ds, opts.Log); err != nil {
		return err
	}
	logAccess(opts)
	ln, err := srv.Listen()
	if err != nil {
		return err
	}
	// The server answers (503 but for /healthz) while the data loads; a
	// load that fails stops it.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	loaded := make(chan error, 1)
	go func() {
		err := ds.Load(ctx)
		if err != nil {
			cancel(err)
		}
		loaded <- err
	}()
	// A log that fails stops the server too: the store takes and shows
	// nothing more, and a restart (by a supervisor) loads what the log
	// holds, which is exactly what was acknowledged.
	go func() {
		select {
		case <-ds.Broken():
			cancel(ds.Failed())
		case <-ctx.Done():
		}
	}()
	background.Go(func() { housekeep(ctx, ds, ds.Ready, up, opts.Log) })
	background.Go(func() { reloadOnHangup(ctx, srv.Reload) })
	runErr := srv.Run(ctx, ln)
	cancel(nil)
	background.Wait() // before the log closes
	if err := <-loaded; err != nil && !errors.Is(err, context.Canceled) {
		if errors.Is(err, durable.ErrDataLoss) {
			err = fmt.Errorf("%w; to load what can be read and go on, losing the rest, start with --accept-data-loss (the damaged bytes are copied aside)", err)
		}
		return fmt.Errorf("data directory %s: %w", opts.DataDir, err)
	}
	closeErr := ds.Close(context.WithoutCancel(ctx))
	if err := ds.Failed(); err != nil {
		return errors.Join(runErr, fmt.Errorf("data directory %s: stopped: %w", opts.DataDir, err))
	}
	if closeErr != nil {
		return errors.Join(runErr, fmt.Errorf("close the data directory: %w", closeErr))
	}
	return runErr
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

// errDebugAddrFix says what to do about a profiler address that is not
// loopback.
const errDebugAddrFix = "the profiler has no token and shows the server's internals: " +
	"give a loopback address such as 127.0.0.1:6060 or localhost:6060, or pass --insecure-debug-addr to serve it there anyway"

// checkDebugAddr refuses a profiler address that is not loopback, unless
// insecure: an empty host (":6060") is every interface, and an IP address
// must be a loopback one. A host name passes: serveDebug checks the
// address it resolves to where it listens.
func checkDebugAddr(addr string, insecure bool) error {
	if addr == "" || insecure {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--debug-addr %q: %w", addr, err)
	}
	if host == "" {
		return fmt.Errorf("--debug-addr %q is not a loopback address: a port alone listens on every interface; %s", addr, errDebugAddrFix)
	}
	if ip, err := netip.ParseAddr(host); err == nil && !ip.Unmap().IsLoopback() {
		return fmt.Errorf("--debug-addr %q is not a loopback address; %s", addr, errDebugAddrFix)
	}
	return nil
}

// serveDebug serves net/http/pprof on addr until stop is called. Unless
// insecure, the address listened on must be loopback, whatever the host
// name of addr resolved to.
func serveDebug(addr string, insecure bool, log *slog.Logger) (stop func(), err error) {
	if err := checkDebugAddr(addr, insecure); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-addr: %w", err)
	}
	bound, _ := netip.ParseAddrPort(ln.Addr().String())
	loopback := bound.Addr().Unmap().IsLoopback()
	if !loopback && !insecure {
		ln.Close()
		return nil, fmt.Errorf("--debug-addr %q is not a loopback address: it listens on %s; %s", addr, ln.Addr(), errDebugAddrFix)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	if loopback {
		log.Info("profiler listening", "addr", ln.Addr().String(), "path", "/debug/pprof/")
	} else {
		log.Warn("the profiler is served beyond this machine, with no token (--insecure-debug-addr): anyone who reaches it may profile the server and read its memory",
			"addr", ln.Addr().String(), "path", "/debug/pprof/")
	}
	return func() { hs.Close() }, nil
}
