package store

import (
	"context"
	"log/slog"
	"time"
)

// Run does the upkeep of m until ctx ends, then returns nil: it forgets
// the clients idle for longer than the policy's ClientTTL and drops the
// events older than its Retention, as Upkeep does.
func (m *Memory) Run(ctx context.Context) error {
	Upkeep(ctx, m, m.Policy, m.log)
	return nil
}

// Upkept is a store that forgets idle clients and drops events past
// retention: a Memory, or a store over one.
type Upkept interface {
	ExpireIdle(ctx context.Context, before time.Time) ([]Expired, error)
	Prune(ctx context.Context, now time.Time) (int64, error)
}

// Upkeep forgets the clients of st that sent nothing for the ClientTTL and
// prunes the events older than the Retention (either 0: not that), as
// policy says at each round, until ctx ends. A round comes every tenth of
// the shorter of the two, from a second to a minute; what it did, and what
// failed, is logged.
func Upkeep(ctx context.Context, st Upkept, policy func() Policy, log *slog.Logger) {
	t := time.NewTimer(upkeepEvery(policy()))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			p := policy()
			t.Reset(upkeepEvery(p))
			if p.ClientTTL > 0 {
				expireIdle(ctx, st, now.Add(-p.ClientTTL), log)
			}
			if p.Retention > 0 {
				prune(ctx, st, now, log)
			}
		}
	}
}

// upkeepEvery returns how often the upkeep of p runs: every tenth of the
// shorter of the TTL and the retention, from a second to a minute.
func upkeepEvery(p Policy) time.Duration {
	every := time.Minute
	for _, d := range []time.Duration{p.ClientTTL, p.Retention} {
		if d > 0 {
			every = min(every, max(d/10, time.Second))
		}
	}
	return every
}

func expireIdle(ctx context.Context, st Upkept, before time.Time, log *slog.Logger) {
	expired, err := st.ExpireIdle(ctx, before)
	for _, e := range expired {
		log.Info("forgot an idle client", "client_id", e.ClientID, "events", e.Events, "last_seen", e.LastSeen.UTC().Format(time.RFC3339))
	}
	if err != nil && ctx.Err() == nil {
		log.Error("forgetting idle clients failed", "err", err)
	}
}

func prune(ctx context.Context, st Upkept, now time.Time, log *slog.Logger) {
	start := time.Now()
	n, err := st.Prune(ctx, now)
	if n > 0 {
		log.Info("dropped events past retention", "events", n, "took", time.Since(start).Round(time.Millisecond))
	}
	if err != nil && ctx.Err() == nil {
		log.Error("dropping events past retention failed", "err", err)
	}
}

// Close does nothing and returns nil: a Memory holds nothing but memory.
// It is there so that every store is closed alike, last, once Run has
// returned.
func (m *Memory) Close(context.Context) error { return nil }
