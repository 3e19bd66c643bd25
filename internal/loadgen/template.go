package loadgen

import (
	"bytes"
	"compress/gzip"
	"context"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The bodies of a stream (the preload, or the timed part of a run) come
// from templates made before the clock starts. Body k is template
// k mod len(templates). Its first use sends it as it was made; each later
// use first patches it in place: every new event gets the client id, event
// id and timestamp of its number, fields of fixed width at fixed offsets,
// which costs a sender about 16 ns an event in batches of 1,000 where
// encoding one costs ten times as much.
//
// Of the first j events of a stream, ⌊j·Duplicates⌋ repeat an earlier one,
// exactly so at the end of every body. The first use of a template has them
// made into it, where that floor steps up: copies of recent new events of
// earlier bodies, or of earlier events of the same body. A later use leaves
// its duplicates as the template's previous use sent them, byte for byte
// events sent before; it picks them, spread evenly over the body, among
// the events that were new in the previous use, so that each repeats an
// event sent one round of the templates ago (only above one duplicate in
// two must some repeat one that was itself a repeat, an older event).
//
// gzip bodies cannot be patched: with Gzip every body is made, patched and
// compressed before the clock starts.

// Sizes of a stream's templates.
const (
	// templatesPerSender sets the number of templates: enough that a
	// sender seldom finds its next one still held by an earlier request,
	// and few enough to stay in the processor's caches. Patching batches
	// of 1,000 in a round against an in-process server took 16 ns an event
	// with 2 templates a sender, 26 with 4 and 35 to 40 with 8.
	templatesPerSender = 2
	// minTemplateEvents is the fewest events the templates hold, so that
	// values vary and single events still go round the keys and clients.
	minTemplateEvents = 4096
	// templateBudget bounds the memory of a stream's templates, with
	// eventSizeGuess the size of an encoded event.
	templateBudget = 64 << 20
	eventSizeGuess = 240
	// recentEvents is how many of the latest new events a duplicate made
	// into a template is drawn from.
	recentEvents = 4096
)

// template is a body whose new events are patched for each use. Bodies
// k, k+n, k+2n… of a stream of n templates use it, one at a time and in
// that order.
type template struct {
	data []byte
	at   []int32 // where each event starts in data
	dup  []bool  // which events were duplicates in the last use
	dups int     // how many

	turnMu   sync.Mutex // guards turn
	turnCond sync.Cond  // signalled when turn changes
	turn     int64      // the body that uses the template next
}

// acquire waits until body k may use t, and returns how long it waited.
func (t *template) acquire(k int64) time.Duration {
	t.turnMu.Lock()
	defer t.turnMu.Unlock()
	if t.turn == k {
		return 0
	}
	t0 := time.Now()
	for t.turn != k {
		t.turnCond.Wait()
	}
	return time.Since(t0)
}

// release hands t on to the body after k, n bodies later.
func (t *template) release(k int64, n int) {
	t.turnMu.Lock()
	t.turn = k + int64(n)
	t.turnMu.Unlock()
	t.turnCond.Broadcast()
}

// stream hands out the bodies of one part of a run, by index. Its
// methods are safe for concurrent use once it is made, but for release.
type stream struct {
	con     *content
	batch   int
	format  Format
	dupRate float64
	// first is the number of the stream's first new event: the new events
	// of the preload come before.
	first int64
	// events is the number of events in the stream; 0 for no limit.
	events int64
	// count is the number of bodies to hand out, and complete says whether
	// they are all the stream has: not when gzip bodies did not all fit.
	count    int64
	complete bool
	next     atomic.Int64 // the next body to hand out

	templates []*template
	// pre holds every body when they were made before the clock, one
	// after the other: body k ends at preEnds[k].
	pre     []byte
	preEnds []int64

	// sameClients says that every event of a template keeps its client
	// from one use to the next: without duplicates, when the templates
	// hold whole rounds of the clients' keys.
	sameClients bool
	// clockCost is what reading the clock costs, taken off each timed
	// patch.
	clockCost time.Duration
}

// newStream makes the templates of a stream of cfg whose new events are
// numbered from first: cfg.Events events, or bodies without end when it is
// 0. With cfg.Gzip it makes every body too, compressed, up to
// cfg.PregenerateBytes, unless ctx ends first.
func newStream(ctx context.Context, cfg Config, con *content, first int64) *stream {
	return newStreamOf(ctx, cfg, con, first, templateCount(cfg))
}

// templateCount returns the number of templates of a stream of cfg: a few
// for each sender, and enough to hold minTemplateEvents and every key
// among their new events, within templateBudget.
func templateCount(cfg Config) int {
	events := max(minTemplateEvents, int(math.Ceil(float64(cfg.Keys)/(1-cfg.Duplicates))))
	n := max(templatesPerSender*cfg.Connections, (events+cfg.Batch-1)/cfg.Batch)
	return min(n, max(2, templateBudget/(cfg.Batch*eventSizeGuess)))
}

// newStreamOf is newStream with at most templates templates.
func newStreamOf(ctx context.Context, cfg Config, con *content, first int64, templates int) *stream {
	s := &stream{con: con, batch: cfg.Batch, format: cfg.Format, dupRate: cfg.Duplicates, first: first, events: cfg.Events,
		count: math.MaxInt64, complete: true, clockCost: clockCost()}
	if cfg.Events > 0 {
		s.count = (cfg.Events + int64(cfg.Batch) - 1) / int64(cfg.Batch)
	}
	s.makeTemplates(int(min(int64(templates), s.count)))
	s.sameClients = s.dupRate == 0 && len(s.templates)*s.batch%(len(con.keys)*len(con.clients)) == 0
	if cfg.Gzip {
		s.pregenerate(ctx, cfg.PregenerateBytes)
	}
	return s
}

// array reports whether a body is a JSON array.
func (s *stream) array() bool { return s.format == JSON && s.batch > 1 }

// eventsIn returns the number of events in body k.
func (s *stream) eventsIn(k int64) int {
	if s.events > 0 && k == s.events/int64(s.batch) {
		return int(s.events % int64(s.batch))
	}
	return s.batch
}

// dupsBefore returns how many of the stream's first j events repeat an
// earlier one: ⌊j·Duplicates⌋, each at the j where that floor steps up.
// The first event is never one.
func (s *stream) dupsBefore(j int64) int64 {
	if s.dupRate == 0 {
		return 0
	}
	return int64(math.Floor(float64(j) * s.dupRate))
}

// dupsIn returns the number of duplicates in body k of n events.
func (s *stream) dupsIn(k int64, n int) int {
	j := k * int64(s.batch)
	return int(s.dupsBefore(j+int64(n)) - s.dupsBefore(j))
}

// makeTemplates makes n templates: the first n bodies of the stream.
func (s *stream) makeTemplates(n int) {
	s.templates = make([]*template, n)
	keys := int64(len(s.con.keys))
	var recent []int64 // the latest new events of the stream, by j; a ring
	news := int64(0)
	for k := range s.templates {
		t := &template{turn: int64(k)}
		t.turnCond.L = &t.turnMu
		events := s.eventsIn(int64(k))
		t.data = make([]byte, 0, events*eventSizeGuess+2)
		t.at = make([]int32, events)
		t.dup = make([]bool, events)
		if s.array() {
			t.data = append(t.data, '[')
		}
		for i := range events {
			if i > 0 && s.array() {
				t.data = append(t.data, ',')
			}
			t.at[i] = int32(len(t.data))
			j := int64(k)*int64(s.batch) + int64(i)
			if s.dupsBefore(j+1) > s.dupsBefore(j) { // j > 0, so some event before it is new
				src := recent[s.con.rng.IntN(len(recent))]
				t.data = append(t.data, s.madeEvent(t, src)...)
				t.dup[i] = true
				t.dups++
			} else {
				e := s.first + news
				t.data = s.con.appendEvent(t.data, e, int(e%keys))
				if len(recent) < recentEvents {
					recent = append(recent, j)
				} else {
					recent[news%recentEvents] = j
				}
				news++
			}
			if s.format == NDJSON {
				t.data = append(t.data, '\n')
			}
		}
		if s.array() {
			t.data = append(t.data, ']')
		}
		s.templates[k] = t
	}
}

// madeEvent returns the encoding of event j of the stream as it was made
// into its template, where cur is the template being made.
func (s *stream) madeEvent(cur *template, j int64) []byte {
	t := s.templates[j/int64(s.batch)]
	if t == nil {
		t = cur
	}
	ev := t.data[t.at[j%int64(s.batch)]:]
	return ev[:bytes.IndexByte(ev, '}')+1] // the object is flat: its strings hold no brace
}

// take returns the index of the next body and the number of its events,
// or false when none is left.
func (s *stream) take() (int64, int, bool) {
	k := s.next.Add(1) - 1
	if k >= s.count {
		return 0, 0, false
	}
	return k, s.eventsIn(k), true
}

// exhausted reports whether every body has been handed out.
func (s *stream) exhausted() bool { return s.next.Load() >= s.count }

// ready returns body k, of n events, and the function to call once the
// transport is done with it (nil for none). It waits until the body's
// template is free, then patches it; what that took goes to w's counts.
func (s *stream) ready(k int64, n int, w *worker) ([]byte, func()) {
	if s.pre != nil {
		start := int64(0)
		if k > 0 {
			start = s.preEnds[k-1]
		}
		return s.pre[start:s.preEnds[k]], nil
	}
	t := s.templates[k%int64(len(s.templates))]
	w.waited += t.acquire(k)
	if k >= int64(len(s.templates)) {
		t0 := time.Now()
		s.patch(t, k, n)
		w.patchTime += max(0, time.Since(t0)-s.clockCost)
		w.patched += int64(n)
	}
	return s.bodyOf(t, n), func() { t.release(k, len(s.templates)) }
}

// skip passes over body k, taken but not to be sent, so that the bodies
// after it that share its template are not kept waiting for it.
func (s *stream) skip(k int64) {
	if s.pre == nil {
		t := s.templates[k%int64(len(s.templates))]
		t.acquire(k)
		t.release(k, len(s.templates))
	}
}

// patch readies t for body k, of n events, by giving each of its new
// events the client id, event id and timestamp of its number. Its
// duplicates keep what the template's previous use sent.
func (s *stream) patch(t *template, k int64, n int) {
	j := k * int64(s.batch)
	p := s.con.newPatcher(s.first + j - s.dupsBefore(j)) // the number of the body's first new event
	p.sameClients = s.sameClients
	dups := s.dupsIn(k, n)
	if dups == 0 && t.dups == 0 {
		for _, at := range t.at[:n] {
			p.patch(t.data[at:])
		}
		return
	}
	pick := t.newDupPicker(dups, n)
	for i, at := range t.at[:n] {
		if !pick.next(t, i) {
			p.patch(t.data[at:])
		}
	}
}

// patcher gives new events, in order, the client id, event id and
// timestamp of their numbers.
type patcher struct {
	con    *content
	e      int64 // the number of the next event
	key    int64 // e mod keys
	client int   // the client of e
	ts     [tsLen]byte
	// sameClients says the events already have their clients.
	sameClients bool
}

// newPatcher returns a patcher whose first event is e.
func (c *content) newPatcher(e int64) patcher {
	keys := int64(len(c.keys))
	round := e / keys
	p := patcher{con: c, e: e, key: e - round*keys, client: int(round % int64(len(c.clients)))}
	strconv.AppendInt(p.ts[:0], c.startMS+round, 10) // ts(e)
	return p
}

// patch writes the fields of the next event into ev, an encoded event.
func (p *patcher) patch(ev []byte) {
	if !p.sameClients {
		copy(ev[clientAt:clientAt+uuidLen], p.con.clients[p.client])
	}
	putIDCount(ev[idAt+idCountAt:idAt+uuidLen], idCount(p.e))
	copy(ev[tsAt:tsAt+tsLen], p.ts[:])
	p.e++
	if p.key++; p.key == int64(len(p.con.keys)) {
		p.key = 0
		if p.client++; p.client == len(p.con.clients) {
			p.client = 0
		}
		increment(p.ts[:])
	}
}

// dupPicker chooses which events of a template are duplicates in its next
// use: as many as can be among those that were new in the last use, the
// rest among those that were not, evenly spread over each.
type dupPicker struct {
	fromNew, wasNew int // to pick among the events that were new, of how many
	fromDup, wasDup int
	x, y            int // events seen so far that were new, and that were duplicates
}

// newDupPicker returns the picker of dups duplicates among the first n
// events of t, and records their number.
func (t *template) newDupPicker(dups, n int) dupPicker {
	wasDup := 0
	for _, d := range t.dup[:n] {
		if d {
			wasDup++
		}
	}
	fromNew := min(dups, n-wasDup)
	t.dups = dups
	return dupPicker{fromNew: fromNew, wasNew: n - wasDup, fromDup: dups - fromNew, wasDup: wasDup}
}

// next reports whether event i of t, called for each in order, is a
// duplicate, and records it.
func (p *dupPicker) next(t *template, i int) bool {
	var d bool
	if t.dup[i] {
		d = (p.y+1)*p.fromDup/p.wasDup > p.y*p.fromDup/p.wasDup
		p.y++
	} else {
		d = (p.x+1)*p.fromNew/p.wasNew > p.x*p.fromNew/p.wasNew
		p.x++
	}
	t.dup[i] = d
	return d
}

// bodyOf returns the body of n events that t holds: all of it, or for the
// last body of a stream only the first n events.
func (s *stream) bodyOf(t *template, n int) []byte {
	if n == len(t.at) {
		return t.data
	}
	end := int(t.at[n])
	if s.array() {
		t.data[end-1] = ']' // was the comma before event n: no later body uses t
	}
	return t.data[:end]
}

// increment adds 1 to the decimal number in digits.
func increment(digits []byte) {
	for i := len(digits) - 1; i >= 0; i-- {
		if digits[i] < '9' {
			digits[i]++
			return
		}
		digits[i] = '0'
	}
}

// pregenerate makes, patches and compresses the stream's bodies in order,
// until they are all made, their size reaches budget or ctx ends. The
// templates go once it is done.
func (s *stream) pregenerate(ctx context.Context, budget int64) {
	var zbuf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zbuf, gzip.BestSpeed) // a valid level: no error
	k := int64(0)
	for ; k < s.count && int64(len(s.pre)) < budget && ctx.Err() == nil; k++ {
		n := s.eventsIn(k)
		t := s.templates[k%int64(len(s.templates))]
		if k >= int64(len(s.templates)) {
			s.patch(t, k, n)
		}
		zbuf.Reset()
		zw.Reset(&zbuf)
		zw.Write(s.bodyOf(t, n)) // writes to a bytes.Buffer: no error
		zw.Close()
		s.pre = append(s.pre, zbuf.Bytes()...)
		s.preEnds = append(s.preEnds, int64(len(s.pre)))
	}
	s.complete = k == s.count
	s.count = k
	s.templates = nil
}

// release drops the bodies, so that the collector may have them before
// the server's memory is read. It is called once the senders are done.
func (s *stream) release() {
	s.templates, s.pre, s.preEnds = nil, nil, nil
}

// clockCost returns about what reading the clock costs: the least time
// between two readings.
func clockCost() time.Duration {
	least := time.Duration(math.MaxInt64)
	for range 32 {
		t0 := time.Now()
		least = min(least, time.Since(t0))
	}
	return least
}
