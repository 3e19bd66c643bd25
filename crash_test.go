package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/montool/montool/internal/outputtest"
)

// crashSeed fixes the random choices of TestCrashRecovery (kill moments,
// event content, repeats); 0 picks a new seed, which the test logs.
var crashSeed = flag.Uint64("crash.seed", 0, "seed of TestCrashRecovery's random choices; 0 picks one and logs it")

// The shape of TestCrashRecovery's load.
const (
	crashWriters    = 4
	crashCycles     = 5
	crashBatch      = 50  // events per request
	crashRepeats    = 10  // of them, events of earlier requests sent again
	crashMaxBatches = 800 // requests per writer: a bound on the work (and run time), not a target
	// crashPace is the least time between two requests of a writer: it
	// spreads the work over all the cycles, so that the checks after each
	// restart stay quick whatever the speed of the machine.
	crashPace       = 8 * time.Millisecond
	crashResend     = 1000 // events per request when everything is sent again
	crashBaseMillis = 1_763_850_000_000
)

// crashClients are the client ids the writers send as; one is a UUID, so
// that the log's two encodings of ids are both used.
var crashClients = []string{"crash-client-a", "crash-client-b", "3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b"}

// crashKeys are the keys the writers send, with their types.
var crashKeys = []struct{ name, typ string }{
	{"requests_total", "CUMULATIVE"}, // whole values
	{"bytes_total", "CUMULATIVE"},    // halves: 0.5, 1, 1.5, …
	{"cpu_percent", "TIME-SERIES"},
	{"memory_bytes", "TIME-SERIES"},
	{"latency_ms", "TIME-SERIES"},
	{"queue_depth", "TIME-SERIES"},
}

// TestCrashRecovery kills a durable server with SIGKILL at random moments
// while writers send to it, restarts it on the same data directory, and
// checks after each restart and at the end that nothing acknowledged was
// lost, nothing was invented and nothing counts twice.
func TestCrashRecovery(t *testing.T) {
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -crash.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	r := newRunner(t)
	c := newTestClient()
	defer c.CloseIdleConnections()
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--fsync", "always", "--snapshot-interval", "300ms"}

	p := r.serve(t, args...)
	p.waitListening(t)
	p.waitReady(t, c)
	if snap, replayed := p.loaded(t); snap != 0 || replayed != 0 {
		t.Errorf("an empty data directory loaded snapshot_events=%d replayed_events=%d, want 0 and 0", snap, replayed)
	}

	// The writers send to the server of the current epoch; when a request
	// fails they wait for the next one.
	var cur atomic.Pointer[epoch]
	cur.Store(&epoch{url: p.url, next: make(chan struct{})})
	stop := make(chan struct{})
	writers := make([]*crashWriter, crashWriters)
	var wg sync.WaitGroup
	for i := range writers {
		w := &crashWriter{id: i, rng: rand.New(rand.NewPCG(seed, uint64(i+1))), client: c}
		writers[i] = w
		wg.Go(func() { w.run(&cur, stop) })
	}
	stopWriters := sync.OnceFunc(func() {
		close(stop)
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("writers still running 30s after being stopped")
		}
	})
	defer stopWriters() // also when the test fails on the way

	snapshotsLoaded := 0
	for cycle := 1; cycle <= crashCycles; cycle++ {
		delay := 200*time.Millisecond + time.Duration(rng.IntN(701))*time.Millisecond
		select {
		case <-time.After(delay):
		case <-p.exited:
			t.Fatalf("cycle %d: serve exited on its own (%s); stderr:\n%s", cycle, p.cmd.ProcessState, p.stderr.String())
		}
		// Then at a moment when requests are in flight, if one comes soon.
		inFlight := waitInFlight(writers, 2, 200*time.Millisecond)
		p.kill(t)

		p = r.serve(t, args...)
		p.waitListening(t)
		p.waitReady(t, c)
		snap, replayed := p.loaded(t)
		if snap > 0 {
			snapshotsLoaded++
		}

		// The writers wait for the next server now. What was acknowledged
		// is read before the dump and what was sent after it, so that the
		// bounds hold even if a writer reached this server.
		acked := collectAcked(writers)
		dumps := dumpClients(t, c, p.url, crashClients)
		recs := collectSent(writers, acked)
		stored := checkStore(t, dumps, recs)
		if snap+replayed < int64(len(acked)) {
			t.Errorf("cycle %d: loaded snapshot_events=%d replayed_events=%d, fewer than the %d events acknowledged",
				cycle, snap, replayed, len(acked))
		}
		t.Logf("cycle %d: killed %s after the writers were pointed at it (then at most 200ms for requests in flight: %d); restart loaded snapshot_events=%d replayed_events=%d; %d events sent, %d acknowledged, %d stored",
			cycle, delay, inFlight, snap, replayed, len(recs), len(acked), stored)
		if t.Failed() {
			t.FailNow()
		}

		if cycle < crashCycles {
			old := cur.Load()
			cur.Store(&epoch{url: p.url, next: make(chan struct{})})
			close(old.next)
		}
	}
	// The writers wait for a server that will not come; what they learnt
	// before the last kill completes the record.
	stopWriters()

	var requests, answered, failed, resentUnanswered int
	for _, w := range writers {
		requests += w.requests
		answered += w.answered
		failed += w.failed
		resentUnanswered += w.resentUnanswered
		for _, msg := range w.problems {
			t.Errorf("writer %d: %s", w.id, msg)
		}
	}
	t.Logf("writers: %d requests, %d answered 2xx, %d without an answer; %d events of unanswered requests sent again",
		requests, answered, failed, resentUnanswered)
	for _, w := range writers {
		if w.requests >= crashMaxBatches {
			t.Logf("writer %d stopped at its bound of %d requests", w.id, crashMaxBatches)
		}
	}
	if failed == 0 || resentUnanswered == 0 {
		t.Errorf("no request went unanswered, or none of their events was sent again: the kills did not test what they should")
	}
	if snapshotsLoaded == 0 {
		t.Errorf("no restart loaded a snapshot: the kills never came after one")
	}

	// After the writers: the same bounds.
	acked := collectAcked(writers)
	recs := collectSent(writers, acked)
	storedBefore := checkStore(t, dumpClients(t, c, p.url, crashClients), recs)
	if t.Failed() {
		t.FailNow()
	}

	// Send every event again: each must be new or a duplicate, never an
	// error, and never new when it was acknowledged. Then the store holds
	// exactly what was sent.
	accepted := 0
	for batch := range slices.Chunk(recs, crashResend) {
		sum := postAll(t, c, p.url, batch, true)
		accepted += sum.Accepted
	}
	for i := range recs {
		recs[i].acked = true
	}
	storedAfter := checkStore(t, dumpClients(t, c, p.url, crashClients), recs)
	if storedAfter != len(recs) {
		t.Errorf("after sending everything again the store holds %d events, want the %d distinct events sent", storedAfter, len(recs))
	}
	if storedBefore+accepted != len(recs) {
		t.Errorf("the store held %d events and took %d more when everything was sent again, want %d in all", storedBefore, accepted, len(recs))
	}

	// A second time, everything is a duplicate and nothing changes, to
	// the byte.
	before := dumpClients(t, c, p.url, crashClients)
	for batch := range slices.Chunk(recs, crashResend) {
		if sum := postAll(t, c, p.url, batch, false); sum.Accepted != 0 {
			t.Errorf("sending %d events a second time accepted %d", len(batch), sum.Accepted)
		}
	}
	after := dumpClients(t, c, p.url, crashClients)
	for _, id := range crashClients {
		if b, a := before[id], after[id]; b == nil || a == nil || !bytes.Equal(a.raw, b.raw) {
			t.Errorf("the dump of %s changed when every event was sent a second time", id)
		}
	}

	// A clean stop writes a snapshot that holds everything, and the log
	// after it is empty.
	p.terminate(t)
	p = r.serve(t, args...)
	p.waitListening(t)
	p.waitReady(t, c)
	if snap, replayed := p.loaded(t); snap != int64(len(recs)) || replayed != 0 {
		t.Errorf("after a clean stop, loaded snapshot_events=%d replayed_events=%d, want %d and 0", snap, replayed, len(recs))
	}
	checkStore(t, dumpClients(t, c, p.url, crashClients), recs)
	p.terminate(t)
}

// epoch is one server of TestCrashRecovery: its URL, and a channel closed
// when the next one is up.
type epoch struct {
	url  string
	next chan struct{}
}

// crashWriter sends batches of events, new ones and repeats, and records
// what became of each request.
type crashWriter struct {
	id       int
	rng      *rand.Rand // used by the writer's goroutine only
	client   *http.Client
	made     int          // events made so far; owned by the writer's goroutine
	inFlight atomic.Int32 // requests sent and not yet answered or failed

	mu               sync.Mutex   // guards the fields below, read by the test
	events           []*sentEvent // every event sent, in the order first sent
	unanswered       []*sentEvent // events of requests that got no answer, to send again
	requests         int
	answered         int // requests answered 2xx
	failed           int // requests with no answer
	resentUnanswered int // events sent again after a request without an answer
	problems         []string
}

// sentEvent is an event sent, and whether a request that held it was
// answered 2xx.
type sentEvent struct {
	ev      testEvent
	acked   bool
	pending bool // in unanswered
}

// run sends until stop is closed, or crashMaxBatches requests.
func (w *crashWriter) run(cur *atomic.Pointer[epoch], stop <-chan struct{}) {
	pace := time.NewTicker(crashPace)
	defer pace.Stop()
	for w.requests < crashMaxBatches { // requests is written by this goroutine only
		select {
		case <-stop:
			return
		case <-pace.C:
		}
		ep := cur.Load()
		if w.send(ep.url) {
			continue
		}
		select { // the server is gone: wait for the next
		case <-ep.next:
		case <-stop:
			return
		case <-time.After(5 * time.Second):
		}
	}
}

// send sends one batch and reports whether it was answered 2xx.
func (w *crashWriter) send(url string) bool {
	batch, recs := w.makeBatch()
	w.inFlight.Add(1)
	status, body, err := postEvents(w.client, url, batch)
	w.inFlight.Add(-1)

	w.mu.Lock()
	defer w.mu.Unlock()
	w.requests++
	if status == http.StatusOK || status == http.StatusAccepted {
		// The status line comes after the events are in the log, even if
		// the kill then cut the body short.
		w.answered++
		wasAcked := 0
		for _, r := range recs {
			if r.acked {
				wasAcked++
			}
			r.acked = true
		}
		if err != nil {
			return true
		}
		if msg := checkSummary(status, body, len(batch), wasAcked); msg != "" {
			w.problems = append(w.problems, msg)
		}
		return true
	}
	if err == nil {
		w.problems = append(w.problems, fmt.Sprintf("a batch of %d events got status %d: %s", len(batch), status, body))
	} else {
		w.failed++
	}
	for _, r := range recs {
		if !r.acked && !r.pending {
			r.pending = true
			w.unanswered = append(w.unanswered, r)
		}
	}
	return false
}

// makeBatch returns a batch of crashBatch events: up to crashRepeats sent
// before, half of them from requests that got no answer if there are such,
// and new ones.
func (w *crashWriter) makeBatch() ([]testEvent, []*sentEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	chosen := make(map[*sentEvent]bool, crashRepeats)
	recs := make([]*sentEvent, 0, crashBatch)
	for len(w.unanswered) > 0 && len(recs) < crashRepeats/2 {
		r := w.unanswered[0]
		w.unanswered = w.unanswered[1:]
		r.pending = false
		if !r.acked && !chosen[r] {
			chosen[r] = true
			recs = append(recs, r)
			w.resentUnanswered++
		}
	}
	for try := 0; len(recs) < crashRepeats && len(w.events) > 0 && try < 4*crashRepeats; try++ {
		if r := w.events[w.rng.IntN(len(w.events))]; !chosen[r] {
			chosen[r] = true
			recs = append(recs, r)
		}
	}
	for len(recs) < crashBatch {
		r := &sentEvent{ev: w.newEvent()}
		w.events = append(w.events, r)
		recs = append(recs, r)
	}
	w.rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	batch := make([]testEvent, len(recs))
	for i, r := range recs {
		batch[i] = r.ev
	}
	return batch, recs
}

// newEvent makes an event never sent before; every other one has a UUID for
// its id.
func (w *crashWriter) newEvent() testEvent {
	n := w.made
	w.made++
	id := fmt.Sprintf("w%d-e%d", w.id, n)
	if n%2 == 0 {
		id = fmt.Sprintf("%08x-0000-4000-8000-%012x", w.id, n)
	}
	k := crashKeys[w.rng.IntN(len(crashKeys))]
	ev := testEvent{
		ClientID:  crashClients[w.rng.IntN(len(crashClients))],
		ID:        id,
		Timestamp: crashBaseMillis + w.rng.Int64N(3_600_000),
		Type:      k.typ,
		Key:       k.name,
	}
	switch k.name {
	case "requests_total":
		ev.Value = float64(1 + w.rng.IntN(100))
	case "bytes_total":
		ev.Value = float64(1+w.rng.IntN(2000)) / 2 // sums of halves are exact
	default:
		ev.Value = float64(w.rng.IntN(80_001)-40_000) / 4
	}
	return ev
}

// waitInFlight waits up to timeout for at least n requests of the writers
// to be in flight, and returns how many are.
func waitInFlight(writers []*crashWriter, n int, timeout time.Duration) int {
	poll := time.NewTicker(time.Millisecond)
	defer poll.Stop()
	deadline := time.Now().Add(timeout)
	for i := 0; ; i++ {
		inFlight := 0
		for _, w := range writers {
			inFlight += int(w.inFlight.Load())
		}
		if inFlight >= n || i >= 1000 || time.Now().After(deadline) {
			return inFlight
		}
		<-poll.C
	}
}

// collectAcked returns the events acknowledged so far, by client and id.
func collectAcked(writers []*crashWriter) map[eventKey]bool {
	acked := map[eventKey]bool{}
	for _, w := range writers {
		w.mu.Lock()
		for _, r := range w.events {
			if r.acked {
				acked[eventKey{r.ev.ClientID, r.ev.ID}] = true
			}
		}
		w.mu.Unlock()
	}
	return acked
}

// collectSent returns every event sent so far, acknowledged when acked
// holds it.
func collectSent(writers []*crashWriter, acked map[eventKey]bool) []sentRecord {
	var recs []sentRecord
	for _, w := range writers {
		w.mu.Lock()
		for _, r := range w.events {
			recs = append(recs, sentRecord{ev: r.ev, acked: acked[eventKey{r.ev.ClientID, r.ev.ID}]})
		}
		w.mu.Unlock()
	}
	return recs
}

// TestDataDirDamage prepares a data directory, damages it as a crash or a
// disk could, and checks what `montool serve` makes of it: a torn tail is
// cut off, a leftover temporary snapshot removed; damage that would lose
// data stops the start-up with the file and the offset named, and undoing
// it (or removing the bad snapshot) loads everything.
func TestDataDirDamage(t *testing.T) {
	r := newRunner(t)
	c := newTestClient()
	defer c.CloseIdleConnections()

	tests := []struct {
		name string
		// stop is how the server that fills the directory stops: SIGKILL
		// leaves only the log, SIGTERM a snapshot too.
		stop syscall.Signal
		// damage damages dir and returns the file it damaged.
		damage func(t *testing.T, dir string) string
		// For a start-up that must fail: wantOffset checks the offset in
		// the message against the size of the damaged file, and repair
		// undoes the damage, after which every event must load.
		wantOffset func(offset, size int64) bool
		repair     func(t *testing.T, dir, file string)
		// For a start-up that must succeed: the log line it writes, the
		// number of the two requests whose events it must hold, and more
		// checks.
		wantLog func(dir, file string) string
		kept    int
		check   func(t *testing.T, dir, file string, p *serveProc)
	}{
		{
			name: "torn log tail",
			stop: syscall.SIGKILL,
			damage: func(t *testing.T, dir string) string {
				segs := walSegments(t, dir)
				file := segs[len(segs)-1]
				truncateBy(t, file, 3)
				return file
			},
			wantLog: func(dir, file string) string {
				return `level=WARN msg="cut a torn record off the end of the write-ahead log.*file=` + regexp.QuoteMeta(file)
			},
			kept: 1,
			check: func(t *testing.T, dir, file string, p *serveProc) {
				// The file is cut where the first request's frame ends.
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if len(data) < 12 {
					t.Fatalf("%s holds %d bytes after the cut, not even a frame header", file, len(data))
				}
				end := 12 + int64(binary.LittleEndian.Uint32(data)) // the header: length and two CRCs
				if int64(len(data)) != end {
					t.Errorf("%s is %d bytes after the cut, want %d: the end of its first frame", file, len(data), end)
				}
				if !regexp.MustCompile(`torn.* offset=` + strconv.FormatInt(end, 10) + ` `).MatchString(p.stderr.String()) {
					t.Errorf("the warning does not say offset=%d:\n%s", end, p.stderr.String())
				}
			},
		},
		{
			name: "flipped byte mid-log",
			stop: syscall.SIGKILL,
			damage: func(t *testing.T, dir string) string {
				file := firstNonEmpty(t, walSegments(t, dir))
				flipByte(t, file, 12+20) // inside the payload of the first of two frames
				return file
			},
			wantOffset: func(offset, _ int64) bool { return offset == 0 },
			repair: func(t *testing.T, dir, file string) {
				flipByte(t, file, 12+20)
			},
		},
		{
			name: "empty snapshot",
			stop: syscall.SIGTERM,
			damage: func(t *testing.T, dir string) string {
				file := newestSnapshot(t, dir)
				if err := os.Truncate(file, 0); err != nil {
					t.Fatal(err)
				}
				return file
			},
			wantOffset: func(offset, _ int64) bool { return offset == 0 },
			repair:     removeFile,
		},
		{
			name: "partial snapshot",
			stop: syscall.SIGTERM,
			damage: func(t *testing.T, dir string) string {
				file := newestSnapshot(t, dir)
				truncateBy(t, file, fileSize(t, file)/2)
				return file
			},
			wantOffset: func(offset, size int64) bool { return offset > 0 && offset < size },
			repair:     removeFile,
		},
		{
			name: "leftover temporary snapshot",
			stop: syscall.SIGTERM,
			damage: func(t *testing.T, dir string) string {
				file := filepath.Join(dir, "snapshot-00000000000000ff.snap.tmp")
				if err := os.WriteFile(file, []byte("montool snapshot 1\nhalf written junk"), 0o644); err != nil {
					t.Fatal(err)
				}
				return file
			},
			wantLog: func(dir, file string) string {
				return `level=WARN msg="removing a snapshot left half written" file=` + regexp.QuoteMeta(filepath.Base(file))
			},
			kept: 2,
			check: func(t *testing.T, dir, file string, p *serveProc) {
				if _, err := os.Stat(file); !os.IsNotExist(err) {
					t.Errorf("%s is still there (stat: %v)", file, err)
				}
				if snap, replayed := p.loaded(t); snap != 300 || replayed != 0 {
					t.Errorf("loaded snapshot_events=%d replayed_events=%d, want 300 and 0", snap, replayed)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"--data-dir", dir, "--fsync", "always", "--snapshot-interval", "0"}

			// Fill the directory: two requests of 150 events.
			requests := [2][]testEvent{damageEvents(1), damageEvents(2)}
			p := r.serve(t, args...)
			p.waitListening(t)
			p.waitReady(t, c)
			for _, events := range requests {
				if status, body, err := postEvents(c, p.url, events); err != nil || status != http.StatusAccepted {
					t.Fatalf("POST of %d events: status %d, %v: %s", len(events), status, err, body)
				}
			}
			if tt.stop == syscall.SIGKILL {
				p.kill(t)
			} else {
				p.terminate(t)
			}

			file := tt.damage(t, dir)
			p = r.serve(t, args...)

			if tt.repair != nil {
				size := fileSize(t, file)
				code := p.waitExit(t, 10*time.Second)
				stderr := p.stderr.String()
				if code != 1 {
					t.Errorf("serve exited %d on a damaged %s, want 1; stderr:\n%s", code, filepath.Base(file), stderr)
				}
				if !strings.Contains(stderr, file) {
					t.Errorf("stderr does not name %s:\n%s", file, stderr)
				}
				if m := regexp.MustCompile(`damaged at byte offset (\d+)`).FindStringSubmatch(stderr); m == nil {
					t.Errorf("stderr does not say \"damaged at byte offset N\":\n%s", stderr)
				} else if off, _ := strconv.ParseInt(m[1], 10, 64); !tt.wantOffset(off, size) {
					t.Errorf("stderr says damaged at byte offset %d of a %d-byte file, which is not where the damage is:\n%s", off, size, stderr)
				}

				// Undone, the directory loads whole.
				tt.repair(t, dir, file)
				p = r.serve(t, args...)
				p.waitListening(t)
				p.waitReady(t, c)
				checkStore(t, dumpClients(t, c, p.url, []string{damageClient}), damageRecords(requests[0], requests[1]))
				p.terminate(t)
				return
			}

			p.waitListening(t)
			p.waitReady(t, c)
			if re := regexp.MustCompile(tt.wantLog(dir, file)); !re.MatchString(p.stderr.String()) {
				t.Errorf("no log line matching %q:\n%s", re, p.stderr.String())
			}
			checkStore(t, dumpClients(t, c, p.url, []string{damageClient}), damageRecords(requests[:tt.kept]...))
			tt.check(t, dir, file, p)
			// The requests sent again: what was lost is taken anew, the
			// rest is duplicates.
			accepted := 0
			for _, events := range requests {
				status, body, err := postEvents(c, p.url, events)
				if err != nil || (status != http.StatusOK && status != http.StatusAccepted) {
					t.Fatalf("POST of %d events again: status %d, %v: %s", len(events), status, err, body)
				}
				var sum ingestSummary
				if err := json.Unmarshal(body, &sum); err != nil {
					t.Fatalf("answer %s: %v", body, err)
				}
				accepted += sum.Accepted
			}
			if want := 150 * (2 - tt.kept); accepted != want {
				t.Errorf("sending both requests again accepted %d events, want %d", accepted, want)
			}
			p.terminate(t)
		})
	}
}

// damageClient is the client of TestDataDirDamage's events.
const damageClient = "damage-client"

// damageEvents returns the 150 TIME-SERIES events of request n.
func damageEvents(n int) []testEvent {
	events := make([]testEvent, 150)
	for i := range events {
		key := "temperature"
		if i%2 == 1 {
			key = "load"
		}
		events[i] = testEvent{ClientID: damageClient, ID: fmt.Sprintf("r%d-e%03d", n, i),
			Timestamp: crashBaseMillis + int64(n*1000+i)*1000, Type: "TIME-SERIES", Key: key, Value: float64(n*1000+i) / 4}
	}
	return events
}

// damageRecords returns the events of the requests as acknowledged records.
func damageRecords(requests ...[]testEvent) []sentRecord {
	var recs []sentRecord
	for _, events := range requests {
		for _, ev := range events {
			recs = append(recs, sentRecord{ev: ev, acked: true})
		}
	}
	return recs
}

// walSegments returns the log segments of dir, oldest first.
func walSegments(t *testing.T, dir string) []string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "wal", "*.wal"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no log segment in %s (%v)", dir, err)
	}
	slices.Sort(segs) // 16 hex digits: the names sort as the numbers
	return segs
}

// firstNonEmpty returns the first file of files that is not empty.
func firstNonEmpty(t *testing.T, files []string) string {
	t.Helper()
	for _, f := range files {
		if fileSize(t, f) > 0 {
			return f
		}
	}
	t.Fatalf("all of %v are empty", files)
	return ""
}

// newestSnapshot returns the newest snapshot file of dir.
func newestSnapshot(t *testing.T, dir string) string {
	t.Helper()
	snaps, err := filepath.Glob(filepath.Join(dir, "snapshot-*.snap"))
	if err != nil || len(snaps) == 0 {
		t.Fatalf("no snapshot in %s (%v)", dir, err)
	}
	slices.Sort(snaps)
	return snaps[len(snaps)-1]
}

func fileSize(t *testing.T, file string) int64 {
	t.Helper()
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// truncateBy cuts n bytes off the end of file.
func truncateBy(t *testing.T, file string, n int64) {
	t.Helper()
	size := fileSize(t, file)
	if size < n || n <= 0 {
		t.Fatalf("cannot cut %d bytes off %s of %d bytes", n, file, size)
	}
	if err := os.Truncate(file, size-n); err != nil {
		t.Fatal(err)
	}
}

// flipByte inverts the byte at offset off of file.
func flipByte(t *testing.T, file string, off int64) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if off >= int64(len(data)) {
		t.Fatalf("%s has %d bytes, none at offset %d", file, len(data), off)
	}
	data[off] ^= 0xff
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func removeFile(t *testing.T, _, file string) {
	t.Helper()
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
}

// runner runs the montool binary built for a test, with an empty home and
// working directory and no MONTOOL_* variable, as TestEndToEnd does.
type runner struct {
	bin     string
	workdir string
	env     []string
}

func newRunner(t *testing.T) *runner {
	t.Helper()
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != "HOME" && name != "XDG_CONFIG_HOME" && !strings.HasPrefix(name, "MONTOOL_") {
			env = append(env, kv)
		}
	}
	return &runner{bin: buildBinary(t), workdir: t.TempDir(), env: env}
}

// serveProc is a running `montool serve`.
type serveProc struct {
	cmd    *exec.Cmd
	stderr *outputtest.Buffer
	exited chan struct{} // closed once the process has exited and cmd.ProcessState is set
	url    string        // http://HOST:PORT, set by waitListening
}

// serve starts `montool serve --addr 127.0.0.1:0` with args; the process is
// killed at the end of the test if it still runs.
func (r *runner) serve(t *testing.T, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(r.bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Dir = r.workdir
	cmd.Env = r.env
	p := &serveProc{cmd: cmd, stderr: outputtest.New(), exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

var listeningRE = regexp.MustCompile(`montool listening.*addr=(\S+)`)

// waitListening waits for the server's address in its log.
func (p *serveProc) waitListening(t *testing.T) {
	t.Helper()
	m := p.stderr.WaitFor(t, listeningRE, 10*time.Second, p.exited)
	p.url = "http://" + m[1]
}

// waitReady polls /readyz until it answers 200.
func (p *serveProc) waitReady(t *testing.T, c *http.Client) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for range 4000 {
		resp, err := c.Get(p.url + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
				return
			case http.StatusServiceUnavailable:
			default:
				t.Fatalf("GET /readyz: status %d, want 503 or 200", resp.StatusCode)
			}
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-p.exited:
			t.Fatalf("serve exited (%s) before it was ready; stderr:\n%s", p.cmd.ProcessState, p.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatalf("serve not ready within 20s; stderr:\n%s", p.stderr.String())
}

var loadedRE = regexp.MustCompile(`loaded the data directory.* snapshot_events=(\d+) replayed_events=(\d+) took=`)

// loaded returns the numbers of the "loaded the data directory" log line.
func (p *serveProc) loaded(t *testing.T) (snapshotEvents, replayedEvents int64) {
	t.Helper()
	m := p.stderr.WaitFor(t, loadedRE, 5*time.Second, p.exited)
	snapshotEvents, _ = strconv.ParseInt(m[1], 10, 64)
	replayedEvents, _ = strconv.ParseInt(m[2], 10, 64)
	return snapshotEvents, replayedEvents
}

// waitExit waits up to timeout for the process to end and returns its exit
// code, -1 when a signal ended it.
func (p *serveProc) waitExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		t.Fatalf("serve still running after %s; stderr:\n%s", timeout, p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// kill ends the server with SIGKILL.
func (p *serveProc) kill(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
		t.Fatalf("serve exited on its own (%s) before the kill; stderr:\n%s", p.cmd.ProcessState, p.stderr.String())
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.waitExit(t, 10*time.Second)
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("serve ended with %s, not by the SIGKILL; stderr:\n%s", p.cmd.ProcessState, p.stderr.String())
	}
}

// terminate stops the server with SIGTERM and expects exit code 0.
func (p *serveProc) terminate(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.waitExit(t, 20*time.Second); code != 0 {
		t.Fatalf("serve exited %d after SIGTERM, want 0; stderr:\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "wrote a snapshot") || !strings.Contains(p.stderr.String(), "msg=stopped") {
		t.Errorf("serve did not log a snapshot and \"stopped\" on SIGTERM:\n%s", p.stderr.String())
	}
}

// newTestClient returns a client for loopback servers, with keep-alive.
func newTestClient() *http.Client {
	return &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
}

// testEvent is an event as the API takes it; timestamps in milliseconds.
type testEvent struct {
	ClientID  string  `json:"client_id"`
	ID        string  `json:"event_id"`
	Timestamp int64   `json:"event_timestamp"`
	Type      string  `json:"event_type"`
	Key       string  `json:"event_key"`
	Value     float64 `json:"event_value"`
}

// eventKey names an event: ids are per client.
type eventKey struct{ client, id string }

// sentRecord is an event sent and whether it was acknowledged.
type sentRecord struct {
	ev    testEvent
	acked bool
}

// ingestSummary is the answer of POST /api/v1/events.
type ingestSummary struct {
	Accepted   int               `json:"accepted"`
	Duplicates int               `json:"duplicates"`
	Rejected   int               `json:"rejected"`
	Errors     []json.RawMessage `json:"errors"`
}

// postEvents posts events as a JSON array. It returns the status and body
// of the answer; err is set when there was none, or it was cut short.
func postEvents(c *http.Client, base string, events []testEvent) (status int, body []byte, err error) {
	data, err := json.Marshal(events)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/api/v1/events", bytes.NewReader(data))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// checkSummary checks the answer to a 2xx batch of n events of which
// wasAcked had been acknowledged before, and says what is wrong, if
// anything.
func checkSummary(status int, body []byte, n, wasAcked int) string {
	var sum ingestSummary
	if err := json.Unmarshal(body, &sum); err != nil {
		return fmt.Sprintf("status %d with a body that is not a summary: %v: %s", status, err, body)
	}
	switch {
	case sum.Rejected != 0 || len(sum.Errors) != 0:
		return fmt.Sprintf("status %d with rejections: %s", status, body)
	case sum.Accepted+sum.Duplicates != n:
		return fmt.Sprintf("status %d for %d events says %d accepted and %d duplicates", status, n, sum.Accepted, sum.Duplicates)
	case sum.Duplicates < wasAcked:
		return fmt.Sprintf("%d events acknowledged before were sent again, but only %d are duplicates: acknowledged events were lost (%s)", wasAcked, sum.Duplicates, body)
	case status == http.StatusOK && sum.Accepted != 0, status == http.StatusAccepted && sum.Accepted == 0:
		return fmt.Sprintf("status %d with %d accepted", status, sum.Accepted)
	}
	return ""
}

// postAll posts the events of recs in one request, which must be answered
// 2xx with every event accepted or a duplicate; with mayAccept false, every
// event must be a duplicate.
func postAll(t *testing.T, c *http.Client, base string, recs []sentRecord, mayAccept bool) ingestSummary {
	t.Helper()
	events := make([]testEvent, len(recs))
	wasAcked := 0
	for i, r := range recs {
		events[i] = r.ev
		if r.acked {
			wasAcked++
		}
	}
	if !mayAccept {
		wasAcked = len(recs)
	}
	status, body, err := postEvents(c, base, events)
	if err != nil {
		t.Fatalf("POST of %d events: %v", len(events), err)
	}
	if status != http.StatusOK && status != http.StatusAccepted {
		t.Fatalf("POST of %d events: status %d: %s", len(events), status, body)
	}
	if msg := checkSummary(status, body, len(events), wasAcked); msg != "" {
		t.Error(msg)
	}
	var sum ingestSummary
	json.Unmarshal(body, &sum) // checked by checkSummary
	return sum
}

// clientDump is the answer of GET /api/v1/clients/{client_id}/events.
type clientDump struct {
	ClientID string                     `json:"client_id"`
	Events   map[string]json.RawMessage `json:"events"`
	raw      []byte                     // the body as sent
}

// dumpClients dumps each client; a client with no events (404) is missing
// from the map.
func dumpClients(t *testing.T, c *http.Client, base string, clients []string) map[string]*clientDump {
	t.Helper()
	dumps := map[string]*clientDump{}
	for _, id := range clients {
		resp, err := c.Get(base + "/api/v1/clients/" + url.PathEscape(id) + "/events")
		if err != nil {
			t.Fatalf("dump %s: %v", id, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("dump %s: %v", id, err)
		}
		switch resp.StatusCode {
		case http.StatusNotFound:
			continue
		case http.StatusOK:
		default:
			t.Fatalf("dump %s: status %d: %s", id, resp.StatusCode, body)
		}
		d := &clientDump{raw: body}
		if err := json.Unmarshal(body, d); err != nil {
			t.Fatalf("dump %s is not JSON: %v", id, err)
		}
		if d.ClientID != id {
			t.Errorf("dump of %s says client_id %q", id, d.ClientID)
		}
		dumps[id] = d
	}
	return dumps
}

// checkStore checks the dumps against the events sent: every acknowledged
// event is there exactly once, every event there was sent, with its
// content, and each CUMULATIVE total lies between the sum of the events
// acknowledged and the sum of those sent (exactly the sum when all were
// acknowledged). It returns the number of events the dumps hold.
func checkStore(t *testing.T, dumps map[string]*clientDump, recs []sentRecord) (stored int) {
	t.Helper()
	errs := 0
	report := func(format string, args ...any) {
		t.Helper()
		if errs++; errs <= 20 {
			t.Errorf(format, args...)
		}
	}
	defer func() {
		if errs > 20 {
			t.Errorf("… and %d more errors", errs-20)
		}
	}()

	type totals struct {
		acked, sent             int
		ackedSum, sentSum       float64
		ackedLatest, sentLatest int64 // ms
	}
	sent := map[eventKey]testEvent{}
	types := map[string]string{}          // key → type
	cumulative := map[[2]string]*totals{} // client, key
	var ackedSeries []eventKey            // acknowledged TIME-SERIES events
	for _, r := range recs {
		k := eventKey{r.ev.ClientID, r.ev.ID}
		if prev, ok := sent[k]; ok && prev != r.ev {
			t.Fatalf("the test sent %v and %v under one id", prev, r.ev)
		}
		sent[k] = r.ev
		types[r.ev.Key] = r.ev.Type
		if r.ev.Type == "TIME-SERIES" {
			if r.acked {
				ackedSeries = append(ackedSeries, k)
			}
			continue
		}
		ck := [2]string{r.ev.ClientID, r.ev.Key}
		tot := cumulative[ck]
		if tot == nil {
			tot = &totals{}
			cumulative[ck] = tot
		}
		tot.sent++
		tot.sentSum += r.ev.Value
		tot.sentLatest = max(tot.sentLatest, r.ev.Timestamp)
		if r.acked {
			tot.acked++
			tot.ackedSum += r.ev.Value
			tot.ackedLatest = max(tot.ackedLatest, r.ev.Timestamp)
		}
	}

	type dumped struct {
		ClientID  string      `json:"client_id"`
		ID        string      `json:"event_id"`
		Timestamp json.Number `json:"event_timestamp"`
		Type      string      `json:"event_type"`
		Key       string      `json:"event_key"`
		Value     float64     `json:"event_value"`
		Count     int         `json:"event_count"`
	}
	seen := map[eventKey]string{} // TIME-SERIES events in the dumps → their key
	for client, d := range dumps {
		for key, raw := range d.Events {
			typ, ok := types[key]
			if !ok {
				report("client %s: key %q was never sent", client, key)
				continue
			}
			if typ == "CUMULATIVE" {
				var e dumped
				if err := json.Unmarshal(raw, &e); err != nil {
					report("client %s, key %s: not a total: %v: %s", client, key, err, raw)
					continue
				}
				tot := cumulative[[2]string{client, key}]
				if tot == nil {
					report("client %s, key %s: a total of %d events, but none was sent", client, key, e.Count)
					continue
				}
				if e.ClientID != client || e.Type != typ || e.Key != key {
					report("client %s, key %s: total %s", client, key, raw)
				}
				if e.Count < tot.acked || e.Count > tot.sent {
					report("client %s, key %s: event_count %d, want between %d acknowledged and %d sent", client, key, e.Count, tot.acked, tot.sent)
				}
				if e.Value < tot.ackedSum || e.Value > tot.sentSum {
					report("client %s, key %s: event_value %v, want between %v acknowledged and %v sent", client, key, e.Value, tot.ackedSum, tot.sentSum)
				}
				if ts := nanos(t, e.Timestamp); ts < tot.ackedLatest*1e6 || ts > tot.sentLatest*1e6 {
					report("client %s, key %s: event_timestamp %s, want between %d and %d ms", client, key, e.Timestamp, tot.ackedLatest, tot.sentLatest)
				}
				stored += e.Count
				continue
			}
			var list []dumped
			if err := json.Unmarshal(raw, &list); err != nil {
				report("client %s, key %s: not an array of events: %v", client, key, err)
				continue
			}
			var prev int64
			for i, e := range list {
				k := eventKey{client, e.ID}
				ev, ok := sent[k]
				switch {
				case !ok:
					report("client %s, key %s: event %q was never sent", client, key, e.ID)
					continue
				case seen[k] != "":
					report("client %s: event %q is there twice, under %s and %s", client, e.ID, seen[k], key)
					continue
				}
				seen[k] = key
				ts := nanos(t, e.Timestamp)
				if e.ClientID != client || e.Key != ev.Key || e.Type != ev.Type || e.Value != ev.Value || ts != ev.Timestamp*1e6 {
					report("client %s, key %s: event %d is %+v, sent as %+v", client, key, i, e, ev)
				}
				if ts < prev {
					report("client %s, key %s: event %d at %s comes after a later one", client, key, i, e.Timestamp)
				}
				prev = ts
			}
			stored += len(list)
		}
	}
	for _, k := range ackedSeries {
		if seen[k] == "" {
			report("client %s: acknowledged event %q (%s) is missing", k.client, k.id, sent[k].Key)
		}
	}
	for ck, tot := range cumulative {
		if d := dumps[ck[0]]; tot.acked > 0 && (d == nil || d.Events[ck[1]] == nil) {
			report("client %s: key %s with %d acknowledged events is missing", ck[0], ck[1], tot.acked)
		}
	}
	return stored
}
