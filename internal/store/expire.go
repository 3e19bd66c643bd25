package store

import (
	"context"
	"time"
)

// Expired is a client that ExpireIdle forgot.
type Expired struct {
	ClientID string
	Events   int64
	LastSeen time.Time
}

// seen records that c had events at now, in Unix nanoseconds, for
// ExpireIdle. Any event counts, a duplicate or a refused one too: a client
// that keeps sending is not idle. The caller holds c.mu, or has not yet
// shared c.
func (c *clientData) seen(now int64) { c.lastSeen = now }

// ExpireIdle deletes, as Delete does, every client that had no event
// (new, duplicate or refused) since before, and returns them.
func (m *Memory) ExpireIdle(ctx context.Context, before time.Time) ([]Expired, error) {
	cutoff := before.UnixNano()
	var expired []Expired
	for _, c := range m.allClients() {
		if err := ctx.Err(); err != nil {
			return expired, err
		}
		c.mu.Lock()
		if !c.deleted && c.lastSeen < cutoff {
			m.deleteLocked(c)
			expired = append(expired, Expired{ClientID: c.id, Events: c.events, LastSeen: time.Unix(0, c.lastSeen)})
		}
		c.mu.Unlock()
	}
	return expired, nil
}
