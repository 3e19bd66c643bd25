package loadgen

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/montool/montool/internal/agent"
	"github.com/montool/montool/internal/event"
)

// body is one request body, ready to send.
type body struct {
	data   []byte
	events int // events it holds
	dups   int // of which repeat an earlier event of the run
}

// recentEvents is how many of the latest new events a duplicate is drawn
// from.
const recentEvents = 4096

// generator makes the bodies of one run, in order. It is used by one
// goroutine at a time: the run's, then the feeding goroutine's.
type generator struct {
	cfg     Config
	rng     *rand.Rand
	clients []string
	keys    []agent.KeySpec // each client's keys, CUMULATIVE first
	walk    []float64       // the value of each TIME-SERIES series, at client*Keys+key
	startMS int64           // timestamp of the first event, in Unix milliseconds
	next    int64           // index of the next event
	limit   int64           // events to make in all; 0 for no limit
	recent  [][]byte        // the latest new events, encoded; a ring
	news    int64           // new events made so far
	raw     []byte          // the body being built, when it is compressed
	zbuf    bytes.Buffer
	zw      *gzip.Writer
}

// newGenerator returns the generator of a run of cfg whose first event is
// at start. Client ids are random UUIDs, so that two runs against one server
// never share a client.
func newGenerator(cfg Config, start time.Time) *generator {
	g := &generator{
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		clients: make([]string, cfg.Clients),
		keys:    keySet(cfg.Keys, cfg.cumulativeKeys()),
		walk:    make([]float64, cfg.Clients*cfg.Keys),
		startMS: start.UnixMilli(),
		limit:   cfg.Events,
		recent:  make([][]byte, 0, recentEvents),
	}
	for i := range g.clients {
		g.clients[i] = string(g.appendUUID(nil))
	}
	for i := range g.walk {
		k := g.keys[i%cfg.Keys]
		g.walk[i] = k.Min + g.rng.Float64()*(k.Max-k.Min)
	}
	if cfg.Gzip {
		g.zw, _ = gzip.NewWriterLevel(&g.zbuf, gzip.BestSpeed) // a valid level: no error
	}
	return g
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
// the generator's fast random source: 122 random bits, as unique as
// crypto/rand's for this purpose.
func (g *generator) appendUUID(buf []byte) []byte {
	var u [16]byte
	binary.LittleEndian.PutUint64(u[:8], g.rng.Uint64())
	binary.LittleEndian.PutUint64(u[8:], g.rng.Uint64())
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	var text [36]byte
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

// done reports whether every event of the run has been made.
func (g *generator) done() bool { return g.limit > 0 && g.next >= g.limit }

// nextBody returns the next body, or false when every event has been made.
func (g *generator) nextBody(sizeHint int) (body, bool) {
	n := g.cfg.Batch
	if g.limit > 0 {
		n = int(min(int64(n), g.limit-g.next))
	}
	if n <= 0 {
		return body{}, false
	}
	b := body{events: n}
	buf := g.raw[:0]
	if !g.cfg.Gzip {
		buf = make([]byte, 0, sizeHint)
	}
	array := g.cfg.Format == JSON && g.cfg.Batch > 1
	if array {
		buf = append(buf, '[')
	}
	for i := range n {
		if i > 0 && array {
			buf = append(buf, ',')
		}
		var dup bool
		if buf, dup = g.appendEvent(buf); dup {
			b.dups++
		}
		if g.cfg.Format == NDJSON {
			buf = append(buf, '\n')
		}
	}
	if array {
		buf = append(buf, ']')
	}
	if !g.cfg.Gzip {
		b.data = buf
		return b, true
	}
	g.raw = buf
	g.zbuf.Reset()
	g.zw.Reset(&g.zbuf)
	g.zw.Write(buf) // writes to a bytes.Buffer: no error
	g.zw.Close()
	b.data = bytes.Clone(g.zbuf.Bytes())
	return b, true
}

// appendEvent appends the encoding of the next event to buf, and reports
// whether it repeats an earlier one. Of the first n events,
// ⌊n·Duplicates⌋ are repeats, each of one of the latest new events drawn at
// random. New events go round the keys of one client, then of the next,
// and so on round the clients; each round of the keys is one millisecond
// after the one before.
//
// The encoding is the event's canonical JSON form but for the timestamp,
// written in whole milliseconds, which the server reads by its magnitude.
// It is written here rather than by event.Event.MarshalJSON, which
// validates and allocates, because the generator must stay well ahead of
// the server. Its strings are UUIDs and the plain ASCII key names of
// keySet, which JSON need not escape; the tests decode what it makes with
// the server's own decoder.
func (g *generator) appendEvent(buf []byte) ([]byte, bool) {
	n := g.next
	g.next++
	d := g.cfg.Duplicates
	if d > 0 && g.news > 0 && math.Floor(float64(n+1)*d) > math.Floor(float64(n)*d) {
		return append(buf, g.recent[g.rng.IntN(len(g.recent))]...), true
	}
	u := g.news // new events are spread by their own count, so that repeats leave no gaps
	keys := int64(g.cfg.Keys)
	key := int(u % keys)
	client := int((u / keys) % int64(g.cfg.Clients))
	spec := &g.keys[key]
	start := len(buf)
	buf = append(buf, `{"client_id":"`...)
	buf = append(buf, g.clients[client]...)
	buf = append(buf, `","event_id":"`...)
	buf = g.appendUUID(buf)
	buf = append(buf, `","event_timestamp":`...)
	buf = strconv.AppendInt(buf, g.startMS+u/keys, 10)
	buf = append(buf, `,"event_type":"`...)
	buf = append(buf, spec.Type.String()...)
	buf = append(buf, `","event_key":"`...)
	buf = append(buf, spec.Name...)
	buf = append(buf, `","event_value":`...)
	buf = appendValue(buf, g.value(spec, client*g.cfg.Keys+key), spec.Integer)
	buf = append(buf, '}')
	if d > 0 {
		enc := buf[start:]
		if len(g.recent) < recentEvents {
			g.recent = append(g.recent, slices.Clone(enc))
		} else {
			i := u % recentEvents
			g.recent[i] = append(g.recent[i][:0], enc...)
		}
	}
	g.news++
	return buf, false
}

// value returns the next value of a series: a random increment of a
// CUMULATIVE key, a step of a random walk within the key's range for a
// TIME-SERIES one; whole numbers for an integer key, else two decimals.
func (g *generator) value(spec *agent.KeySpec, series int) float64 {
	span := spec.Max - spec.Min
	var v float64
	if spec.Type == event.Cumulative {
		v = spec.Min + g.rng.Float64()*span
	} else {
		v = g.walk[series] + g.rng.NormFloat64()*span*0.02
		if v > spec.Max {
			v = 2*spec.Max - v
		}
		if v < spec.Min {
			v = 2*spec.Min - v
		}
		v = min(max(v, spec.Min), spec.Max)
		g.walk[series] = v
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

// generatorStats says what making bodies cost.
type generatorStats struct {
	bodies, events int64
	bytes          int64
	busy           time.Duration // time spent making bodies, not waiting
}

// add counts one body made in d.
func (s *generatorStats) add(b body, d time.Duration) {
	s.bodies++
	s.events += int64(b.events)
	s.bytes += int64(len(b.data))
	s.busy += d
}

// feed makes bodies and hands them to out until every event has been made
// or ctx ends, then closes out. It closes primed once out is full or
// nothing is left to make, so that the run can start the clock with the
// senders' first bodies waiting; atPrime gets a copy of st as it was then.
// It owns st and atPrime until it returns.
func (g *generator) feed(ctx context.Context, out chan<- body, primed chan<- struct{}, st, atPrime *generatorStats, sizeHint int) {
	defer close(out)
	isPrimed := false
	prime := func() {
		if !isPrimed {
			isPrimed = true
			*atPrime = *st
			close(primed)
		}
	}
	defer prime()
	for ctx.Err() == nil {
		t0 := time.Now()
		b, ok := g.nextBody(sizeHint)
		if !ok {
			return
		}
		st.add(b, time.Since(t0))
		sizeHint = max(sizeHint, len(b.data))
		select {
		case out <- b:
		case <-ctx.Done():
			return
		}
		if len(out) == cap(out) {
			prime()
		}
	}
}
