package store

import (
	"context"
	"strings"
	"time"
	"unsafe"

	"github.com/montool/montool/internal/event"
)

// Export calls fn with every event the store holds: a client at a time,
// and within a client a series at a time, in batches of at most 1,024
// events in their order of arrival; and base with what each CUMULATIVE key
// holds beyond its rows (see Prune), when it holds any. It holds a client's
// lock only to take a view of its rows, so ingest goes on meanwhile, and
// events applied after Export began may or may not be among those it
// gives. fn and base must not keep what they are given. Export stops at
// the first error of fn, base or ctx.
func (m *Memory) Export(ctx context.Context, fn func(events []event.Event) error, base func(*Base) error) error {
	type part struct {
		key  string
		typ  event.Type
		rows *samples
	}
	batch := make([]event.Event, 0, chunkRows)
	text := make([]byte, 0, chunkRows*event.UUIDLen) // the ids of batch, never reallocated
	for _, c := range m.allClients() {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.mu.Lock()
		parts := make([]part, len(c.series))
		var bases []*Base
		for i, s := range c.series {
			parts[i] = part{key: s.key, typ: s.typ, rows: s.rows.reader()}
			if s.baseCount > 0 {
				b := &Base{ClientID: c.id, Key: s.key, Count: s.baseCount, Last: s.last}
				b.Total.AddSum(&s.base)
				bases = append(bases, b)
			}
		}
		c.mu.Unlock()
		for _, b := range bases {
			if err := base(b); err != nil {
				return err
			}
		}
		for _, p := range parts {
			for k, ch := range p.rows.chunks {
				rows := min(chunkRows, p.rows.n-k*chunkRows)
				batch, text = batch[:0], text[:0]
				for off := range rows {
					e := event.Event{ClientID: c.id, Key: p.key, Type: p.typ, Timestamp: ch.timestamps[off], Value: ch.values[off]}
					if ch.names != nil && ch.names[off] != "" {
						e.ID = ch.names[off]
					} else {
						at := len(text)
						text = event.AppendUUID(text, &ch.ids[off])
						e.ID = unsafe.String(&text[at], event.UUIDLen)
					}
					batch = append(batch, e)
				}
				if len(batch) > 0 {
					if err := fn(batch); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// A Base is what a CUMULATIVE key holds beyond its rows: the total, count
// and latest timestamp of the events whose rows retention dropped.
type Base struct {
	ClientID, Key string
	Total         event.Sum
	Count         int64
	Last          event.Timestamp
}

// LoadBase adds to its key's total and count what b holds, as if its
// events had been applied and their rows dropped, making the client and
// key if need be. It is for loading a snapshot.
func (m *Memory) LoadBase(b *Base) error {
	c := m.getOrCreate(b.ClientID, &m.policy.Load().Limits)
	if c == nil {
		return &event.Error{Kind: event.ErrLimit, Message: "too many clients to load"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	pos, ok := c.keys[b.Key]
	if !ok {
		pos = len(c.series)
		c.series = append(c.series, &series{key: strings.Clone(b.Key), typ: event.Cumulative, inOrder: true})
		c.keys[c.series[pos].key] = pos
	}
	s := c.series[pos]
	if s.typ != event.Cumulative {
		return &event.Error{Kind: event.ErrConflict, Field: event.FieldKey, Message: "the total of key " + b.Key + " is for a TIME-SERIES key"}
	}
	s.total.AddSum(&b.Total)
	s.base.AddSum(&b.Total)
	s.count += b.Count
	s.baseCount += b.Count
	s.last = max(s.last, b.Last)
	c.events += b.Count
	c.seen(time.Now().UnixNano())
	return nil
}
