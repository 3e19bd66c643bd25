package cmd

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	// Output is "json" or "table".
	Output string
	Out    io.Writer
}

func newDumpCmd(root *rootOptions, runF func(context.Context, *dumpOptions) error) *cobra.Command {
	opts := &dumpOptions{}
	cmd := &cobra.Command{
		Use:   "dump CLIENT_ID",
		Short: "Print one client's data",
		Long: `Print everything the server holds for one client, grouped by key: pretty
JSON by default, or with -o table one row per key for people (type, count, and
the total of a CUMULATIVE key or the last, min and max of a TIME-SERIES key).`,
		Example: `  montool dump 3f1c9d1e-7d4b-4c8a-9a53-0a0e1b7c2d11
  montool dump 3f1c9d1e-7d4b-4c8a-9a53-0a0e1b7c2d11 -o table`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("dump takes exactly one argument, the client id; got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Output != "json" && opts.Output != "table" {
				return fmt.Errorf("-o %q: must be json or table", opts.Output)
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
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "json", "output format: json or table")
	return cmd
}

func runDump(ctx context.Context, opts *dumpOptions) error {
	c, err := client.New(opts.Server, httpClient(opts.TLS))
	if err != nil {
		return err
	}
	c.SetToken(opts.Token)
	raw, err := c.DumpRaw(ctx, opts.ClientID)
	if err != nil {
		var apiErr *client.Error
		if !errors.As(err, &apiErr) {
			return fmt.Errorf("cannot reach the montool server at %s: %w", c.URL(), err)
		}
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
