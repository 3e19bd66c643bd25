package store

import (
	"context"
	"unsafe"

	"github.com/montool/montool/internal/event"
)

// Export calls fn with every event the store holds: a client at a time,
// and within a client a series at a time, in batches of at most 1,024
// events in their order of arrival. It holds a client's lock only to take a
// view of its rows, so ingest goes on meanwhile, and events applied after
// Export began may or may not be among those it gives. fn must not keep the
// events or their strings. Export stops at the first error of fn or ctx.
func (m *Memory) Export(ctx context.Context, fn func(events []event.Event) error) error {
	var all []*client
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.RLock()
		for _, c := range s.clients {
			all = append(all, c)
		}
		s.mu.RUnlock()
	}
	type part struct {
		key  string
		typ  event.Type
		rows *samples
	}
	batch := make([]event.Event, 0, chunkRows)
	text := make([]byte, 0, chunkRows*event.UUIDLen) // the ids of batch, never reallocated
	for _, c := range all {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.mu.Lock()
		parts := make([]part, len(c.series))
		for i, s := range c.series {
			parts[i] = part{key: s.key, typ: s.typ, rows: s.rows.snapshot()}
		}
		c.mu.Unlock()
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
