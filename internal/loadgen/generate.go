package loadgen

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/montool/montool/internal/agent"
	"github.com/montool/montool/internal/event"
)

// The new events of a run are numbered from 0, in the order of the bodies:
// those of the preload first, then those of the timed part; a duplicate
// has no number of its own. New event e belongs to client (e/keys) mod
// clients, has event id id(e) and timestamp ts(e), and has the key of its
// place in its template, which is e mod keys where the template was made:
// so new events go round the keys of one client, then of the next, and so
// on round the clients, each round of keys one millisecond after the one
// before.
//
// An event is encoded as its canonical JSON form but for the timestamp,
// written in whole milliseconds, which the server reads by its magnitude.
// The fields that change from one use of a template to the next come
// first, at fixed offsets from the start of the event:
//
//	{"client_id":"<36>","event_id":"<36>","event_timestamp":<13>,"event_type":…
const (
	uuidLen  = 36
	clientAt = len(`{"client_id":"`)
	idAt     = clientAt + uuidLen + len(`","event_id":"`)
	tsAt     = idAt + uuidLen + len(`","event_timestamp":`)
	// tsLen is the width of a timestamp in Unix milliseconds from 2001 to
	// 2286, which is every timestamp a run writes.
	tsLen = 13
	// idCountAt is where, within an event id, the part that numbers the
	// event starts: the 3 hex digits after the variant digit, the dash,
	// then the last 12 hex digits. The 20 characters before it are the
	// run's, the same in every event id of the run.
	idCountAt = 20
)

// content is what the events of a run are made of: the client ids, the
// keys, the values of each series, the start of the timeline and the
// prefix of the event ids. The rng and the series are used by one
// goroutine at a time, the one making templates.
type content struct {
	rng      *rand.Rand
	clients  [][]byte        // client ids, uuidLen bytes each
	keys     []agent.KeySpec // each client's keys, CUMULATIVE first
	walk     []float64       // the value of each TIME-SERIES series, at client*keys+key
	startMS  int64           // ts(0), in Unix milliseconds
	idPrefix [idCountAt]byte
}

// newContent returns the content of a run of cfg whose first event is at
// start. Client ids are random UUIDs, and so is the prefix of the event
// ids, so that two runs against one server share neither a client nor an
// event id.
func newContent(cfg Config, start time.Time) *content {
	c := &content{
		rng:     rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		clients: make([][]byte, cfg.Clients),
		keys:    keySet(cfg.Keys, cfg.cumulativeKeys()),
		walk:    make([]float64, cfg.Clients*cfg.Keys),
		startMS: start.UnixMilli(),
	}
	if c.startMS < 1e12 || c.startMS >= 5e12 { // a clock far off: keep every timestamp 13 digits wide
		c.startMS = 1e12
	}
	for i := range c.clients {
		c.clients[i] = c.appendUUID(nil)
	}
	copy(c.idPrefix[:], c.appendUUID(nil))
	for i := range c.walk {
		k := c.keys[i%cfg.Keys]
		c.walk[i] = k.Min + c.rng.Float64()*(k.Max-k.Min)
	}
	return c
}

// keySet returns n keys of which the first cumulative are CUMULATIVE, with
// the names and value ranges of the agents' default keys, numbered when
// there are more keys than defaults.
func keySet(n, cumulative int) []agent.KeySpec {
	var counters, gauges []agent.KeySpec
	for _, k := range agent.DefaultKeys() {
		if k.Type == event.Cumulative {
			counters = append(counters, k)
		} else {
			gauges = append(gauges, k)
		}
	}
	keys := make([]agent.KeySpec, n)
	for i := range keys {
		list, j := counters, i
		if i >= cumulative {
			list, j = gauges, i-cumulative
		}
		keys[i] = list[j%len(list)]
		if round := j / len(list); round > 0 {
			keys[i].Name = fmt.Sprintf("%s_%d", keys[i].Name, round+1)
		}
	}
	return keys
}

// appendUUID appends a random version-4 UUID, in its 36-character form, from
// the fast random source: 122 random bits, as unique as crypto/rand's for
// this purpose.
func (c *content) appendUUID(buf []byte) []byte {
	var u [16]byte
	binary.LittleEndian.PutUint64(u[:8], c.rng.Uint64())
	binary.LittleEndian.PutUint64(u[8:], c.rng.Uint64())
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	var text [uuidLen]byte
	hex.Encode(text[0:8], u[0:4])
	text[8] = '-'
	hex.Encode(text[9:13], u[4:6])
	text[13] = '-'
	hex.Encode(text[14:18], u[6:8])
	text[18] = '-'
	hex.Encode(text[19:23], u[8:10])
	text[23] = '-'
	hex.Encode(text[24:], u[10:])
	return append(buf, text[:]...)
}

// client returns the client of event e.
func (c *content) client(e int64) int {
	return int(e / int64(len(c.keys)) % int64(len(c.clients)))
}

// ts returns the timestamp of event e, in Unix milliseconds.
func (c *content) ts(e int64) int64 { return c.startMS + e/int64(len(c.keys)) }

// appendEvent appends the encoding of event e, new, of the given key, with
// the next value of its series. It is written here rather than by
// event.Event.MarshalJSON, which validates and allocates. Its strings are
// UUIDs and the plain ASCII key names of keySet, which JSON need not
// escape; the tests decode what it makes with the server's own decoder.
func (c *content) appendEvent(buf []byte, e int64, key int) []byte {
	client := c.client(e)
	spec := &c.keys[key]
	buf = append(buf, `{"client_id":"`...)
	buf = append(buf, c.clients[client]...)
	buf = append(buf, `","event_id":"`...)
	buf = append(buf, c.idPrefix[:]...)
	var count [uuidLen - idCountAt]byte
	putIDCount(count[:], idCount(e))
	buf = append(buf, count[:]...)
	buf = append(buf, `","event_timestamp":`...)
	buf = strconv.AppendInt(buf, c.ts(e), 10)
	buf = append(buf, `,"event_type":"`...)
	buf = append(buf, spec.Type.String()...)
	buf = append(buf, `","event_key":"`...)
	buf = append(buf, spec.Name...)
	buf = append(buf, `","event_value":`...)
	buf = appendValue(buf, c.value(spec, client*len(c.keys)+key), spec.Integer)
	return append(buf, '}')
}

// value returns the next value of a series: a random increment of a
// CUMULATIVE key, a step of a random walk within the key's range for a
// TIME-SERIES one; whole numbers for an integer key, else two decimals.
func (c *content) value(spec *agent.KeySpec, series int) float64 {
	span := spec.Max - spec.Min
	var v float64
	if spec.Type == event.Cumulative {
		v = spec.Min + c.rng.Float64()*span
	} else {
		v = c.walk[series] + c.rng.NormFloat64()*span*0.02
		if v > spec.Max {
			v = 2*spec.Max - v
		}
		if v < spec.Min {
			v = 2*spec.Min - v
		}
		v = min(max(v, spec.Min), spec.Max)
		c.walk[series] = v
	}
	if spec.Integer {
		return math.Round(v)
	}
	return math.Round(v*100) / 100
}

// appendValue appends v, a whole number when integer and else a number of
// hundredths, as a JSON number: faster than strconv's shortest form, which
// would be the same number.
func appendValue(buf []byte, v float64, integer bool) []byte {
	if integer {
		return strconv.AppendInt(buf, int64(v), 10)
	}
	cents := int64(math.Round(v * 100))
	if cents < 0 {
		buf = append(buf, '-')
		cents = -cents
	}
	buf = strconv.AppendInt(buf, cents/100, 10)
	c := cents % 100
	return append(buf, '.', byte('0'+c/10), byte('0'+c%10))
}

// idCount returns the 60 bits that number event e in its id: e through a
// bijection of [0, 2^60), so that ids differ in every one of those bits,
// as random ones do, and yet never repeat within a run.
func idCount(e int64) uint64 {
	const mask = 1<<60 - 1
	x := uint64(e) & mask
	x ^= x >> 31
	x = x * 0x9e3779b97f4a7c15 & mask // odd multipliers: bijections modulo 2^60
	x ^= x >> 29
	x = x * 0xbf58476d1ce4e5b9 & mask
	return x ^ x>>32
}

// putIDCount writes v, 60 bits, as the last 16 characters of an event id:
// 3 hex digits, a dash and 12 hex digits.
func putIDCount(b []byte, v uint64) {
	_ = b[15]
	b[0] = hexDigits[v>>56&15]
	b[1] = hexDigits[v>>52&15]
	b[2] = hexDigits[v>>48&15]
	b[3] = '-'
	binary.BigEndian.PutUint64(b[4:], hex8(uint32(v>>16)))
	binary.BigEndian.PutUint64(b[8:], hex8(uint32(v))) // overlaps the one before with the same 4 digits
}

const hexDigits = "0123456789abcdef"

// hex8 returns the 8 lower-case hex digits of v, most significant first
// when stored big-endian: each nibble spread to a byte of its own, then
// turned into its digit, in eight bytes at once.
func hex8(v uint32) uint64 {
	x := uint64(v)
	x = (x | x<<16) & 0x0000ffff0000ffff
	x = (x | x<<8) & 0x00ff00ff00ff00ff
	x = (x | x<<4) & 0x0f0f0f0f0f0f0f0f
	// '0'+n below 10, 'a'+n-10 from 10 on: 0x06 carries into the high
	// nibble of a byte exactly when its nibble is 10 or more.
	return x + 0x3030303030303030 + (x+0x0606060606060606)>>4&0x0101010101010101*('a'-'9'-1)
}
