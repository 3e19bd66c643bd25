package cmd

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
)

var _ server.Store = (*store.Memory)(nil)

// serveOptions holds what `montool serve` runs with.
type serveOptions struct {
	Server server.Config
	Log    *slog.Logger
}

func newServeCmd(root *rootOptions, runF func(context.Context, *serveOptions) error) *cobra.Command {
	opts := &serveOptions{Server: server.DefaultConfig()}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the montool server",
		Long: `Run the montool HTTP server over an in-memory store.

The server stops cleanly on SIGINT or SIGTERM: it stops accepting, lets the
requests in flight finish, and exits 0.`,
		Example: `  montool serve
  montool serve --addr 127.0.0.1:9090
  MONTOOL_SERVE_ADDR=:9090 montool serve`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Log = root.Log
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
	configKey(fs, "max-body-bytes", "serve.max_body_bytes")
	configKey(fs, "max-batch-events", "serve.max_batch_events")
	configKey(fs, "shutdown-timeout", "serve.shutdown_timeout")
	return cmd
}

func runServe(ctx context.Context, opts *serveOptions) error {
	srv, err := server.New(opts.Server, store.New(), opts.Log)
	if err != nil {
		return err
	}
	ln, err := srv.Listen()
	if err != nil {
		return err
	}
	return srv.Run(ctx, ln)
}
