package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/montool/montool/internal/loadgen"
	"github.com/montool/montool/internal/termtext"
	"github.com/montool/montool/internal/wal"
)

// benchOptions holds what `montool bench` runs with: the rounds to run,
// and Fsync, the --fsync that Bench.Sync is read from.
type benchOptions struct {
	loadgen.Bench
	Fsync string
	Out   io.Writer
	// Progress is where the live progress line is rewritten: standard
	// error on a terminal, else nil for none.
	Progress io.Writer
}

func newBenchCmd(root *rootOptions, runF func(context.Context, *benchOptions) error) *cobra.Command {
	opts := &benchOptions{Bench: loadgen.Bench{Load: loadgen.DefaultConfig(), Rounds: 3}}
	var format string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load a montool server as hard as possible and measure it",
		Long: `Send events to a montool server on this machine as fast as it takes them,
or at a set --rate, from --connections senders each with its own keep-alive
connection, and print what was measured: events and requests per second,
latency percentiles, the status of the answers, and the server's memory
before and after. The README's "Load testing with montool bench" says how.`,
		Example: `  montool bench --in-process --compare-floor
  montool bench --in-process --compare-floor --batch 1 --connections 32
  montool bench --in-process --batch 1 --rate 20600
  montool bench --in-process --preload 10000000 --rounds 1
  montool bench --server http://127.0.0.1:8080 --duration 30s --rounds 1
  montool bench --in-process --events 1000000 --duplicates 0.1 --format ndjson --gzip`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.resolve(cmd.Flags(), format); err != nil {
				return err
			}
			opts.Server, opts.Load.Token = root.Server, root.Token
			opts.Out = cmd.OutOrStdout()
			if errOut := cmd.ErrOrStderr(); termtext.IsTerminal(errOut) {
				opts.Progress = errOut
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runBench(cmd.Context(), opts)
		},
	}
	addBenchFlags(cmd.Flags(), opts, &format)
	return cmd
}

// addBenchFlags defines the flags of bench on fs, over opts and format.
func addBenchFlags(fs *pflag.FlagSet, opts *benchOptions, format *string) {
	fs.BoolVar(&opts.InProcess, "in-process", false, "start a fresh montool server in this process for each round, on a free port of 127.0.0.1, instead of driving --server")
	fs.IntVar(&opts.Load.Clients, "clients", opts.Load.Clients, "number of client ids the events are spread over")
	fs.IntVar(&opts.Load.Keys, "keys", opts.Load.Keys, "number of keys of each client")
	fs.IntVar(&opts.Load.Batch, "batch", opts.Load.Batch, "events per request; 1 posts each event as a single JSON object")
	fs.IntVar(&opts.Load.Connections, "connections", 0, "concurrent keep-alive connections, one sender and one request in flight each (default 4 with batches: a batch keeps a server core busy for milliseconds, so a few in flight saturate a small machine and more only queue; 32 with --batch 1: a single event costs the server less than a round trip, so it takes many in flight)")
	fs.Float64Var(&opts.Load.Cumulative, "cumulative", opts.Load.Cumulative, "fraction of each client's keys (and so of the events) that are CUMULATIVE; the others are TIME-SERIES")
	fs.DurationVar(&opts.Load.Duration, "duration", opts.Load.Duration, "how long each round runs at most; 0 for no limit in time (then --events is needed)")
	fs.Int64Var(&opts.Load.Events, "events", opts.Load.Events, "stop each round after this many events, or at --duration if that comes first; 0 for no limit in count")
	fs.Float64Var(&opts.Load.Duplicates, "duplicates", opts.Load.Duplicates, "fraction of the events that repeat an earlier event exactly, in [0, 1)")
	fs.StringVar(format, "format", string(opts.Load.Format), "body format: json (an array of events, or one object with --batch 1) or ndjson (one event per line)")
	fs.BoolVar(&opts.Load.Gzip, "gzip", false, "compress every body with gzip, at the fastest level; all are made before the clock starts, up to 256 MiB")
	fs.Float64Var(&opts.Load.Rate, "rate", 0, "requests per second to offer across all connections, on a fixed schedule (open loop); 0 for as fast as the server answers")
	fs.Int64Var(&opts.Load.Preload, "preload", 0, "events to send before each round's clock starts, so that the round measures ingest into a store that holds them; not timed")
	fs.BoolVar(&opts.Floor, "compare-floor", false, "run the same load against a bare net/http server too, alternating rounds, and print the ratio montool/floor")
	fs.IntVar(&opts.Rounds, "rounds", opts.Rounds, "rounds against each server; the report gives each round and the medians")
	fs.BoolVar(&opts.Durable, "compare-durable", false, "with --in-process, run the same load against a durable server too (serve --data-dir), alternating rounds, and print the ratio durable/montool")
	fs.StringVar(&opts.DataDir, "data-dir", os.TempDir(), "with --compare-durable, where each round's fresh data directory is made (and removed after the round)")
	fs.StringVar(&opts.Fsync, "fsync", "always", "with --compare-durable, the durable server's --fsync: always, interval or never")
}

// resolve checks the flags on fs and fills in what they leave to bench:
// the connections for the batch, and the body format from format.
func (opts *benchOptions) resolve(fs *pflag.FlagSet, format string) error {
	if opts.InProcess && fs.Changed("server") {
		return errors.New("--server and --in-process exclude each other: drive the server at --server, or one started in this process")
	}
	if opts.Durable && !opts.InProcess {
		return errors.New("--compare-durable needs --in-process: it starts durable servers in this process")
	}
	var err error
	if opts.Sync, err = wal.ParseSyncMode(opts.Fsync); err != nil {
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
	return nil
}

func runBench(ctx context.Context, opts *benchOptions) error {
	return opts.Run(ctx, opts.Out, opts.Progress)
}
