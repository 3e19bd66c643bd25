package cmd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/montool/montool/internal/agent"
	"github.com/montool/montool/internal/apiclient"
)

// agentsOptions holds what `montool agents` runs with.
type agentsOptions struct {
	Server string
	Token  string
	TLS    *tls.Config // nil for the defaults
	Agents agent.Config
	// Progress turns on the live progress line on ErrOut.
	Progress bool
	Out      io.Writer
	ErrOut   io.Writer
}

func newAgentsCmd(root *rootOptions, runF func(context.Context, *agentsOptions) error) *cobra.Command {
	opts := &agentsOptions{Agents: agent.DefaultConfig()}
	var gzip autoBool
	var identities string
	cmd := &cobra.Command{
		Use:   "agents",
		Short: "Run simulated agents that send random events to the server",
		Long: `Run simulated agents, each in its own goroutine with its own client id (a
UUID), each making random events at --rate events per second until --duration
ends, or until Ctrl-C when it is 0.

With --batch 1 (the default) each event is sent on its own as soon as it is
made. With --batch N each agent sends its events N at a time in one request,
gzip-compressed unless --gzip=false; a batch that is not full is sent when its
first event has waited 1s, and when the agents stop.

A send that fails (network error, 5xx, 429) is retried with backoff and jitter
with the SAME events and event ids, so a retry can never count twice. The key
set is the config file's "keys" list, else a default set of gauges and
counters.`,
		Example: `  montool agents
  montool agents --count 20 --rate 10 --duration 30s
  montool agents --rate 200 --batch 50
  montool agents --server http://monitor.example.com:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, err := keySpecs(root.Config)
			if err != nil {
				return err
			}
			tlsCfg, err := root.tlsConfig()
			if err != nil {
				return err
			}
			opts.Server, opts.Token, opts.TLS = root.Server, root.Token, tlsCfg
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
			opts.Agents.Gzip = gzip.or(opts.Agents.Batch > 1)
			opts.Out, opts.ErrOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			opts.Progress = isTerminal(opts.ErrOut)
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
	bindConfig(fs, "agents")
	return cmd
}

// autoBool is the value of a flag that is true, false, or auto: left for
// the command to decide.
type autoBool struct {
	set bool // the value is true or false, not auto
	on  bool
}

// String returns "true", "false" or "auto".
func (b *autoBool) String() string {
	if !b.set {
		return "auto"
	}
	return strconv.FormatBool(b.on)
}

// Set takes any form strconv.ParseBool takes, or "auto".
func (b *autoBool) Set(s string) error {
	if strings.EqualFold(s, "auto") {
		*b = autoBool{}
		return nil
	}
	on, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("must be true, false or auto")
	}
	*b = autoBool{set: true, on: on}
	return nil
}

// Takes says what the value may be.
func (b *autoBool) Takes() string { return "true, false or auto" }

// Type names the value as a bool, so that help shows the flag as a switch.
func (b *autoBool) Type() string { return "bool" }

// or returns the value of b, or dflt when b is auto.
func (b *autoBool) or(dflt bool) bool {
	if !b.set {
		return dflt
	}
	return b.on
}

func runAgents(ctx context.Context, opts *agentsOptions) error {
	if err := opts.Agents.Validate(); err != nil {
		return err
	}
	c, err := newAPIClient(opts.Server, opts.Token, apiclient.HTTPClient(opts.TLS, opts.Agents.Count))
	if err != nil {
		return err
	}
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = c.Health(hctx)
	cancel()
	if err != nil {
		var apiErr *apiclient.Error
		if errors.As(err, &apiErr) {
			return fmt.Errorf("cannot reach the montool server at %s: %w", c.URL(), err)
		}
		return c.ReachError(err)
	}

	fleet, err := agent.NewFleet(opts.Agents, c)
	if err != nil {
		return err
	}
	for i, a := range fleet.Agents() {
		fmt.Fprintf(opts.Out, "agent %d started: client_id %s\n", i+1, printable(a.ClientID()))
	}

	start := time.Now()
	stopProgress := func() {}
	if opts.Progress {
		stopProgress = showProgress(opts.ErrOut, fleet, start)
	}
	err = fleet.Run(ctx)
	stopProgress()
	printSummary(opts.Out, fleet, time.Since(start))
	if err != nil {
		return err
	}
	return noneAccepted(fleet)
}

// noneAccepted returns an error when an agent sent events and had none of
// them accepted (nor found already held), with the first reason given.
func noneAccepted(fleet *agent.Fleet) error {
	var idle []int
	var reason string
	for i, a := range fleet.Agents() {
		s := a.Stats()
		if s.Sent == 0 || s.Accepted+s.Duplicates > 0 {
			continue
		}
		idle = append(idle, i+1)
		if r := a.Rejections(); reason == "" && len(r) > 0 {
			reason = r[0].Code + ": " + r[0].Message
		}
	}
	if len(idle) == 0 {
		return nil
	}
	if reason == "" {
		reason = "see the errors above"
	}
	if len(idle) == 1 {
		return fmt.Errorf("agent %d had none of its events accepted (%s)", idle[0], reason)
	}
	return fmt.Errorf("%d agents had none of their events accepted (%s)", len(idle), reason)
}

// showProgress rewrites one status line on w twice a second until the
// returned function is called; that function clears the line.
func showProgress(w io.Writer, fleet *agent.Fleet, start time.Time) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		ticker := time.NewTicker(500 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-ticker.C:
				t := total(fleet)
				elapsed := time.Since(start)
				fmt.Fprintf(w, "\r\033[K%s  sent %d  accepted %d  duplicates %d  rejected %d  errors %d  retries %d  (%.1f events/s)%s",
					elapsed.Truncate(time.Second), t.Sent, t.Accepted, t.Duplicates, t.Rejected, t.Errors, t.Retries,
					float64(t.Sent)/elapsed.Seconds(), failing(fleet))
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// failing says, for the progress line, since when the fleet's sends have
// got no answer, when they have not: the server unreachable, or answering
// with a status that is retried; "" while sends get answers.
func failing(fleet *agent.Fleet) string {
	var since time.Time
	var last error
	for _, a := range fleet.Agents() {
		if t, err := a.Failing(); !t.IsZero() && (since.IsZero() || t.Before(since)) {
			since, last = t, err
		}
	}
	if since.IsZero() {
		return ""
	}
	d := time.Since(since).Truncate(time.Second)
	var apiErr *apiclient.Error
	if errors.As(last, &apiErr) {
		return fmt.Sprintf("  server answering %d %s for %s, retrying", apiErr.Status, http.StatusText(apiErr.Status), d)
	}
	return fmt.Sprintf("  server unreachable for %s, retrying", d)
}

// total adds up the stats of every agent of the fleet.
func total(fleet *agent.Fleet) agent.Stats {
	var t agent.Stats
	for _, a := range fleet.Agents() {
		s := a.Stats()
		t.Sent += s.Sent
		t.Accepted += s.Accepted
		t.Duplicates += s.Duplicates
		t.Rejected += s.Rejected
		t.Errors += s.Errors
		t.Retries += s.Retries
	}
	return t
}

// printSummary writes a table of what became of each agent's events.
func printSummary(w io.Writer, fleet *agent.Fleet, elapsed time.Duration) {
	fmt.Fprintf(w, "\nran %s\n", elapsed.Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tCLIENT_ID\tSENT\tACCEPTED\tDUPLICATES\tREJECTED\tERRORS\tRETRIES")
	row := func(name string, s agent.Stats) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", name, printable(s.ClientID), s.Sent, s.Accepted, s.Duplicates, s.Rejected, s.Errors, s.Retries)
	}
	for i, a := range fleet.Agents() {
		row(fmt.Sprint(i+1), a.Stats())
	}
	row("total", total(fleet))
	tw.Flush()
	for _, r := range rejections(fleet) {
		fmt.Fprintf(w, "rejected (%s): %s\n", printable(r.Code), printable(r.Message))
	}
}

// rejections returns the kinds of rejection the fleet's events met, each
// with the first message of the first agent that met it.
func rejections(fleet *agent.Fleet) []agent.Rejection {
	var all []agent.Rejection
	for _, a := range fleet.Agents() {
		for _, r := range a.Rejections() {
			if !slices.ContainsFunc(all, func(o agent.Rejection) bool { return o.Code == r.Code }) {
				all = append(all, r)
			}
		}
	}
	return all
}

// readIdentities reads a file of agents, one a line: a client id, then a
// token or nothing (the fleet's token, --token). Blank lines and lines
// starting with # are left out.
func readIdentities(file string) ([]agent.Identity, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--identities: %w", err)
	}
	var ids []agent.Identity
	for n, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) > 2 {
			return nil, fmt.Errorf("--identities %s:%d: want a client id and a token, found %d fields", file, n+1, len(fields))
		}
		id := agent.Identity{ClientID: fields[0]}
		if len(fields) == 2 {
			id.Token = fields[1]
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("--identities %s: no agent in it", file)
	}
	return ids, nil
}
