package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/montool/montool/internal/termtext"
)

// clientsOptions holds what `montool clients` runs with.
type clientsOptions struct {
	clientOptions
	// Output is "table" or "json".
	Output string
	Out    io.Writer
}

func newClientsCmd(root *rootOptions, runF func(context.Context, *clientsOptions) error) *cobra.Command {
	opts := &clientsOptions{Output: "table"}
	cmd := &cobra.Command{
		Use:   "clients",
		Short: "List the clients a server holds, with their event counts",
		Long: `List the clients the server at --server holds (those its token may read),
with the number of events each holds: a table for people, or with -o json
the API's answer.`,
		Example: `  montool clients
  montool clients -o json --server http://monitor.example.com:8080 --token mt_...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Output != "json" && opts.Output != "table" {
				return fmt.Errorf("-o %q: must be table or json", opts.Output)
			}
			var err error
			if opts.clientOptions, err = root.clientOptions(); err != nil {
				return err
			}
			opts.Out = cmd.OutOrStdout()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runClients(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", opts.Output, "output format: table or json")
	return cmd
}

func runClients(ctx context.Context, opts *clientsOptions) error {
	c, err := opts.client(0)
	if err != nil {
		return err
	}
	clients, err := c.Clients(ctx)
	if err != nil {
		return c.ReachError(err)
	}
	if opts.Output == "json" {
		enc := json.NewEncoder(opts.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"clients": clients})
	}
	tw := tabwriter.NewWriter(opts.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tEVENTS")
	var total int64
	for _, ci := range clients {
		fmt.Fprintf(tw, "%s\t%d\n", termtext.Printable(ci.ClientID), ci.Events)
		total += ci.Events
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(opts.Out, "%s, %s\n", counted(int64(len(clients)), "client"), counted(total, "event"))
	return err
}

// counted says n things: "1 client", "2 clients".
func counted(n int64, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.FormatInt(n, 10) + " " + thing + "s"
}
