package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/montool/montool/internal/dumpformat"
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
	return dumpformat.WriteClients(opts.Out, clients)
}
