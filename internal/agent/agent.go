// Package agent simulates monitoring agents: each runs in its own goroutine
// with its own client id and makes random events at a steady rate, sending
// them one at a time or in batches and retrying a failed send with the same
// events, so that a retry never counts twice.
package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/montool/montool/internal/apiclient"
	"github.com/montool/montool/internal/event"
)

// Sender delivers events to a montool server.
type Sender interface {
	// SendBatch posts events in one request, encoded as opts says, and
	// returns the server's summary whenever it sent one, with a
	// *apiclient.Error for a status that is not 2xx.
	SendBatch(ctx context.Context, events []event.Event, opts apiclient.SendOptions) (*event.Summary, error)
}

var _ Sender = (*apiclient.Client)(nil)

// MaxBatch is the largest Batch: the most events a default server takes in
// one request.
const MaxBatch = 10000

// Config describes a fleet of simulated agents.
type Config struct {
	// Count is the number of agents.
	Count int
	// ClientPrefix starts every agent's client id, before a random UUID:
	// for a token granted "prefix*".
	ClientPrefix string
	// Identities, when not empty, are the agents: one each, with its own
	// client id and token. Count must then be their number.
	Identities []Identity
	// Rate is how many events each agent makes per second.
	Rate float64
	// Batch is how many events an agent sends in one request: 1 sends each
	// event on its own as soon as it is made.
	Batch int
	// FlushInterval is the longest an event waits for its batch to fill: a
	// batch that is not full is sent when its first event is this old.
	FlushInterval time.Duration
	// Gzip compresses every request body with gzip.
	Gzip bool
	// Duration is how long the agents run; 0 means until the context ends.
	Duration time.Duration
	// Keys are the keys every agent reports.
	Keys []KeySpec
	// MinBackoff and MaxBackoff bound the wait before a retry.
	MinBackoff, MaxBackoff time.Duration
	// AttemptTimeout bounds one attempt to send a batch.
	AttemptTimeout time.Duration
}

// Identity is who one agent is: its client id, and the token it sends
// ("" for the fleet's).
type Identity struct {
	ClientID, Token string
}

// DefaultConfig returns the fleet `montool agents` starts with.
func DefaultConfig() Config {
	return Config{
		Count:          5,
		Rate:           2,
		Batch:          1,
		FlushInterval:  time.Second,
		Keys:           DefaultKeys(),
		MinBackoff:     100 * time.Millisecond,
		MaxBackoff:     5 * time.Second,
		AttemptTimeout: 10 * time.Second,
	}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Count < 1:
		return fmt.Errorf("agent count must be at least 1, not %d", c.Count)
	case !(c.Rate > 0) || c.Rate > 1e6:
		return fmt.Errorf("rate must be more than 0 and at most 1000000 events per second, not %g", c.Rate)
	case c.Batch < 1 || c.Batch > MaxBatch:
		return fmt.Errorf("batch must be from 1 to %d events per request, not %d", MaxBatch, c.Batch)
	case c.FlushInterval <= 0:
		return fmt.Errorf("flush interval must be positive, not %s", c.FlushInterval)
	case c.Duration < 0:
		return fmt.Errorf("duration must not be negative, not %s", c.Duration)
	case len(c.Keys) == 0:
		return errors.New("at least one key is needed")
	case c.MinBackoff <= 0 || c.MaxBackoff < c.MinBackoff || c.MaxBackoff > time.Hour:
		return fmt.Errorf("backoff must be positive with max (%s) no less than min (%s) and at most 1h", c.MaxBackoff, c.MinBackoff)
	case c.AttemptTimeout <= 0:
		return fmt.Errorf("attempt timeout must be positive, not %s", c.AttemptTimeout)
	case len(c.ClientPrefix)+36 > event.MaxIDLen:
		return fmt.Errorf("client prefix must be at most %d bytes, not %d", event.MaxIDLen-36, len(c.ClientPrefix))
	case len(c.Identities) > 0 && len(c.Identities) != c.Count:
		return fmt.Errorf("%d identities for %d agents: give one for each", len(c.Identities), c.Count)
	}
	seenIDs := make(map[string]bool, len(c.Identities))
	for i, id := range c.Identities {
		if err := event.CheckID(event.FieldClientID, id.ClientID); err != nil {
			return fmt.Errorf("identity %d: %w", i+1, err)
		}
		if seenIDs[id.ClientID] {
			return fmt.Errorf("identity %d: client id %q is another agent's too", i+1, id.ClientID)
		}
		seenIDs[id.ClientID] = true
	}
	seen := make(map[string]bool, len(c.Keys))
	for _, k := range c.Keys {
		if err := k.Validate(); err != nil {
			return err
		}
		if seen[k.Name] {
			return fmt.Errorf("key %q is listed twice", k.Name)
		}
		seen[k.Name] = true
	}
	return nil
}

// Stats counts what became of one agent's events.
type Stats struct {
	ClientID string
	// Sent is the number of events the agent made and tried to deliver.
	Sent int64
	// Accepted, Duplicates and Rejected count the events as the server's
	// answers count them.
	Accepted, Duplicates, Rejected int64
	// Errors counts events that got no answer: the agent gave up on their
	// batch when it stopped, or the server refused the request as a whole.
	Errors int64
	// Retries counts attempts after the first, each of a whole batch.
	Retries int64
}

// Agent is one simulated agent.
type Agent struct {
	clientID string
	token    string // sent instead of the fleet's when not empty
	cfg      *Config
	sender   Sender
	rng      *rand.Rand // used by the agent's own goroutine only
	gens     []*generator

	sent, accepted, duplicates, rejected, errs, retries atomic.Int64

	mu         sync.Mutex  // guards lastErr, failingAt and rejections
	lastErr    error       // the latest failure to get an answer
	failingAt  time.Time   // when sends began to get no answer; zero when the last got one
	rejections []Rejection // the first of each code, in the order met
}

// Rejection is a kind of rejection an agent's events met: the server's
// code, such as "invalid" or "forbidden", and the message of the first
// event rejected with it.
type Rejection struct {
	Code, Message string
}

// Rejections returns the kinds of rejection the agent's events met so
// far, each with its first message, in the order they were first met.
func (a *Agent) Rejections() []Rejection {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.rejections)
}

// Failing returns since when the agent's sends have got no answer it can
// keep (a network error, a 5xx or a 429, retried), and the latest such
// error; a zero time when the latest send got one.
func (a *Agent) Failing() (since time.Time, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failingAt.IsZero() {
		return time.Time{}, nil
	}
	return a.failingAt, a.lastErr
}

// answered notes that a send got an answer, with the events it rejected:
// the first reason of each code is kept.
func (a *Agent) answered(errs []event.ItemError) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failingAt = time.Time{}
	for _, e := range errs {
		if !slices.ContainsFunc(a.rejections, func(r Rejection) bool { return r.Code == e.Code }) {
			a.rejections = append(a.rejections, Rejection{Code: e.Code, Message: e.Message})
		}
	}
}

// ClientID returns the agent's client id.
func (a *Agent) ClientID() string { return a.clientID }

// Stats returns the agent's counts so far. It is safe to call while the
// agent runs.
func (a *Agent) Stats() Stats {
	return Stats{
		ClientID:   a.clientID,
		Sent:       a.sent.Load(),
		Accepted:   a.accepted.Load(),
		Duplicates: a.duplicates.Load(),
		Rejected:   a.rejected.Load(),
		Errors:     a.errs.Load(),
		Retries:    a.retries.Load(),
	}
}

// Fleet is a set of agents that run together.
type Fleet struct {
	cfg    Config
	agents []*Agent
}

// NewFleet makes cfg.Count agents, each with a new random client id after
// cfg.ClientPrefix.
func NewFleet(cfg Config, sender Sender) (*Fleet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("agents config: %w", err)
	}
	f := &Fleet{cfg: cfg}
	for i := range cfg.Count {
		rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		a := &Agent{clientID: cfg.ClientPrefix + uuid.NewString(), cfg: &f.cfg, sender: sender, rng: rng}
		if len(cfg.Identities) > 0 {
			a.clientID, a.token = cfg.Identities[i].ClientID, cfg.Identities[i].Token
		}
		for _, k := range cfg.Keys {
			a.gens = append(a.gens, newGenerator(k, rng))
		}
		f.agents = append(f.agents, a)
	}
	return f, nil
}

// Agents returns the fleet's agents.
func (f *Fleet) Agents() []*Agent { return f.agents }

// Run runs every agent in its own goroutine until cfg.Duration has passed
// or ctx ends, and returns when all have stopped. A request in flight at the
// end is finished; a retry waiting at the end is given up; a batch not yet
// sent at the end is sent, with one attempt. Run returns an error when no
// event got an answer from the server at all.
func (f *Fleet) Run(ctx context.Context) error {
	if f.cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.cfg.Duration)
		defer cancel()
	}
	var wg sync.WaitGroup
	for _, a := range f.agents {
		wg.Go(func() { a.run(ctx) })
	}
	wg.Wait()

	var answered, sent int64
	var lastErr error
	for _, a := range f.agents {
		s := a.Stats()
		answered += s.Accepted + s.Duplicates + s.Rejected
		sent += s.Sent
		a.mu.Lock()
		if a.lastErr != nil {
			lastErr = a.lastErr
		}
		a.mu.Unlock()
	}
	if sent > 0 && answered == 0 && lastErr != nil {
		return fmt.Errorf("no event reached the server (none was accepted, rejected or found a duplicate): %w", lastErr)
	}
	return nil
}

// run makes an event every 1/Rate seconds until ctx ends and sends the
// events Batch at a time, or fewer when the first of them has waited
// FlushInterval. When ctx ends it sends the events it still holds. No event
// is made while a batch is being delivered.
func (a *Agent) run(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	ticker := time.NewTicker(time.Duration(float64(time.Second) / a.cfg.Rate))
	defer ticker.Stop()
	flush := time.NewTimer(a.cfg.FlushInterval)
	flush.Stop()
	var batch []event.Event // reused from one batch to the next
	send := func() {
		flush.Stop()
		a.deliver(ctx, batch)
		batch = batch[:0]
	}
	add := func() {
		batch = append(batch, a.next())
		if len(batch) == 1 {
			flush.Reset(a.cfg.FlushInterval)
		}
		if len(batch) == a.cfg.Batch {
			send()
		}
	}
	add()
	for {
		select {
		case <-ctx.Done():
			if len(batch) > 0 {
				send()
			}
			return
		case <-ticker.C:
			if ctx.Err() == nil {
				add()
			}
		case <-flush.C:
			send()
		}
	}
}

// next makes a new event for a random key.
func (a *Agent) next() event.Event {
	g := a.gens[a.rng.IntN(len(a.gens))]
	return event.Event{
		ClientID:  a.clientID,
		ID:        uuid.NewString(),
		Timestamp: event.FromTime(time.Now()),
		Type:      g.spec.Type,
		Key:       g.spec.Name,
		Value:     g.next(a.rng),
	}
}

// deliver sends batch until the server answers, retrying network errors,
// 429s and 5xx with the same events after a backoff with jitter. It gives up
// only when ctx ends; an attempt already in flight then still finishes, and
// with ctx already ended it makes one attempt.
func (a *Agent) deliver(ctx context.Context, batch []event.Event) {
	n := int64(len(batch))
	a.sent.Add(n)
	opts := apiclient.SendOptions{Gzip: a.cfg.Gzip, Token: a.token}
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.AttemptTimeout)
		sum, err := a.sender.SendBatch(actx, batch, opts)
		cancel()
		if sum != nil {
			if answered := int64(sum.Accepted + sum.Duplicates + sum.Rejected); answered > 0 {
				a.answered(sum.Errors)
				a.accepted.Add(int64(sum.Accepted))
				a.duplicates.Add(int64(sum.Duplicates))
				a.rejected.Add(int64(sum.Rejected))
				if answered < n {
					a.fail(n-answered, fmt.Errorf("the server's answer counts %d of the %d events sent", answered, n))
				}
				return
			}
		}
		if err == nil {
			a.answered(nil)
			a.fail(n, errors.New("the server answered without counting the events"))
			return
		}
		var apiErr *apiclient.Error
		if errors.As(err, &apiErr) && !apiErr.Temporary() {
			a.answered(nil)
			a.fail(n, err) // refused as a whole (a 4xx without a summary): retrying cannot help
			return
		}
		a.mu.Lock()
		a.lastErr = err
		if a.failingAt.IsZero() {
			a.failingAt = time.Now()
		}
		a.mu.Unlock()
		wait := a.backoff(attempt)
		if apiErr != nil && apiErr.RetryAfter > wait {
			wait = apiErr.RetryAfter
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			a.fail(n, err)
			return
		case <-t.C:
		}
		a.retries.Add(1)
	}
}

// fail counts n events that got no answer, for err.
func (a *Agent) fail(n int64, err error) {
	a.errs.Add(n)
	a.mu.Lock()
	a.lastErr = err
	a.mu.Unlock()
}

// backoff returns a random wait before retry number attempt+1, between
// MinBackoff and a cap that doubles with each attempt up to MaxBackoff
// ("full jitter" above a floor).
func (a *Agent) backoff(attempt int) time.Duration {
	limit := a.cfg.MinBackoff
	for i := 0; i < attempt && limit < a.cfg.MaxBackoff; i++ {
		limit *= 2
	}
	limit = min(limit, a.cfg.MaxBackoff)
	return a.cfg.MinBackoff + time.Duration(a.rng.Int64N(int64(limit-a.cfg.MinBackoff)+1))
}
