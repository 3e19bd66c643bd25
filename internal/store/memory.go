// Package store is montool's in-memory database. Clients are spread over
// lock stripes so that no global lock sits on the ingest path, and all the
// state of one client lives together under that client's own lock.
package store

import (
	"context"
	"hash/maphash"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/montool/montool/internal/event"
)

// shardCount is the number of lock stripes; a power of two.
const shardCount = 64

// Memory is an in-memory event store. It is safe for concurrent use. An
// event is applied at most once: the dedupe check, the record of its id and
// the change it makes happen in one critical section. It keeps no string it
// is given (it copies what it keeps), and what it returns is the caller's:
// copies, or views of rows that never change.
type Memory struct {
	hasher  hasher
	shards  [shardCount]shard
	journal Journal                // nil when the store is only in memory
	policy  atomic.Pointer[Policy] // never nil
	log     *slog.Logger
	clients atomic.Int64 // clients in the shards
	bytes   atomic.Int64 // about how much memory the clients' data takes

	// idLists lends Apply, for a request of more than smallRequest
	// events, the list it reads their ids into; of *[]idRef.
	idLists sync.Pool
	// tableCopies lends the dedupe indexes of the clients the arrays a
	// table is copied into while it splits or drops rows.
	tableCopies tableCopies
}

// SetPolicy makes p the policy of m, once it validates. It may be called at
// any time: an Apply under way keeps the policy it began with, and what is
// stored stays even where it is past the new limits or retention, until
// the upkeep (or Prune) drops it.
func (m *Memory) SetPolicy(p Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	m.policy.Store(&p)
	return nil
}

// Policy returns the policy in force.
func (m *Memory) Policy() Policy { return *m.policy.Load() }

// cutoff returns the oldest timestamp that the retention of p keeps at
// now, or 0.
func (p *Policy) cutoff(now int64) event.Timestamp {
	if p.Retention <= 0 {
		return 0
	}
	return event.Timestamp(max(now-int64(p.Retention), 0))
}

// Keys returns the number of keys of all clients.
func (m *Memory) Keys() int {
	n := 0
	for _, c := range m.allClients() {
		c.mu.Lock()
		n += len(c.series)
		c.mu.Unlock()
	}
	return n
}

// Bytes returns about how much memory the stored events take, as counted
// against Limits.MaxBytes.
func (m *Memory) Bytes() int64 { return m.bytes.Load() }

// Journal records the events a Memory accepts, for a durable store.
// Record is called with a run of one client's events and their results,
// while that client's lock is held, once the run is applied: so a journal
// sees the events of each client in the order the store applied them, and
// an event's record is made before a duplicate of it can be found. Record
// must not keep events or their strings.
//
// Delete is called when a client is deleted, under that client's lock and
// before a new client of the same id can be made: so it comes after every
// record of the deleted client and before any of the new one.
type Journal interface {
	Record(clientID string, events []event.Event, results []event.Result)
	Delete(clientID string)
}

type shard struct {
	mu      sync.RWMutex           // guards clients
	clients map[string]*clientData // by client id
}

// New returns an empty store with opts, once they validate.
func New(opts Options) (*Memory, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	seed := maphash.MakeSeed()
	m := &Memory{hasher: hasher{seed: seed, seed64: maphash.Comparable(seed, 0)}, journal: opts.Journal, log: opts.Log}
	m.policy.Store(&opts.Policy)
	for i := range m.shards {
		m.shards[i].clients = make(map[string]*clientData)
	}
	return m, nil
}

func (m *Memory) shard(clientID string) *shard {
	return &m.shards[maphash.String(m.hasher.seed, clientID)&(shardCount-1)]
}

// allClients returns every client in the shards.
func (m *Memory) allClients() []*clientData {
	var all []*clientData
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.RLock()
		for _, c := range s.clients {
			all = append(all, c)
		}
		s.mu.RUnlock()
	}
	return all
}

// lookup returns the client with id, or nil.
func (m *Memory) lookup(id string) *clientData {
	s := m.shard(id)
	s.mu.RLock()
	c := s.clients[id]
	s.mu.RUnlock()
	return c
}

// getOrCreate returns the client with id, creating it if needed: an
// optimistic look-up under the read lock, then "set unless already set".
// It returns nil when there is none and lim.MaxClients are stored.
func (m *Memory) getOrCreate(id string, lim *Limits) *clientData {
	if c := m.lookup(id); c != nil {
		return c
	}
	s := m.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clients[id]; c != nil {
		return c
	}
	if n := m.clients.Add(1); lim.MaxClients > 0 && n > int64(lim.MaxClients) {
		m.clients.Add(-1)
		return nil
	}
	c := &clientData{id: strings.Clone(id), keys: make(map[string]int), bytes: clientBytes + int64(len(id))}
	c.seen(time.Now().UnixNano()) // not idle before its first event is applied
	m.bytes.Add(c.bytes)
	s.clients[c.id] = c
	return c
}

// smallRequest is the most events whose ids Apply keeps on the stack; the
// ids of larger requests go in a list from Memory.idLists.
const smallRequest = 8

// Apply applies each event on its own and returns one result per event, in
// order. Consecutive events of one client are applied under one lock. The
// events and their strings are not kept after Apply returns.
func (m *Memory) Apply(ctx context.Context, events []event.Event) ([]event.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(events) <= smallRequest {
		var refs [smallRequest]idRef
		return m.apply(events, refs[:0]), nil
	}
	pooled, ok := m.idLists.Get().(*[]idRef)
	if !ok {
		pooled = new([]idRef)
	}
	refs := slices.Grow((*pooled)[:0], len(events))
	results := m.apply(events, refs)
	clear(refs[:len(events)]) // they hold the events' strings, which the store does not keep
	*pooled = refs[:0]
	m.idLists.Put(pooled)
	return results, nil
}

// apply is Apply, given refs, an empty list with capacity for the ids of
// all the events.
func (m *Memory) apply(events []event.Event, refs []idRef) []event.Result {
	results := make([]event.Result, len(events))
	for i := range events {
		refs = append(refs, m.hasher.ref(events[i].ID))
	}
	now := time.Now().UnixNano()
	policy := m.policy.Load()
	cutoff, lim := policy.cutoff(now), &policy.Limits
	var tooOld, full error // made once, for every event they refuse
	for i := 0; i < len(events); {
		id := events[i].ClientID
		end := i + 1
		for end < len(events) && events[end].ClientID == id {
			end++
		}
		c := m.getOrCreate(id, lim)
		if c == nil {
			err := &event.Error{Kind: event.ErrLimit, Field: event.FieldClientID,
				Message: "the server already holds " + strconv.Itoa(lim.MaxClients) + " clients, the most its max_clients lets it"}
			for ; i < end; i++ {
				results[i] = event.Result{Err: err}
			}
			continue
		}
		c.mu.Lock()
		if c.deleted { // since it was looked up: look again, for a new one
			c.mu.Unlock()
			continue
		}
		if end-i > 1 {
			c.prefetch(refs[i:end])
		}
		c.seen(now)
		var runFull error
		if lim.MaxBytes > 0 && m.bytes.Load() >= lim.MaxBytes {
			if full == nil {
				full = &event.Error{Kind: event.ErrStorageFull,
					Message: "the server holds as much as its max_memory lets it (about " + strconv.FormatInt(lim.MaxBytes, 10) + " bytes)"}
			}
			runFull = full
		}
		start, bytes := i, c.bytes
		for ; i < end; i++ {
			// An event older than the cutoff is refused before anything
			// else: retention may have dropped the id it would duplicate.
			if events[i].Timestamp < cutoff {
				if tooOld == nil {
					tooOld = &event.Error{Kind: event.ErrTooOld, Field: event.FieldTimestamp,
						Message: "older than the server keeps events (retention " + policy.Retention.String() + "): the oldest it takes now is " + cutoff.String() + " (" + cutoff.Time().Format(time.RFC3339) + ")"}
				}
				results[i] = event.Result{Err: tooOld}
				continue
			}
			results[i] = c.apply(m, lim, &events[i], &refs[i], runFull)
		}
		if m.journal != nil {
			m.journal.Record(c.id, events[start:end], results[start:end])
		}
		if grown := c.bytes - bytes; grown != 0 { // not for a run of duplicates
			m.bytes.Add(grown)
		}
		if c.events == 0 && len(c.series) == 0 { // every event of the run was refused
			m.remove(c, false) // nothing of it was journalled
		}
		c.mu.Unlock()
	}
	return results
}

// Delete forgets a client and everything it holds, and returns the number
// of its events, or an *event.Error of kind event.ErrNotFound when it holds
// nothing. Its event ids are forgotten too: an event sent again afterwards
// is new.
func (m *Memory) Delete(ctx context.Context, clientID string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	c := m.lookup(clientID)
	if c == nil {
		return 0, notFound(clientID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deleted {
		return 0, notFound(clientID)
	}
	m.deleteLocked(c)
	if c.events == 0 { // made by an Apply that has not applied its first event
		return 0, notFound(clientID)
	}
	return c.events, nil
}

// deleteLocked deletes c, whose lock the caller holds, and journals it.
func (m *Memory) deleteLocked(c *clientData) { m.remove(c, m.journal != nil) }

// remove takes c, whose lock the caller holds, out of its shard; a client
// that only ever sent refused events leaves no trace this way too. It
// takes the shard's lock, so that no new client of the id is made before
// the journal has the deletion.
func (m *Memory) remove(c *clientData, journal bool) {
	s := m.shard(c.id)
	s.mu.Lock()
	delete(s.clients, c.id)
	c.deleted = true
	m.clients.Add(-1)
	m.bytes.Add(-c.bytes)
	if journal {
		m.journal.Delete(c.id)
	}
	s.mu.Unlock()
}

// View returns what the client holds, its samples read in place without
// copying them, or an *event.Error of kind event.ErrNotFound when it holds
// nothing. The client lock is held only to take the view.
func (m *Memory) View(ctx context.Context, clientID string) (*event.View, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := m.lookup(clientID)
	if c == nil {
		return nil, notFound(clientID)
	}
	c.mu.Lock()
	if c.events == 0 { // created by an Apply that has not yet applied its first event
		c.mu.Unlock()
		return nil, notFound(clientID)
	}
	v, readers, inOrder := c.view()
	c.mu.Unlock()
	cutoff := m.policy.Load().cutoff(time.Now().UnixNano())
	for i, r := range readers {
		if r != nil {
			r.sortIfNeeded(inOrder[i])
			r.skipBefore(cutoff)
		}
	}
	slices.SortFunc(v.Series, func(a, b event.SeriesView) int { return strings.Compare(a.Key, b.Key) })
	return v, nil
}

// Dump returns a copy of everything the client holds, or an *event.Error of
// kind event.ErrNotFound when it holds nothing.
func (m *Memory) Dump(ctx context.Context, clientID string) (*event.Dump, error) {
	v, err := m.View(ctx, clientID)
	if err != nil {
		return nil, err
	}
	return v.Dump(), nil
}

func notFound(clientID string) error {
	return &event.Error{Kind: event.ErrNotFound, Message: "client " + strconv.Quote(clientID) + " has no events"}
}

// Clients lists every known client, sorted by id.
func (m *Memory) Clients(ctx context.Context) ([]event.ClientInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	all := m.allClients()
	infos := make([]event.ClientInfo, 0, len(all))
	for _, c := range all {
		c.mu.Lock()
		if c.events > 0 { // else created by an Apply that has not yet applied its first event
			infos = append(infos, event.ClientInfo{ClientID: c.id, Events: c.events})
		}
		c.mu.Unlock()
	}
	slices.SortFunc(infos, func(a, b event.ClientInfo) int { return strings.Compare(a.ClientID, b.ClientID) })
	return infos, nil
}
