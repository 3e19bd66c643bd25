package store

import (
	"context"
	"math"
	"time"

	"github.com/montool/montool/internal/event"
)

// deadSeries marks the chunkRef of a chunk that retention dropped.
const deadSeries = math.MaxUint32

// Prune drops the events that retention no longer keeps at now: in each
// series, the leading chunks of rows (up to 1,024 events each) whose every
// event is older than now minus retention, with their ids. Views already
// leave out every event older than that; a chunk goes once all its events
// are. A CUMULATIVE key keeps its total and count. It holds one client's
// lock at a time, for as long as that client's pruning takes, and returns
// the number of events dropped.
func (m *Memory) Prune(ctx context.Context, now time.Time) (int64, error) {
	cutoff := m.policy.Load().cutoff(now.UnixNano())
	if cutoff == 0 {
		return 0, nil
	}
	var dropped int64
	for _, c := range m.allClients() {
		if err := ctx.Err(); err != nil {
			return dropped, err
		}
		c.mu.Lock()
		if !c.deleted {
			n := c.prune(cutoff, &m.tableCopies)
			dropped += n
			c.bytes -= n * eventBytes
			m.bytes.Add(-n * eventBytes)
		}
		c.mu.Unlock()
	}
	return dropped, nil
}

// prune drops the leading chunks of c's series older than cutoff and
// their ids, and returns the number of events dropped. The caller holds
// c.mu.
func (c *clientData) prune(cutoff event.Timestamp, copies *tableCopies) int64 {
	var dropped int64
	for pos, s := range c.series {
		first := s.rows.dropped
		k := s.rows.dropBefore(cutoff, func(ch *chunk) {
			if s.typ == event.Cumulative {
				for _, v := range ch.values {
					s.base.Include(v)
				}
				s.baseCount += int64(len(ch.values))
			}
			dropped += int64(len(ch.values))
		})
		if k == 0 {
			continue
		}
		for i := range c.chunks {
			if at := &c.chunks[i]; at.series == uint32(pos) && int(at.chunk) >= first && int(at.chunk) < first+k {
				at.series = deadSeries
			}
		}
		if s.typ == event.TimeSeries {
			c.events -= int64(k * chunkRows)
		}
	}
	if dropped > 0 {
		c.ids.removeRows(copies, func(r rowRef) bool { return c.chunks[r>>chunkShift].series == deadSeries })
	}
	return dropped
}
