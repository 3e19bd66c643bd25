package durable

import (
	"sync"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/wal"
)

// journal is the store.Journal of a Store: it writes the records of what
// the store accepts (record.go) to the log. It writes nothing until it is
// given the log, once Load has replayed it: what a replay applies is in
// the log already.
type journal struct {
	log *wal.Log // set by Load before the store is Ready, never changed after
	// buffers pools the buffers records are encoded into, of *[]byte: a
	// record is encoded before the log's lock is taken, which is then
	// held only to copy it.
	buffers sync.Pool
}

var _ store.Journal = (*journal)(nil)

// Record appends to the log the record of the events of one client whose
// results say they were accepted, and nothing when none was.
func (j *journal) Record(clientID string, events []event.Event, results []event.Result) {
	if j.log == nil {
		return
	}
	buf := j.buffer()
	defer j.buffers.Put(buf)
	var n int
	*buf, n = appendEvents((*buf)[:0], clientID, events, results)
	if n > 0 {
		j.log.Append(*buf)
	}
}

// Delete appends to the log the record of the deletion of a client.
func (j *journal) Delete(clientID string) {
	if j.log == nil {
		return
	}
	buf := j.buffer()
	defer j.buffers.Put(buf)
	*buf = appendDelete((*buf)[:0], clientID)
	j.log.Append(*buf)
}

// buffer returns a buffer to encode a record into, pooled or new.
func (j *journal) buffer() *[]byte {
	if buf, ok := j.buffers.Get().(*[]byte); ok {
		return buf
	}
	return new([]byte)
}
