package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/montool/montool/internal/apiclient"
	"github.com/montool/montool/internal/termtext"
)

// RunReported runs f as Run does, after it writes on out the client id of
// each agent; meanwhile it rewrites f's progress line on progress (nil for
// none), and then it writes f's summary on out. It returns Run's error,
// else NoneAccepted's.
func (f *Fleet) RunReported(ctx context.Context, out, progress io.Writer) error {
	for i, a := range f.agents {
		if _, err := fmt.Fprintf(out, "agent %d started: client_id %s\n", i+1, termtext.Printable(a.ClientID())); err != nil {
			return err
		}
	}
	start := time.Now()
	stopProgress := func() {}
	if progress != nil {
		stopProgress = f.ShowProgress(progress, start)
	}
	runErr := f.Run(ctx)
	stopProgress()
	if err := f.Summary(time.Since(start)).Write(out); err != nil || runErr != nil {
		return errors.Join(runErr, err)
	}
	return f.NoneAccepted()
}

// Summary is what became of the events of a fleet that ran.
type Summary struct {
	// Elapsed is how long the fleet ran.
	Elapsed time.Duration
	// Agents are the stats of each agent, in the fleet's order.
	Agents []Stats
	// Rejections are the kinds of rejection the agents' events met, each
	// with the first message of the first agent that met it.
	Rejections []Rejection
}

// Summary returns what became of f's events, after f ran for elapsed.
func (f *Fleet) Summary(elapsed time.Duration) Summary {
	s := Summary{Elapsed: elapsed}
	for _, a := range f.agents {
		s.Agents = append(s.Agents, a.Stats())
		for _, r := range a.Rejections() {
			if !slices.ContainsFunc(s.Rejections, func(o Rejection) bool { return o.Code == r.Code }) {
				s.Rejections = append(s.Rejections, r)
			}
		}
	}
	return s
}

// Total adds up the stats of every agent.
func (s Summary) Total() Stats { return total(s.Agents) }

// total adds up stats; its ClientID is "".
func total(stats []Stats) Stats {
	var t Stats
	for _, s := range stats {
		t.Sent += s.Sent
		t.Accepted += s.Accepted
		t.Duplicates += s.Duplicates
		t.Rejected += s.Rejected
		t.Errors += s.Errors
		t.Retries += s.Retries
	}
	return t
}

// Write writes s as a table of what became of each agent's events, with a
// row of their total, then each kind of rejection with its message. Ids,
// codes and messages are escaped as termtext.Printable says.
func (s Summary) Write(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "\nran %s\n", s.Elapsed.Round(time.Millisecond)); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tCLIENT_ID\tSENT\tACCEPTED\tDUPLICATES\tREJECTED\tERRORS\tRETRIES")
	row := func(name string, s Stats) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", name, termtext.Printable(s.ClientID), s.Sent, s.Accepted, s.Duplicates, s.Rejected, s.Errors, s.Retries)
	}
	for i, a := range s.Agents {
		row(strconv.Itoa(i+1), a)
	}
	row("total", s.Total())
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range s.Rejections {
		if _, err := fmt.Fprintf(w, "rejected (%s): %s\n", termtext.Printable(r.Code), termtext.Printable(r.Message)); err != nil {
			return err
		}
	}
	return nil
}

// NoneAccepted returns an error when an agent of f sent events and had
// none of them accepted (nor found already held), with the first reason
// given; nil when every agent that sent had some.
func (f *Fleet) NoneAccepted() error {
	var idle []int
	var reason string
	for i, a := range f.agents {
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

// Progress is how a running fleet is doing, as its progress line says.
type Progress struct {
	// Elapsed is how long the fleet has run.
	Elapsed time.Duration
	// Total adds up the stats of every agent so far.
	Total Stats
	// Failing reports whether the fleet's sends get no answer they can
	// keep, and FailingFor since how long (the agent failing longest's
	// time). Status is the retried status the server answers them with,
	// or 0 while it is out of reach.
	Failing    bool
	FailingFor time.Duration
	Status     int
}

// Progress returns how f is doing now, having started at start.
func (f *Fleet) Progress(start time.Time) Progress {
	var stats []Stats
	var since time.Time
	var last error
	for _, a := range f.agents {
		stats = append(stats, a.Stats())
		if t, err := a.Failing(); !t.IsZero() && (since.IsZero() || t.Before(since)) {
			since, last = t, err
		}
	}
	p := Progress{Elapsed: time.Since(start), Total: total(stats)}
	if !since.IsZero() {
		p.Failing, p.FailingFor = true, time.Since(since)
		var apiErr *apiclient.Error
		if errors.As(last, &apiErr) {
			p.Status = apiErr.Status
		}
	}
	return p
}

// WriteProgress writes p over the line before, for a terminal: the
// counts, the rate, and while sends fail, that the agents retry.
func WriteProgress(w io.Writer, p Progress) {
	t := p.Total
	fmt.Fprintf(w, "\r\033[K%s  sent %d  accepted %d  duplicates %d  rejected %d  errors %d  retries %d  (%.1f events/s)%s",
		p.Elapsed.Truncate(time.Second), t.Sent, t.Accepted, t.Duplicates, t.Rejected, t.Errors, t.Retries,
		float64(t.Sent)/p.Elapsed.Seconds(), p.failing())
}

// failing says, for the progress line, since when the sends have got no
// answer: the server unreachable, or answering with a status that is
// retried; "" while sends get answers.
func (p Progress) failing() string {
	if !p.Failing {
		return ""
	}
	d := p.FailingFor.Truncate(time.Second)
	if p.Status != 0 {
		return fmt.Sprintf("  server answering %d %s for %s, retrying", p.Status, http.StatusText(p.Status), d)
	}
	return fmt.Sprintf("  server unreachable for %s, retrying", d)
}

// ShowProgress rewrites f's progress line on w twice a second until the
// returned function is called; that function clears the line.
func (f *Fleet) ShowProgress(w io.Writer, start time.Time) (stop func()) {
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
				WriteProgress(w, f.Progress(start))
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
