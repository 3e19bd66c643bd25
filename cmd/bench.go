package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/montool/montool/internal/durable"
	"github.com/montool/montool/internal/loadgen"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/wal"
)

// benchOptions holds what `montool bench` runs with.
type benchOptions struct {
	// Server is the URL of the server to drive, unless InProcess.
	Server string
	// InProcess starts a fresh montool server in this process for each
	// round instead.
	InProcess bool
	// CompareFloor runs the same load against a bare net/http server too,
	// round for round.
	CompareFloor bool
	// CompareDurable runs the same load against an in-process durable
	// server too, with a fresh data directory under DataDir each round,
	// syncing as Fsync says.
	CompareDurable bool
	DataDir        string
	Fsync          string
	Rounds         int
	Load           loadgen.Config
	// Progress turns on the progress line on ErrOut.
	Progress bool
	Out      io.Writer
	ErrOut   io.Writer
}

func newBenchCmd(root *rootOptions, runF func(context.Context, *benchOptions) error) *cobra.Command {
	opts := &benchOptions{Load: loadgen.DefaultConfig(), Rounds: 3}
	var format string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load a montool server as hard as possible and measure it",
		Long: `Send events to a montool server as fast as it takes them, or at a set rate,
from --connections senders each with its own keep-alive connection, and
print what was measured: events and requests per second, latency
percentiles, the status of the answers, and the server's memory before and
after (from /api/v1/stats).

The server is the one at --server, or with --in-process a fresh one started
in this process for each round. Only servers on this machine (loopback) are
driven. Each round runs for --duration or until --events events have been
sent, whichever comes first.

Every event is new (a UUID event id never sent before, timestamps rising by
the millisecond) but for the --duplicates fraction, which repeat recent
events exactly. Making bodies stays out of the timing: before the clock
starts, a set of template bodies is made (2 for each connection, at least
4,096 events), and during the round a sender only patches the event ids,
client ids and timestamps of a body in place, tens of nanoseconds an event
in batches; the report gives the cost measured. gzip bodies cannot be
patched, so with --gzip every body is made before the clock, up to 256 MiB
of compressed bodies (about 9 million events, made in about 8 s): a round
that would need more ends early, and the report says so. Keep --events
within that, or --duration short.

--rate N offers a fixed load of N requests per second across all the
connections, open loop: request k is due k/N seconds after the start,
whenever the answers to the ones before came, so the latency is that of
the server under that load. The report gives the rate achieved and counts
the requests sent more than 1 ms late, and of them those that found every
sender busy (raise --connections if they are many). To check a latency
target at half the peak rate, such as "p99 under 5 ms for single events",
first find the peak on your own machine with --rate 0 (the default), then
run at half the median REQUESTS/S of montool that it printed (not of a
peak measured elsewhere: it depends on the machine) and read its P99:

  montool bench --in-process --batch 1               # the peak: REQUESTS/S, say 41,200
  montool bench --in-process --batch 1 --rate 20600  # half of it: P99

--preload N sends N events before each round's clock starts (same clients
and keys, unique ids, in batches of 1,000, in no figure), so that the round
measures ingest into a store that already holds them; compare its EVENTS/S
with a run without. The floor has no store and is not preloaded. Against
--server the events stay between rounds: each round adds N more.

With --compare-floor the same load also goes to a bare net/http server on
another loopback port, alternating rounds with montool, and the report ends
with the medians and the ratio montool/floor. For batches the floor decodes
each body with encoding/json into []map[string]any; for --batch 1 it only
reads and drops the body. Ctrl-C stops at once and still prints the report.`,
		Example: `  montool bench --in-process --compare-floor
  montool bench --in-process --compare-floor --batch 1 --connections 32
  montool bench --in-process --batch 1 --rate 20600
  montool bench --in-process --preload 10000000 --rounds 1
  montool bench --server http://127.0.0.1:8080 --duration 30s --rounds 1
  montool bench --in-process --events 1000000 --duplicates 0.1 --format ndjson --gzip`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs := cmd.Flags()
			if opts.InProcess && fs.Changed("server") {
				return errors.New("--server and --in-process exclude each other: drive the server at --server, or one started in this process")
			}
			if opts.CompareDurable && !opts.InProcess {
				return errors.New("--compare-durable needs --in-process: it starts durable servers in this process")
			}
			if _, err := wal.ParseSyncMode(opts.Fsync); err != nil {
				return err
			}
			if !fs.Changed("connections") {
				opts.Load.Connections = loadgen.DefaultConnections(opts.Load.Batch)
			}
			opts.Load.Format = loadgen.Format(strings.ToLower(format))
			if err := opts.Load.Validate(); err != nil {
				var fe *loadgen.FieldError
				if errors.As(err, &fe) {
					return fmt.Errorf("--%s %s: %s", fe.Field, fe.Value, fe.Message)
				}
				return err
			}
			if opts.Rounds < 1 || opts.Rounds > loadgen.MaxRounds {
				return fmt.Errorf("--rounds %d: must be between 1 and %d", opts.Rounds, loadgen.MaxRounds)
			}
			opts.Server, opts.Load.Token = root.Server, root.Token
			opts.Out, opts.ErrOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			opts.Progress = isTerminal(opts.ErrOut)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runBench(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&opts.InProcess, "in-process", false, "start a fresh montool server in this process for each round, on a free port of 127.0.0.1, instead of driving --server")
	fs.IntVar(&opts.Load.Clients, "clients", opts.Load.Clients, "number of client ids the events are spread over")
	fs.IntVar(&opts.Load.Keys, "keys", opts.Load.Keys, "number of keys of each client")
	fs.IntVar(&opts.Load.Batch, "batch", opts.Load.Batch, "events per request; 1 posts each event as a single JSON object")
	fs.IntVar(&opts.Load.Connections, "connections", 0, "concurrent keep-alive connections, one sender and one request in flight each (default 4 with batches: a batch keeps a server core busy for milliseconds, so a few in flight saturate a small machine and more only queue; 32 with --batch 1: a single event costs the server less than a round trip, so it takes many in flight)")
	fs.Float64Var(&opts.Load.Cumulative, "cumulative", opts.Load.Cumulative, "fraction of each client's keys (and so of the events) that are CUMULATIVE; the others are TIME-SERIES")
	fs.DurationVar(&opts.Load.Duration, "duration", opts.Load.Duration, "how long each round runs at most; 0 for no limit in time (then --events is needed)")
	fs.Int64Var(&opts.Load.Events, "events", opts.Load.Events, "stop each round after this many events, or at --duration if that comes first; 0 for no limit in count")
	fs.Float64Var(&opts.Load.Duplicates, "duplicates", opts.Load.Duplicates, "fraction of the events that repeat an earlier event exactly, in [0, 1)")
	fs.StringVar(&format, "format", string(opts.Load.Format), "body format: json (an array of events, or one object with --batch 1) or ndjson (one event per line)")
	fs.BoolVar(&opts.Load.Gzip, "gzip", false, "compress every body with gzip, at the fastest level; all are made before the clock starts, up to 256 MiB")
	fs.Float64Var(&opts.Load.Rate, "rate", 0, "requests per second to offer across all connections, on a fixed schedule (open loop); 0 for as fast as the server answers")
	fs.Int64Var(&opts.Load.Preload, "preload", 0, "events to send before each round's clock starts, so that the round measures ingest into a store that holds them; not timed")
	fs.BoolVar(&opts.CompareFloor, "compare-floor", false, "run the same load against a bare net/http server too, alternating rounds, and print the ratio montool/floor")
	fs.IntVar(&opts.Rounds, "rounds", opts.Rounds, "rounds against each server; the report gives each round and the medians")
	fs.BoolVar(&opts.CompareDurable, "compare-durable", false, "with --in-process, run the same load against a durable server too (serve --data-dir), alternating rounds, and print the ratio durable/montool")
	fs.StringVar(&opts.DataDir, "data-dir", os.TempDir(), "with --compare-durable, where each round's fresh data directory is made (and removed after the round)")
	fs.StringVar(&opts.Fsync, "fsync", "always", "with --compare-durable, the durable server's --fsync: always, interval or never")
	return cmd
}

func runBench(ctx context.Context, opts *benchOptions) error {
	montool := loadgen.Contender{Target: loadgen.Target{Name: "montool", Stats: true}, Start: func(context.Context) (string, func() error, error) {
		return opts.Server, func() error { return nil }, nil
	}}
	if opts.InProcess {
		montool.Start = startInProcess
	}
	contenders := []loadgen.Contender{montool}
	if opts.CompareDurable {
		mode, err := wal.ParseSyncMode(opts.Fsync)
		if err != nil {
			return err
		}
		contenders = append(contenders, loadgen.Contender{Target: loadgen.Target{Name: "durable", Stats: true}, Start: func(ctx context.Context) (string, func() error, error) {
			return startDurable(ctx, opts.DataDir, mode)
		}})
	}
	var floor *loadgen.Floor
	if opts.CompareFloor {
		floor = loadgen.NewFloor(loadgen.FloorModeFor(opts.Load.Batch))
		if err := floor.Start(); err != nil {
			return err
		}
		defer floor.Close()
		contenders = append(contenders, loadgen.Contender{Target: loadgen.Target{Name: "floor", NoPreload: true}, Start: func(context.Context) (string, func() error, error) {
			return floor.URL(), func() error { return nil }, nil
		}})
	}

	cfg := opts.Load
	var done func(*loadgen.Result)
	if opts.Progress {
		cfg.Progress = func(p loadgen.Progress) {
			what := "events"
			if p.Preload {
				what = "events preloaded"
			}
			fmt.Fprintf(opts.ErrOut, "\r\033[Kround %d/%d %s  %s  %s %s  %s events/s",
				p.Round, opts.Rounds, p.Target, p.Elapsed.Truncate(time.Second), commas(p.Events), what, rate(float64(p.Events)/p.Elapsed.Seconds()))
		}
		done = func(r *loadgen.Result) {
			fmt.Fprintf(opts.ErrOut, "\r\033[Kround %d/%d %s  %s events in %s: %s events/s\n",
				r.Round, opts.Rounds, r.Target, commas(r.Events), r.Elapsed.Round(time.Millisecond), rate(r.EventsPerSecond()))
		}
	}
	results, err := loadgen.Rounds(ctx, cfg, opts.Rounds, contenders, done)
	if len(results) > 0 || err == nil {
		writeBenchReport(opts.Out, opts, floor, results, ctx.Err() != nil)
	}
	return err
}

// startInProcess starts a fresh montool server over a fresh store on a
// free port of 127.0.0.1, for one round. It runs until the returned stop
// function is called, whatever becomes of ctx, so that the round can still
// read its stats after an interrupt.
func startInProcess(ctx context.Context) (string, func() error, error) {
	return startServer(ctx, store.New())
}

// startDurable is startInProcess over a durable store in a fresh data
// directory under parent, removed when the server stops.
func startDurable(ctx context.Context, parent string, mode wal.SyncMode) (string, func() error, error) {
	dir, err := os.MkdirTemp(parent, "montool-bench-")
	if err != nil {
		return "", nil, err
	}
	ds := durable.New(durable.Options{Dir: dir, Sync: mode, SyncInterval: time.Second})
	if err := ds.Load(ctx); err != nil {
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
// 127.0.0.1; see startInProcess.
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

// writeBenchReport prints what was measured as plain aligned tables that
// can be pasted into a README as they are.
func writeBenchReport(w io.Writer, opts *benchOptions, floor *loadgen.Floor, results []*loadgen.Result, interrupted bool) {
	cfg := opts.Load
	fmt.Fprintf(w, "montool bench: %s\n", describeLoad(cfg, opts.Rounds))
	if opts.InProcess {
		fmt.Fprintln(w, "montool: in-process, a fresh server and store for each round, on 127.0.0.1")
	} else {
		fmt.Fprintf(w, "montool: %s\n", opts.Server)
	}
	if floor != nil {
		fmt.Fprintf(w, "floor:   bare net/http server on 127.0.0.1 that %s\n", floor.Mode())
	}
	fmt.Fprintf(w, "machine: %d CPUs, GOMAXPROCS %d, %s %s/%s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if len(results) == 0 {
		fmt.Fprintln(w, "\nnothing was measured: interrupted before the first round")
		return
	}

	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUND\tTARGET\tEVENTS\tREQUESTS\tSECONDS\tEVENTS/S\tREQUESTS/S\tCPU/EVENT\tSTOPPED BY")
	for _, r := range results {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.3f\t%s\t%s\t%s\t%s\n", r.Round, r.Target, commas(r.Events), commas(r.OK),
			r.Elapsed.Seconds(), rate(r.EventsPerSecond()), rate(r.RequestsPerSecond()), cpuPerEvent(r), r.StoppedBy)
	}
	tw.Flush()

	fmt.Fprintln(w)
	fmt.Fprintln(tw, "ROUND\tTARGET\tP50\tP90\tP99\tMAX\tSTATUS\tFAILED\tACCEPTED\tDUPLICATES\tREJECTED")
	for _, r := range results {
		h := r.Latency
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Round, r.Target,
			latency(h.Quantile(0.5)), latency(h.Quantile(0.9)), latency(h.Quantile(0.99)), latency(h.Max()),
			statuses(r.Statuses), commas(r.Failed()), commas(r.Answers.Accepted), commas(r.Answers.Duplicates), commas(r.Answers.Rejected))
	}
	tw.Flush()
	if cfg.Duplicates > 0 {
		fmt.Fprintln(w, "(ACCEPTED, DUPLICATES and REJECTED are events, as the answers count them; the floor counts none as duplicates)")
	}

	if cfg.Rate > 0 {
		writeRate(w, tw, cfg, results)
	}
	if cfg.Preload > 0 {
		writePreload(w, tw, cfg, results)
	}
	writeMemory(w, tw, opts, results)
	writeBodies(w, cfg, results)
	writeMedians(w, tw, results)

	fmt.Fprintln(w)
	fmt.Fprintln(w, "CPU/EVENT is the processor time of this whole process per event: the load generator, and the server when it runs in-process or is the floor.")
	for _, r := range results {
		if r.Failed() > 0 || r.Interrupted > 0 {
			fmt.Fprintf(w, "round %d %s: %s requests failed (%s events), %s cut short by the interrupt; first failure: %s\n",
				r.Round, r.Target, commas(r.Failed()), commas(r.FailedEvents), commas(r.Interrupted), orNone(r.FirstFailure))
		}
	}
	if interrupted {
		fmt.Fprintln(w, "interrupted: the figures are of what ran before Ctrl-C; rounds cut short say \"interrupted\" under STOPPED BY")
	}
}

// describeLoad says in one line what load each round sends.
func describeLoad(cfg loadgen.Config, rounds int) string {
	var b strings.Builder
	cum := int(math.Round(float64(cfg.Keys) * cfg.Cumulative))
	fmt.Fprintf(&b, "%d clients × %d keys (%d CUMULATIVE, %.0f%% of the events), batch %d, %s",
		cfg.Clients, cfg.Keys, cum, 100*float64(cum)/float64(cfg.Keys), cfg.Batch, cfg.Format)
	if cfg.Gzip {
		b.WriteString(" gzip")
	}
	fmt.Fprintf(&b, ", %d connections, ", cfg.Connections)
	switch {
	case cfg.Events > 0 && cfg.Duration > 0:
		fmt.Fprintf(&b, "%s events or %s", commas(cfg.Events), cfg.Duration)
	case cfg.Events > 0:
		fmt.Fprintf(&b, "%s events", commas(cfg.Events))
	default:
		b.WriteString(cfg.Duration.String())
	}
	fmt.Fprintf(&b, " per round, %d round%s", rounds, plural(rounds))
	if cfg.Duplicates > 0 {
		fmt.Fprintf(&b, ", %g%% duplicates", 100*cfg.Duplicates)
	}
	if cfg.Rate > 0 {
		fmt.Fprintf(&b, ", %s requests/s offered", offered(cfg.Rate))
	}
	if cfg.Preload > 0 {
		fmt.Fprintf(&b, ", %s events preloaded", commas(cfg.Preload))
	}
	return b.String()
}

// writeMemory prints the montool server's memory before and after each
// round.
func writeMemory(w io.Writer, tw *tabwriter.Writer, opts *benchOptions, results []*loadgen.Result) {
	fmt.Fprintln(w)
	where := ""
	if opts.InProcess {
		where = "; in-process the figures are of the whole process, read when the load generator holds no bodies"
	}
	fmt.Fprintf(w, "memory of montool, from GET /api/v1/stats?gc=true before and after each round%s\n", where)
	fmt.Fprintln(tw, "ROUND\tSTORED\tRSS BEFORE\tRSS AFTER\tHEAP BEFORE\tHEAP AFTER\tRSS/EVENT\tHEAP/EVENT")
	for _, r := range results {
		if r.Target != "montool" {
			continue
		}
		stored, ok := r.Stored()
		if !ok {
			fmt.Fprintf(tw, "%d\t-\t-\t-\t-\t-\t-\t-\t(%s)\n", r.Round, orNone(r.StatsError))
			continue
		}
		b, a := r.MemBefore.Memory, r.MemAfter.Memory
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Round, commas(stored),
			mib(b.RSSBytes), mib(a.RSSBytes), mib(b.HeapAllocBytes), mib(a.HeapAllocBytes),
			perEvent(a.RSSBytes, b.RSSBytes, stored), perEvent(a.HeapAllocBytes, b.HeapAllocBytes, stored))
	}
	tw.Flush()
}

// writeBodies says in one line how the bodies were made and what readying
// them cost, and warns when that held the load back.
func writeBodies(w io.Writer, cfg loadgen.Config, results []*loadgen.Result) {
	fmt.Fprintln(w)
	var patched, preEvents, preBytes int64
	var patchTime, made time.Duration
	worst := results[0]
	for _, r := range results {
		b := r.Bodies
		patched += b.Patched
		patchTime += b.PatchTime
		made = max(made, b.MakeTime)
		preEvents, preBytes = max(preEvents, b.PreEvents), max(preBytes, b.PreBytes)
		if r.WaitFraction() > worst.WaitFraction() {
			worst = r
		}
	}
	if results[0].Bodies.Pregenerated {
		fmt.Fprintf(w, "request bodies: all made and compressed before the clock started, as gzip bodies cannot be patched: up to %s events (%s) a round, in %s at most\n",
			commas(preEvents), mib(uint64(preBytes)), latency(made))
	} else {
		cost := "no template was used twice, so none was patched"
		if patched > 0 {
			cost = strconv.FormatFloat(float64(patchTime)/float64(patched), 'f', 1, 64) + " ns per event, timed in the rounds"
		}
		fmt.Fprintf(w, "request bodies: %d templates of %s event%s made before the clock started (in %s at most), their event ids, client ids and timestamps patched in place by the senders: %s\n",
			results[0].Bodies.Templates, commas(int64(cfg.Batch)), plural(cfg.Batch), latency(made), cost)
	}
	if f := worst.WaitFraction(); f > 0.01 {
		fmt.Fprintf(w, "WARNING: the load generator held the load back: in round %d against %s the senders spent %.1f%% of their time waiting for a template still held by an earlier request, so the figures understate the server\n",
			worst.Round, worst.Target, 100*f)
	}
	for _, r := range results {
		if r.StoppedBy == "bodies" {
			fmt.Fprintf(w, "WARNING: round %d against %s ran out of bodies after %s: with --gzip every body is made before the clock, up to %s; lower --events or --duration to stay within it\n",
				r.Round, r.Target, r.Elapsed.Round(time.Millisecond), mib(uint64(cfg.PregenerateBytes)))
		}
	}
}

// writeRate prints the offered load and what was achieved of it.
func writeRate(w io.Writer, tw *tabwriter.Writer, cfg loadgen.Config, results []*loadgen.Result) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "offered load: %s requests/s on a fixed schedule (open loop); LATE counts requests sent more than %s after they were due, TAKEN LATE those of them no sender was ready for in time\n",
		offered(cfg.Rate), loadgen.LateAfter)
	fmt.Fprintln(tw, "ROUND\tTARGET\tOFFERED\tACHIEVED\tLATE\tTAKEN LATE\tMOST LATE")
	for _, r := range results {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Round, r.Target, offered(r.Rate), rate(r.RequestsPerSecond()),
			commas(r.Late), commas(r.LateTaken), latency(r.MaxLate))
	}
	tw.Flush()
	taken, late := results[0], results[0] // the rounds with the largest shares
	share := func(n int64, r *loadgen.Result) float64 { return float64(n) / float64(max(r.Requests, 1)) }
	for _, r := range results {
		if share(r.LateTaken, r) > share(taken.LateTaken, taken) {
			taken = r
		}
		if share(r.Late-r.LateTaken, r) > share(late.Late-late.LateTaken, late) {
			late = r
		}
	}
	if f := share(taken.LateTaken, taken); f > 0.01 {
		fmt.Fprintf(w, "WARNING: up to %.1f%% of the requests of a round (round %d against %s) found no sender ready when due: they went out late, and that wait is not in their latency; raise --connections or lower --rate\n",
			100*f, taken.Round, taken.Target)
	}
	if f := share(late.Late-late.LateTaken, late); f > 0.01 {
		fmt.Fprintf(w, "note: up to %.1f%% of the requests of a round (round %d against %s) went out late although a sender was free: Go's timers sleep in steps of a millisecond, and a busy machine runs a woken sender later still; the load kept to the schedule on the whole (ACHIEVED)\n",
			100*f, late.Round, late.Target)
	}
}

// writePreload prints what the preload of each round took.
func writePreload(w io.Writer, tw *tabwriter.Writer, cfg loadgen.Config, results []*loadgen.Result) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "preload: %s events before the clock of each round, in batches of 1,000, not timed; the floor has no store and is not preloaded\n", commas(cfg.Preload))
	fmt.Fprintln(tw, "ROUND\tTARGET\tPRELOADED\tSECONDS\tEVENTS/S")
	for _, r := range results {
		if r.Preloaded == 0 && r.PreloadTime == 0 {
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.3f\t%s\n", r.Round, r.Target, commas(r.Preloaded), r.PreloadTime.Seconds(),
			rate(float64(r.Preloaded)/r.PreloadTime.Seconds()))
	}
	tw.Flush()
}

// writeMedians prints the medians of each target's rounds and the ratios
// montool/floor and durable/montool of those measured.
func writeMedians(w io.Writer, tw *tabwriter.Writer, results []*loadgen.Result) {
	sums := loadgen.Summarize(results)
	fmt.Fprintln(w)
	rounds := slices.MaxFunc(sums, func(a, b loadgen.Summary) int { return a.Rounds - b.Rounds }).Rounds
	fmt.Fprintf(w, "medians of %d round%s\n", rounds, plural(rounds))
	fmt.Fprintln(tw, "TARGET\tEVENTS/S\tREQUESTS/S\tP50\tP99\tCPU/EVENT")
	by := map[string]*loadgen.Summary{}
	for i, s := range sums {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Target, rate(s.EventsPerSecond), rate(s.RequestsPerSecond), latency(s.P50), latency(s.P99), micros(s.CPUPerEvent))
		by[s.Target] = &sums[i]
	}
	for _, pair := range [][2]string{{"montool", "floor"}, {"durable", "montool"}} {
		a, b := by[pair[0]], by[pair[1]]
		if a == nil || b == nil {
			continue
		}
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\t%s\n", pair[0], pair[1], ratio(a.EventsPerSecond, b.EventsPerSecond), ratio(a.RequestsPerSecond, b.RequestsPerSecond),
			ratio(float64(a.P50), float64(b.P50)), ratio(float64(a.P99), float64(b.P99)), ratio(float64(a.CPUPerEvent), float64(b.CPUPerEvent)))
	}
	tw.Flush()
}

// commas writes n with a comma between groups of three digits.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// rate writes a rate per second: whole and grouped from 1,000 on, else
// with one decimal.
func rate(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "-"
	}
	if r >= 1000 {
		return commas(int64(math.Round(r)))
	}
	return strconv.FormatFloat(r, 'f', 1, 64)
}

// offered writes a rate as it was asked for: whole and grouped when it is
// whole, else as it is.
func offered(r float64) string {
	if r == math.Trunc(r) {
		return commas(int64(r))
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// ratio writes a/b with two decimals, or - when b is 0.
func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64)
}

// latency writes d with three significant digits.
func latency(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Microsecond:
		return d.String()
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e3, 'f', sigDecimals(float64(d)/1e3), 64) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/1e6, 'f', sigDecimals(float64(d)/1e6), 64) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', sigDecimals(d.Seconds()), 64) + "s"
}

// sigDecimals returns the decimals that show v (at least 1) with three
// significant digits.
func sigDecimals(v float64) int {
	switch {
	case v >= 100:
		return 0
	case v >= 10:
		return 1
	}
	return 2
}

// micros writes a processor time per event in microseconds.
func micros(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(d)/1e3, 'f', 2, 64) + "µs"
}

func cpuPerEvent(r *loadgen.Result) string { return micros(r.CPUPerEvent()) }

// mib writes a size in MiB.
func mib(n uint64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB" }

// perEvent writes the growth from before to after per stored event, in
// bytes.
func perEvent(after, before uint64, stored int64) string {
	if stored <= 0 {
		return "-"
	}
	return strconv.FormatFloat((float64(after)-float64(before))/float64(stored), 'f', 0, 64) + " B"
}

// statuses writes the counts of the answers by status, such as "202×3012".
func statuses(counts map[int]int64) string {
	if len(counts) == 0 {
		return "-"
	}
	codes := make([]int, 0, len(counts))
	for c := range counts {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = strconv.Itoa(c) + "×" + strconv.FormatInt(counts[c], 10)
	}
	return strings.Join(parts, " ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
