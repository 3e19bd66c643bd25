package cmd

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/montool/montool/internal/agent"
	"github.com/montool/montool/internal/cmdline"
	"github.com/montool/montool/internal/configkey"
	"github.com/montool/montool/internal/termtext"
)

// agentsOptions holds what `montool agents` runs with.
type agentsOptions struct {
	clientOptions
	Agents agent.Config
	Out    io.Writer
	// Progress is where the live progress line is rewritten: standard
	// error on a terminal, else nil for none.
	Progress io.Writer
}

func newAgentsCmd(root *rootOptions, runF func(context.Context, *agentsOptions) error) *cobra.Command {
	opts := &agentsOptions{Agents: agent.DefaultConfig()}
	var gzip cmdline.AutoBool
	var identities string
	cmd := &cobra.Command{
		Use:   "agents",
		Short: "Run simulated agents that send random events to the server",
		Long: `Run simulated agents, each in its own goroutine with its own client id (a
UUID), each sending random events of the key set at --rate events per second
until --duration ends, or until Ctrl-C when it is 0. A failed send is retried
with the same event ids, so a retry can never count twice.`,
		Example: `  montool agents
  montool agents --count 20 --rate 10 --duration 30s
  montool agents --rate 200 --batch 50
  montool agents --server http://monitor.example.com:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.resolve(cmd, root, identities, gzip); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runAgents(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&opts.Agents.Count, "count", opts.Agents.Count, "number of agents")
	fs.StringVar(&opts.Agents.ClientPrefix, "client-prefix", "", "start each agent's client id (a random UUID) with this, such as lab-: for a token granted lab-*")
	fs.StringVar(&identities, "identities", "", "file of one agent a line, its client id and its token (\"web-01 mt_...\"): one agent for each, instead of --count agents with random ids")
	fs.Float64Var(&opts.Agents.Rate, "rate", opts.Agents.Rate, "events per second sent by each agent")
	fs.DurationVar(&opts.Agents.Duration, "duration", opts.Agents.Duration, "how long to run, such as 30s or 5m; 0 runs until Ctrl-C")
	fs.IntVar(&opts.Agents.Batch, "batch", opts.Agents.Batch,
		fmt.Sprintf("events per request, from 1 to %d; a batch that is not full is sent when its first event has waited %s", agent.MaxBatch, opts.Agents.FlushInterval))
	fs.VarPF(&gzip, "gzip", "", "gzip-compress each request: true, false, or auto (on when --batch is more than 1)").NoOptDefVal = "true"
	configkey.Bind(fs, "agents")
	return cmd
}

// resolve fills in what the command line leaves to agents: the server and
// its TLS settings, the key set, the agents of the identities file (a
// --count given must be their number), gzip when it is auto, and where
// the output goes.
func (opts *agentsOptions) resolve(cmd *cobra.Command, root *rootOptions, identities string, gzip cmdline.AutoBool) error {
	keys, err := keySpecs(root.Config)
	if err != nil {
		return err
	}
	if opts.clientOptions, err = root.clientOptions(); err != nil {
		return err
	}
	opts.Agents.Keys = keys
	if identities != "" {
		ids, err := readIdentities(identities)
		if err != nil {
			return err
		}
		if cmd.Flags().Changed("count") && opts.Agents.Count != len(ids) {
			return fmt.Errorf("--count %d, but %s has %d agents: give one or the other", opts.Agents.Count, identities, len(ids))
		}
		opts.Agents.Identities, opts.Agents.Count = ids, len(ids)
	}
	opts.Agents.Gzip = gzip.Or(opts.Agents.Batch > 1)
	opts.Out = cmd.OutOrStdout()
	if errOut := cmd.ErrOrStderr(); termtext.IsTerminal(errOut) {
		opts.Progress = errOut
	}
	return nil
}

func runAgents(ctx context.Context, opts *agentsOptions) error {
	if err := opts.Agents.Validate(); err != nil {
		return err
	}
	c, err := opts.client(opts.Agents.Count)
	if err != nil {
		return err
	}
	if err := c.Reach(ctx); err != nil {
		return err
	}
	fleet, err := agent.NewFleet(opts.Agents, c)
	if err != nil {
		return err
	}
	return fleet.RunReported(ctx, opts.Out, opts.Progress)
}

// readIdentities reads the agents of the file of --identities.
func readIdentities(file string) ([]agent.Identity, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--identities: %w", err)
	}
	ids, err := agent.ParseIdentities(file, data)
	if err != nil {
		return nil, fmt.Errorf("--identities %w", err)
	}
	return ids, nil
}
