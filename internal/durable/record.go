package durable

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
)

// The records of the log and of snapshots are the payloads of their
// frames: package wal carries them as bytes, and this file gives them
// their meaning (all but the end record of a snapshot, snapEnd, which
// snapshot.go keeps).
//
// A payload is a kind byte and its fields. Numbers are unsigned varints
// unless said otherwise; strings are a length and their bytes.
//
//	kindEvents: client id, count, then per event: a flags byte, the key
//	            unless flagSameKey, the id (16 bytes, or with flagTextID
//	            a string), the timestamp in nanoseconds as a signed varint
//	            of its difference from the event before's (from 0 for the
//	            first), and the value (with flagWhole a signed varint, else
//	            8 bytes, IEEE 754, little endian)
//	kindDelete: client id; the client and all it held are gone
//	kindBase:   client id, key, count, latest timestamp, then the exact
//	            total (event.Sum's binary form): what a CUMULATIVE key
//	            holds beyond its rows (snapshots only)
const (
	kindEvents byte = 1
	kindDelete byte = 2
	kindBase   byte = 3
)

// The flags of an event.
const (
	flagTimeSeries byte = 1 << iota // else CUMULATIVE
	flagTextID                      // the id is not a UUID
	flagSameKey                     // the key is the event before's
	flagWhole                       // the value is a whole number below 2^53
	flagsKnown     = flagTimeSeries | flagTextID | flagSameKey | flagWhole
)

// maxWhole bounds the whole values written as varints: every whole number
// up to it is a float64.
const maxWhole = 1 << 53

// appendBase appends the payload that records a store.Base.
func appendBase(buf []byte, b *store.Base) []byte {
	buf = appendString(append(buf, kindBase), b.ClientID)
	buf = appendString(buf, b.Key)
	buf = binary.AppendUvarint(buf, uint64(b.Count))
	buf = binary.AppendUvarint(buf, uint64(b.Last))
	buf, _ = b.Total.AppendBinary(buf)
	return buf
}

// decodeBase decodes a payload made by appendBase; ok is false for a
// payload of another kind. Its strings point into payload.
func decodeBase(payload []byte) (b *store.Base, ok bool, err error) {
	if len(payload) == 0 || payload[0] != kindBase {
		return nil, false, nil
	}
	d := decoder{b: payload[1:]}
	b = &store.Base{ClientID: d.string(), Key: d.string(), Count: int64(d.uvarint()), Last: event.Timestamp(d.uvarint())}
	if d.err != nil || b.Total.UnmarshalBinary(d.b) != nil {
		return nil, true, fmt.Errorf("%w: bad key total", errPayload)
	}
	return b, true, nil
}

// appendDelete appends the payload that records the deletion of a client.
func appendDelete(buf []byte, clientID string) []byte {
	return appendString(append(buf, kindDelete), clientID)
}

// decodeDelete returns the client id of a payload made by appendDelete;
// ok is false for a payload of another kind.
func decodeDelete(payload []byte) (clientID string, ok bool, err error) {
	if len(payload) == 0 || payload[0] != kindDelete {
		return "", false, nil
	}
	d := decoder{b: payload[1:]}
	clientID = d.string()
	if d.err != nil || len(d.b) != 0 {
		return "", true, fmt.Errorf("%w: bad deletion", errPayload)
	}
	return clientID, true, nil
}

// appendEvents appends the payload that records the events of one client
// whose results say they were accepted, and reports how many it recorded;
// it appends nothing when none was.
func appendEvents(buf []byte, clientID string, events []event.Event, results []event.Result) ([]byte, int) {
	n := 0
	for _, r := range results {
		if r.Err == nil && !r.Duplicate {
			n++
		}
	}
	if n == 0 {
		return buf, 0
	}
	// Grow once, for events of the usual size: key, flags, id, timestamp
	// and value.
	buf = slices.Grow(buf, 1+binary.MaxVarintLen64+len(clientID)+n*(40+len(events[0].Key)))
	buf = append(buf, kindEvents)
	buf = appendString(buf, clientID)
	buf = binary.AppendUvarint(buf, uint64(n))
	var (
		key     string
		ts      event.Timestamp
		written int
	)
	for i := range events {
		if r := results[i]; r.Err != nil || r.Duplicate {
			continue
		}
		e := &events[i]
		var flags byte
		if e.Type == event.TimeSeries {
			flags |= flagTimeSeries
		}
		u, uuid := event.ParseUUID(e.ID)
		if !uuid {
			flags |= flagTextID
		}
		if e.Key == key && written > 0 {
			flags |= flagSameKey
		}
		written++
		whole := math.Abs(e.Value) < maxWhole && e.Value == math.Trunc(e.Value) && !(e.Value == 0 && math.Signbit(e.Value))
		if whole {
			flags |= flagWhole
		}
		buf = append(buf, flags)
		if flags&flagSameKey == 0 {
			buf = appendString(buf, e.Key)
			key = e.Key
		}
		if uuid {
			buf = append(buf, u[:]...)
		} else {
			buf = appendString(buf, e.ID)
		}
		buf = binary.AppendVarint(buf, int64(e.Timestamp-ts))
		ts = e.Timestamp
		if whole {
			buf = binary.AppendVarint(buf, int64(e.Value))
		} else {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(e.Value))
		}
	}
	return buf, n
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// errPayload says a payload that passed its CRC does not decode: written by
// another version, or a bug.
var errPayload = errors.New("payload does not decode")

// decodeEvents decodes a payload into events, appended to into. The
// strings of the events point into payload.
func decodeEvents(into []event.Event, payload []byte) ([]event.Event, error) {
	d := decoder{b: payload}
	if kind := d.byte(); kind != kindEvents {
		return into, fmt.Errorf("%w: unknown kind %d", errPayload, kind)
	}
	client := d.string()
	n := d.uvarint()
	if d.err != nil || n > uint64(len(payload)) {
		return into, fmt.Errorf("%w: bad header", errPayload)
	}
	var (
		text [event.UUIDLen]byte
		key  string
		ts   event.Timestamp
	)
	for i := range n {
		flags := d.byte()
		if flags&^flagsKnown != 0 || (flags&flagSameKey != 0 && i == 0) {
			d.fail()
		}
		e := event.Event{ClientID: client, Type: event.Cumulative}
		if flags&flagTimeSeries != 0 {
			e.Type = event.TimeSeries
		}
		if flags&flagSameKey == 0 {
			key = d.string()
		}
		e.Key = key
		if flags&flagTextID != 0 {
			e.ID = d.string()
		} else {
			var u [16]byte
			copy(u[:], d.bytes(16))
			e.ID = string(event.AppendUUID(text[:0], &u))
		}
		ts += event.Timestamp(d.varint())
		e.Timestamp = ts
		if flags&flagWhole != 0 {
			e.Value = float64(d.varint())
		} else {
			e.Value = math.Float64frombits(binary.LittleEndian.Uint64(d.bytes(8)))
		}
		if d.err != nil {
			return into, fmt.Errorf("%w: event %d of %d", errPayload, i, n)
		}
		into = append(into, e)
	}
	if len(d.b) != 0 {
		return into, fmt.Errorf("%w: %d bytes left over", errPayload, len(d.b))
	}
	return into, nil
}

// decoder reads a payload; after the first failure every read returns
// zero values and err is set.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() { d.err, d.b = errPayload, nil }

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if !d.skip(n) {
		return 0
	}
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if !d.skip(n) {
		return 0
	}
	return v
}

// skip moves past the n bytes of a varint just read, or fails for an n of
// a varint that could not be read (0 or less).
func (d *decoder) skip(n int) bool {
	if n <= 0 {
		d.fail()
		return false
	}
	d.b = d.b[n:]
	return true
}

// bytes returns the next n bytes; after a failure, n zero bytes of their
// own, so that a caller may read them before it checks err.
func (d *decoder) bytes(n int) []byte {
	if len(d.b) < n {
		d.fail()
		return make([]byte, n)
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	b := d.bytes(int(n))
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
