package cmd

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/montool/montool/internal/apiclient"
	"github.com/montool/montool/internal/cmdline"
	"github.com/montool/montool/internal/dumpformat"
	"github.com/montool/montool/internal/termtext"
)

// dumpOptions holds what `montool dump` runs with.
type dumpOptions struct {
	clientOptions
	ClientID string
	// Output is "json", "table", "ndjson" or "csv".
	Output string
	// Keys, From, To and Limit narrow the dump, as the endpoint's query
	// parameters do; empty or 0 for all. From and To are as the flags
	// give them (see parseWhen), read again at each fetch, so that a time
	// ago moves on with --watch.
	Keys     []string
	From, To string
	Limit    int
	// Watch fetches and shows the dump again every Interval.
	Watch    bool
	Interval time.Duration
	Out      io.Writer
}

// dumpOutputs are the formats of montool dump.
var dumpOutputs = []string{"json", "table", "ndjson", "csv"}

func newDumpCmd(root *rootOptions, runF func(context.Context, *dumpOptions) error) *cobra.Command {
	opts := &dumpOptions{}
	cmd := &cobra.Command{
		Use:   "dump CLIENT_ID",
		Short: "Print one client's data",
		Long: `Print what the server holds for one client, grouped by key: pretty JSON by
default; with -o table one row per key for people (type, count, and the
total of a CUMULATIVE key or the last, min and max of a TIME-SERIES key);
with -o ndjson an event a line; with -o csv a header and an event a row.

--key (repeated) keeps some keys; --from and --to keep the TIME-SERIES
events in a range, both ends included: each a Unix timestamp (seconds,
milliseconds, ...), RFC 3339 text, or a time ago such as 1h or 30m;
--limit N keeps the latest N of each key.
CUMULATIVE keys keep their totals.`,
		Example: `  montool dump 3f1c9d1e-7d4b-4c8a-9a53-0a0e1b7c2d11
  montool dump 3f1c9d1e-7d4b-4c8a-9a53-0a0e1b7c2d11 -o table
  montool dump web-01 --key cpu_usage_percent --limit 10
  montool dump web-01 --from 1h -o table
  montool dump web-01 --from 1763850000 --to 1763853600 -o csv > web-01.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(dumpOutputs, opts.Output) {
				return fmt.Errorf("-o %q: must be json, table, ndjson or csv", opts.Output)
			}
			if opts.Limit < 0 {
				return fmt.Errorf("--limit must not be negative, not %d", opts.Limit)
			}
			if err := cmdline.CheckTimeRange(opts.From, opts.To, time.Now()); err != nil {
				return err
			}
			if opts.Watch && opts.Interval < 100*time.Millisecond {
				return fmt.Errorf("--interval must be at least 100ms, not %s", opts.Interval)
			}
			var err error
			if opts.clientOptions, err = root.clientOptions(); err != nil {
				return err
			}
			opts.ClientID, opts.Out = args[0], cmd.OutOrStdout()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runDump(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&opts.Output, "output", "o", "json", "output format: json, table, ndjson or csv")
	fs.StringArrayVar(&opts.Keys, "key", nil, "keep this key; repeat for more (default: every key)")
	fs.StringVar(&opts.From, "from", "", "keep the TIME-SERIES events from this time on: Unix seconds, ms, µs or ns, RFC 3339, or a time ago such as 1h")
	fs.StringVar(&opts.To, "to", "", "keep the TIME-SERIES events up to this time, written as for --from")
	fs.IntVar(&opts.Limit, "limit", 0, "keep the latest N TIME-SERIES events of each key (0: all)")
	fs.BoolVar(&opts.Watch, "watch", false, "show the dump again every --interval, in place on a terminal, until Ctrl-C")
	fs.DurationVar(&opts.Interval, "interval", 2*time.Second, "with --watch, how often the dump is fetched")
	return cmd
}

func runDump(ctx context.Context, opts *dumpOptions) error {
	c, err := opts.client(0)
	if err != nil {
		return err
	}
	if !opts.Watch {
		return dumpOnce(ctx, c, opts, opts.Out)
	}
	return termtext.Repeat(ctx, opts.Out, opts.Interval, func(ctx context.Context, w io.Writer) error {
		return dumpOnce(ctx, c, opts, w)
	})
}

// dumpOnce fetches the dump once and writes it to w as opts say.
func dumpOnce(ctx context.Context, c *apiclient.Client, opts *dumpOptions, w io.Writer) error {
	query := url.Values{}
	for _, k := range opts.Keys {
		query.Add("key", k)
	}
	now := time.Now()
	for name, v := range map[string]string{"from": opts.From, "to": opts.To} {
		if v == "" {
			continue
		}
		ts, err := cmdline.ParseWhen(name, v, now)
		if err != nil {
			return err
		}
		query.Set(name, string(ts.AppendJSON(nil)))
	}
	if opts.Limit > 0 {
		query.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Output == "ndjson" || opts.Output == "csv" {
		query.Set("format", opts.Output)
	}
	raw, err := c.DumpQuery(ctx, opts.ClientID, query)
	if err != nil {
		return c.ReachError(err)
	}
	return dumpformat.Rewrite(w, raw, opts.Output)
}
