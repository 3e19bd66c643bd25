package cmd

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/montool/montool/internal/client"
	"github.com/montool/montool/internal/event"
)

// dumpOptions holds what `montool dump` runs with.
type dumpOptions struct {
	Server   string
	Token    string
	TLS      *tls.Config // nil for the defaults
	ClientID string
	// Output is "json", "table", "ndjson" or "csv".
	Output string
	// Keys, From, To and Limit narrow the dump, as the endpoint's query
	// parameters do; empty or 0 for all.
	Keys     []string
	From, To string
	Limit    int
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

--key (repeated) keeps some keys; --from and --to (timestamps as events
take them: Unix seconds, milliseconds, ...) keep the TIME-SERIES events in
a range, both ends included; --limit N keeps the latest N of each key.
CUMULATIVE keys keep their totals.`,
		Example: `  montool dump 3f1c9d1e-7d4b-4c8a-9a53-0a0e1b7c2d11
  montool dump 3f1c9d1e-7d4b-4c8a-9a53-0a0e1b7c2d11 -o table
  montool dump web-01 --key cpu_usage_percent --limit 10
  montool dump web-01 --from 1763850000 --to 1763853600 -o csv > web-01.csv`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("dump takes exactly one argument, the client id; got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(dumpOutputs, opts.Output) {
				return fmt.Errorf("-o %q: must be json, table, ndjson or csv", opts.Output)
			}
			if opts.Limit < 0 {
				return fmt.Errorf("--limit must not be negative, not %d", opts.Limit)
			}
			tlsCfg, err := root.tlsConfig()
			if err != nil {
				return err
			}
			opts.Server, opts.Token, opts.TLS, opts.ClientID, opts.Out = root.Server, root.Token, tlsCfg, args[0], cmd.OutOrStdout()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runDump(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&opts.Output, "output", "o", "json", "output format: json, table, ndjson or csv")
	fs.StringArrayVar(&opts.Keys, "key", nil, "keep this key; repeat for more (default: every key)")
	fs.StringVar(&opts.From, "from", "", "keep the TIME-SERIES events from this timestamp on (Unix seconds, ms, ...)")
	fs.StringVar(&opts.To, "to", "", "keep the TIME-SERIES events up to this timestamp")
	fs.IntVar(&opts.Limit, "limit", 0, "keep the latest N TIME-SERIES events of each key (0: all)")
	return cmd
}

func runDump(ctx context.Context, opts *dumpOptions) error {
	c, err := client.New(opts.Server, httpClient(opts.TLS))
	if err != nil {
		return err
	}
	c.SetToken(opts.Token)
	query := url.Values{}
	for _, k := range opts.Keys {
		query.Add("key", k)
	}
	for name, v := range map[string]string{"from": opts.From, "to": opts.To} {
		if v != "" {
			query.Set(name, v)
		}
	}
	if opts.Limit > 0 {
		query.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Output == "ndjson" || opts.Output == "csv" {
		query.Set("format", opts.Output)
	}
	raw, err := c.DumpQuery(ctx, opts.ClientID, query)
	if err != nil {
		var apiErr *client.Error
		if !errors.As(err, &apiErr) {
			return fmt.Errorf("cannot reach the montool server at %s: %w", c.URL(), err)
		}
		return err
	}
	if opts.Output == "ndjson" || opts.Output == "csv" {
		_, err := opts.Out.Write(raw)
		return err
	}
	if opts.Output == "json" {
		var buf bytes.Buffer
		if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
			return fmt.Errorf("the server's answer is not JSON: %w", err)
		}
		buf.WriteByte('\n')
		_, err := buf.WriteTo(opts.Out)
		return err
	}
	var d event.Dump
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("read the dump of client %q: %w", opts.ClientID, err)
	}
	return writeTable(opts.Out, &d)
}

// writeTable writes one row per key: its type, its count, and its total or
// its last, min and max values.
func writeTable(w io.Writer, d *event.Dump) error {
	fmt.Fprintf(w, "client %s\n\n", d.ClientID)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tTYPE\tCOUNT\tTOTAL\tLAST\tMIN\tMAX\tLATEST")
	for _, s := range d.Series {
		switch s.Type {
		case event.Cumulative:
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t-\t-\t-\t%s\n", s.Key, s.Type, s.Count, number(s.Total), when(s.Last))
		case event.TimeSeries:
			if len(s.Samples) == 0 {
				fmt.Fprintf(tw, "%s\t%s\t0\t-\t-\t-\t-\t-\n", s.Key, s.Type)
				continue
			}
			last := s.Samples[len(s.Samples)-1]
			lo, hi := last.Value, last.Value
			for _, smp := range s.Samples {
				lo, hi = min(lo, smp.Value), max(hi, smp.Value)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t-\t%s\t%s\t%s\t%s\n", s.Key, s.Type, len(s.Samples), number(last.Value), number(lo), number(hi), when(last.Timestamp))
		}
	}
	return tw.Flush()
}

func number(f float64) string { return string(event.AppendFloat(nil, f)) }

func when(ts event.Timestamp) string { return ts.Time().Format(time.RFC3339) }
