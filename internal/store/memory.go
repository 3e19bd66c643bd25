// Package store is montool's in-memory database. Clients are spread over
// lock stripes so that no global lock sits on the ingest path, and all the
// state of one client lives together under that client's own lock.
package store

import (
	"context"
	"hash/maphash"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/montool/montool/internal/event"
)

// shardCount is the number of lock stripes; a power of two.
const shardCount = 64

// Memory is an in-memory event store. It is safe for concurrent use. An
// event is applied at most once: the dedupe check, the record of its id and
// the change it makes happen in one critical section. Values it returns are
// copies that the caller owns.
type Memory struct {
	seed   maphash.Seed
	shards [shardCount]shard
}

type shard struct {
	mu      sync.RWMutex       // guards clients
	clients map[string]*client // by client id
}

// New returns an empty store.
func New() *Memory {
	m := &Memory{seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].clients = make(map[string]*client)
	}
	return m
}

func (m *Memory) shard(clientID string) *shard {
	return &m.shards[maphash.String(m.seed, clientID)&(shardCount-1)]
}

// lookup returns the client with id, or nil.
func (m *Memory) lookup(id string) *client {
	s := m.shard(id)
	s.mu.RLock()
	c := s.clients[id]
	s.mu.RUnlock()
	return c
}

// getOrCreate returns the client with id, creating it if needed: an
// optimistic look-up under the read lock, then "set unless already set".
func (m *Memory) getOrCreate(id string) *client {
	if c := m.lookup(id); c != nil {
		return c
	}
	s := m.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clients[id]; c != nil {
		return c
	}
	c := &client{id: id, seen: make(map[string]fingerprint), keys: make(map[string]*series)}
	s.clients[id] = c
	return c
}

// Apply applies each event on its own and returns one result per event, in
// order. Consecutive events of one client are applied under one lock.
func (m *Memory) Apply(ctx context.Context, events []event.Event) ([]event.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	results := make([]event.Result, len(events))
	for i := 0; i < len(events); {
		c := m.getOrCreate(events[i].ClientID)
		c.mu.Lock()
		for ; i < len(events) && events[i].ClientID == c.id; i++ {
			results[i] = c.apply(&events[i])
		}
		c.mu.Unlock()
	}
	return results, nil
}

// Dump returns a copy of everything the client holds, or an *event.Error of
// kind event.ErrNotFound when it holds nothing.
func (m *Memory) Dump(ctx context.Context, clientID string) (*event.Dump, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	notFound := &event.Error{Kind: event.ErrNotFound, Message: "client " + strconv.Quote(clientID) + " has no events"}
	c := m.lookup(clientID)
	if c == nil {
		return nil, notFound
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.events == 0 { // created by an Apply that has not yet applied its first event
		return nil, notFound
	}
	d := &event.Dump{ClientID: c.id, Series: make([]event.Series, 0, len(c.keys))}
	for _, s := range c.keys {
		d.Series = append(d.Series, s.snapshot())
	}
	sort.Slice(d.Series, func(i, j int) bool { return d.Series[i].Key < d.Series[j].Key })
	return d, nil
}

// Clients lists every known client, sorted by id.
func (m *Memory) Clients(ctx context.Context) ([]event.ClientInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var all []*client
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.RLock()
		for _, c := range s.clients {
			all = append(all, c)
		}
		s.mu.RUnlock()
	}
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

// client is all the state of one client.
type client struct {
	id string

	mu     sync.Mutex             // guards every field below
	seen   map[string]fingerprint // event id → content, for dedupe
	keys   map[string]*series     // event key → its data
	events int64                  // accepted events
}

// fingerprint is the content of an applied event, to tell a duplicate (same
// id, same content) from a conflict (same id, other content).
type fingerprint struct {
	series    *series
	timestamp event.Timestamp
	value     float64
}

// apply applies e to c. The caller holds c.mu.
func (c *client) apply(e *event.Event) event.Result {
	s := c.keys[e.Key]
	if fp, ok := c.seen[e.ID]; ok {
		if fp.series == s && s.typ == e.Type && fp.timestamp == e.Timestamp && fp.value == e.Value {
			return event.Result{Duplicate: true}
		}
		return event.Result{Err: &event.Error{Kind: event.ErrConflict, Field: event.FieldEventID,
			Message: "already used by this client for an event with other content"}}
	}
	if s == nil {
		s = &series{key: e.Key, typ: e.Type, sorted: true}
		c.keys[e.Key] = s
	} else if s.typ != e.Type {
		return event.Result{Err: &event.Error{Kind: event.ErrConflict, Field: event.FieldType,
			Message: "key " + strconv.Quote(e.Key) + " is " + s.typ.String() + " for this client, not " + e.Type.String()}}
	}
	if !s.add(e) {
		return event.Result{Err: &event.Error{Kind: event.ErrConflict, Field: event.FieldValue,
			Message: "adding this value would take the total of key " + strconv.Quote(e.Key) + " past the largest number montool holds"}}
	}
	c.seen[e.ID] = fingerprint{series: s, timestamp: e.Timestamp, value: e.Value}
	c.events++
	return event.Result{}
}

// series is the data of one key of one client.
type series struct {
	key string
	typ event.Type

	// CUMULATIVE
	total event.Sum
	count int64
	last  event.Timestamp

	// TIME-SERIES, in columns, in order of arrival until sorted.
	ids        []string
	timestamps []event.Timestamp
	values     []float64
	sorted     bool // the columns are in timestamp order
}

// add applies e to s and reports whether it did.
func (s *series) add(e *event.Event) bool {
	if s.typ == event.Cumulative {
		if !s.total.Add(e.Value) {
			return false
		}
		s.count++
		s.last = max(s.last, e.Timestamp)
		return true
	}
	if n := len(s.timestamps); n > 0 && e.Timestamp < s.timestamps[n-1] {
		s.sorted = false
	}
	s.ids = append(s.ids, e.ID)
	s.timestamps = append(s.timestamps, e.Timestamp)
	s.values = append(s.values, e.Value)
	return true
}

// snapshot returns a copy of s, sorting its samples first if needed.
func (s *series) snapshot() event.Series {
	out := event.Series{Key: s.key, Type: s.typ}
	if s.typ == event.Cumulative {
		out.Total, out.Count, out.Last = s.total.Float64(), s.count, s.last
		return out
	}
	if !s.sorted {
		s.sort()
	}
	out.Samples = make([]event.Sample, len(s.timestamps))
	for i := range out.Samples {
		out.Samples[i] = event.Sample{ID: s.ids[i], Timestamp: s.timestamps[i], Value: s.values[i]}
	}
	return out
}

// sort puts the samples in timestamp order, keeping arrival order for ties.
func (s *series) sort() {
	order := make([]int, len(s.timestamps))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return s.timestamps[order[a]] < s.timestamps[order[b]] })
	ids := make([]string, len(order))
	timestamps := make([]event.Timestamp, len(order))
	values := make([]float64, len(order))
	for i, j := range order {
		ids[i], timestamps[i], values[i] = s.ids[j], s.timestamps[j], s.values[j]
	}
	s.ids, s.timestamps, s.values, s.sorted = ids, timestamps, values, true
}
