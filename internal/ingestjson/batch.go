// Package ingestjson decodes the request bodies of the events endpoint: one
// JSON event object, a JSON array of them, or NDJSON, an event object a
// line. It reads the JSON form of events and applies the rules of package
// event to what it reads; it knows nothing of storage.
package ingestjson

import "github.com/montool/montool/internal/event"

// Item is one event of a request body: the event when it follows every rule,
// else Err, an *event.Error of kind ErrInvalid that names the field at
// fault.
type Item struct {
	Event event.Event
	// RawID is the event_id as sent, when it was a string, so that a
	// rejection can name the event even when the id itself was at fault.
	RawID string
	Err   error
}

// Batch is a request body decoded: one Item per event it holds. It is made
// to be reused from one body to the next, so that once it has room for the
// items of a body, decoding one allocates nothing.
//
// Decoding copies nothing it can point to: the strings of the items (the
// ids and keys of their events, RawID) are the bytes of the body wherever
// the body holds them without escapes. So the items and their strings are
// valid until the batch is Reset or decodes another body, and the body
// must not change until then. Whoever keeps one of those strings longer
// must copy it. Nothing else of this package points into a body.
//
// The zero Batch is empty and ready to use.
type Batch struct {
	items []Item
}

// DecodeJSON decodes body as JSON: one event object, or a non-empty array
// of event objects. Each event is checked on its own, so one bad event
// does not spoil the others. A body that is not an object or a non-empty
// array of objects is an *event.Error of kind ErrInvalid; a batch of more
// than maxEvents events (when maxEvents > 0) is one of kind ErrTooLarge. On
// error the batch holds no item.
func (b *Batch) DecodeJSON(body []byte, maxEvents int) error {
	b.Reset()
	var err error
	b.items, err = appendJSON(b.items, body, maxEvents)
	return err
}

// DecodeNDJSON decodes body as NDJSON: one event object per line; blank
// lines are skipped. Each line is checked on its own: a line that is not a
// JSON object is a rejected item, not a bad body. A body with no event at
// all is an *event.Error of kind ErrInvalid; more than maxEvents events
// (when maxEvents > 0) is one of kind ErrTooLarge. On error the batch holds
// no item.
func (b *Batch) DecodeNDJSON(body []byte, maxEvents int) error {
	b.Reset()
	var err error
	b.items, err = appendNDJSON(b.items, body, maxEvents)
	return err
}

// Items returns the items of the body last decoded, in the order of the
// body. They are the batch's own, valid until it is Reset or decodes
// another body.
func (b *Batch) Items() []Item { return b.items }

// Reset empties the batch, keeping its room for the next body. The items
// it held, and their strings, are no longer to be used; the body they
// pointed into may change.
func (b *Batch) Reset() {
	clear(b.items)
	b.items = b.items[:0]
}
