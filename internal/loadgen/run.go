package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// EventsPath is where a run posts its bodies, under the target's URL.
const EventsPath = "/api/v1/events"

// Target is a server to drive.
type Target struct {
	// Name names the target in results, such as "montool" or "floor".
	Name string
	// URL is the server's base URL, such as http://127.0.0.1:8080. Its
	// host must be on this machine: a loopback address or localhost.
	URL string
	// Stats says whether the server answers GET /api/v1/stats, so that the
	// run can read its memory before and after.
	Stats bool
	// Round numbers the run among the rounds of a comparison; 0 for none.
	Round int
}

// Result is what one run measured.
type Result struct {
	Target string
	Round  int
	// Connections is the number of senders the run had.
	Connections int

	// Requests counts the requests answered, whatever the status; OK those
	// answered with a 2xx status.
	Requests, OK int64
	// Events counts the events of the requests answered 2xx; Duplicates
	// those of them that repeat an earlier event.
	Events, Duplicates int64
	// FailedEvents counts the events of requests answered with another
	// status or not answered at all.
	FailedEvents int64
	// Statuses counts the answers by HTTP status.
	Statuses map[int]int64
	// TransportErrors counts requests that got no answer: connection
	// refused or reset, timeout.
	TransportErrors int64
	// Interrupted counts requests cut short because the context ended.
	Interrupted int64
	// FirstFailure describes the first non-2xx answer or transport error.
	FirstFailure string
	// Answers sums up the servers' answers.
	Answers Answers

	// Elapsed runs from the moment the senders start to the moment the
	// last of them is done.
	Elapsed time.Duration
	// StoppedBy says what ended the run: "duration", "events" or
	// "interrupted".
	StoppedBy string
	// Latency holds the time of every request answered, from sending its
	// first byte to reading its last.
	Latency *Histogram
	// CPU is the processor time the whole process used while the run was
	// timed, in every thread; 0 where the system does not tell. With an
	// in-process server or floor it includes theirs.
	CPU time.Duration
	// Generator says what making the bodies cost.
	Generator GeneratorStats

	// MemBefore and MemAfter are the server's stats, read with ?gc=true
	// before the bodies are made and after the run, once the bodies are
	// garbage; nil when the target has none or they could not be read
	// (StatsError says why).
	MemBefore, MemAfter *ServerStats
	StatsError          string
}

// Answers sums the counts that the server's answers carry.
type Answers struct {
	Accepted, Duplicates, Rejected int64
}

// GeneratorStats says what making the bodies of a run cost, and whether the
// senders ever had to wait for one.
type GeneratorStats struct {
	// PreBodies, PreEvents and PreBytes count the bodies made before the
	// clock started, in PreTime.
	PreBodies, PreEvents, PreBytes int64
	PreTime                        time.Duration
	// RunBodies and RunEvents count the bodies made while the clock ran,
	// in RunBusy of processor time, by a goroutine ahead of the senders.
	RunBodies, RunEvents int64
	RunBusy              time.Duration
	// SenderWait is the time the senders spent, added up, waiting for a
	// body because none was ready; Waits counts those waits.
	SenderWait time.Duration
	Waits      int64
}

// EventsPerSecond returns the rate of events answered 2xx.
func (r *Result) EventsPerSecond() float64 { return perSecond(r.Events, r.Elapsed) }

// RequestsPerSecond returns the rate of requests answered 2xx.
func (r *Result) RequestsPerSecond() float64 { return perSecond(r.OK, r.Elapsed) }

// Failed counts the requests answered with a status other than 2xx or not
// answered at all.
func (r *Result) Failed() int64 { return r.Requests - r.OK + r.TransportErrors }

// CPUPerEvent returns the processor time used per event answered 2xx, or 0
// when it is not known.
func (r *Result) CPUPerEvent() time.Duration {
	if r.Events == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Events)
}

// WaitFraction returns the fraction of the senders' time spent waiting for
// a body: above 0.01 the generator held the load back.
func (r *Result) WaitFraction() float64 {
	total := r.Elapsed * time.Duration(max(r.Connections, 1))
	if total <= 0 {
		return 0
	}
	return float64(r.Generator.SenderWait) / float64(total)
}

// Stored returns the number of events the server holds more after the run
// than before, when its stats were read.
func (r *Result) Stored() (int64, bool) {
	if r.MemBefore == nil || r.MemAfter == nil {
		return 0, false
	}
	return r.MemAfter.Events - r.MemBefore.Events, true
}

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// maxPreBodies bounds the number of bodies made before the clock starts,
// whatever their size. A million single-event bodies would fit in the byte
// budget, but they would give the collector a million objects to trace
// during the run (in the server's process when it runs in-process) while a
// small body costs the generator goroutine a fraction of a microsecond,
// next to tens of microseconds for its request.
const maxPreBodies = 1 << 16

// aheadBytes is about how much the generator goroutine keeps ready ahead of
// the senders.
const aheadBytes = 16 << 20

// aheadBodies returns how many bodies of up to size bytes the generator
// goroutine keeps ready: at least four for each sender, and as many as fit
// in aheadBytes (or budget, when less) up to maxPreBodies. Under a full load
// the goroutine waits for its turn on a processor behind every sender and
// connection, for milliseconds at a time, and small bodies go fast:
// thousands must be ready.
func aheadBodies(connections, size int, budget int64) int {
	n := 4 * connections
	if size > 0 {
		n = max(n, int(min(min(aheadBytes, budget)/int64(size), maxPreBodies)))
	}
	return n
}

// Run drives target with the load cfg describes and returns what it
// measured. It makes the first bodies (up to cfg.PregenerateBytes) before
// the clock starts, then runs cfg.Connections senders until cfg.Duration
// has passed, cfg.Events events have been sent, or ctx ends; a request in
// flight at the deadline is waited for. When ctx ends, Run returns what it
// measured so far with StoppedBy "interrupted", and no error. An error means
// the run could not start: a bad config or URL, or a server that cannot be
// reached.
func Run(ctx context.Context, cfg Config, target Target) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, err := checkURL(target.URL)
	if err != nil {
		return nil, err
	}
	client := newHTTPClient(cfg)
	defer client.CloseIdleConnections()
	if err := checkReachable(ctx, client, base); err != nil {
		return nil, fmt.Errorf("cannot reach the %s server at %s: %w", target.Name, base, err)
	}

	res := &Result{Target: target.Name, Round: target.Round, Connections: cfg.Connections, Statuses: map[int]int64{}, Latency: &Histogram{}}
	if target.Stats {
		res.MemBefore, err = fetchStats(ctx, client, base)
		if err != nil {
			res.StatsError = err.Error()
		}
	}

	// Make what fits in the budget before the clock starts.
	gen := newGenerator(cfg, time.Now())
	f := &feed{}
	preStart := time.Now()
	sizeHint := 0
	for f.preBytes < cfg.PregenerateBytes && len(f.pre) < maxPreBodies && ctx.Err() == nil {
		b, ok := gen.nextBody(sizeHint)
		if !ok {
			break
		}
		sizeHint = max(sizeHint, len(b.data))
		f.pre = append(f.pre, b)
		f.preBytes += int64(len(b.data))
		res.Generator.PreEvents += int64(b.events)
	}
	res.Generator.PreBodies, res.Generator.PreBytes = int64(len(f.pre)), f.preBytes
	res.Generator.PreTime = time.Since(preStart)

	// Make the rest during the run, a few bodies ahead of the senders.
	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	var genStats, primedStats generatorStats // the generator goroutine's until genWG is done
	var genWG sync.WaitGroup
	if !gen.done() {
		f.more = make(chan body, aheadBodies(cfg.Connections, sizeHint, cfg.PregenerateBytes))
		primed := make(chan struct{})
		genWG.Go(func() { gen.feed(genCtx, f.more, primed, &genStats, &primedStats, sizeHint) })
		select {
		case <-primed:
		case <-ctx.Done():
		}
	}

	if ctx.Err() != nil {
		stopGen()
		genWG.Wait()
		res.StoppedBy = "interrupted"
		return res, nil
	}
	res.measure(ctx, cfg, client, base, target, f)

	stopGen()
	genWG.Wait()
	// What the goroutine made before the clock started counts as made before.
	res.Generator.PreBodies += primedStats.bodies
	res.Generator.PreEvents += primedStats.events
	res.Generator.PreBytes += primedStats.bytes
	res.Generator.PreTime += primedStats.busy
	res.Generator.RunBodies = genStats.bodies - primedStats.bodies
	res.Generator.RunEvents = genStats.events - primedStats.events
	res.Generator.RunBusy = genStats.busy - primedStats.busy
	f.release()

	if target.Stats && res.MemBefore != nil {
		// After an interrupt too: what was stored is part of what was measured.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		res.MemAfter, err = fetchStats(sctx, client, base)
		cancel()
		if err != nil {
			res.StatsError = err.Error()
		}
	}
	return res, nil
}

// measure runs and times the senders and gathers what they measured into
// r.
func (r *Result) measure(ctx context.Context, cfg Config, client *http.Client, base string, target Target, f *feed) {
	workers := make([]*worker, cfg.Connections)
	for i := range workers {
		workers[i] = &worker{statuses: map[int]int64{}}
	}
	contentType := "application/json"
	if cfg.Format == NDJSON {
		contentType = "application/x-ndjson"
	}
	eventsURL := base + EventsPath

	start := time.Now()
	takeCtx := ctx // ends waits for a body at the deadline
	var deadline time.Time
	if cfg.Duration > 0 {
		deadline = start.Add(cfg.Duration)
		var cancel context.CancelFunc
		takeCtx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	cpu0, cpuOK := processCPU()

	stopProgress := func() {}
	if cfg.Progress != nil {
		stopProgress = reportProgress(cfg.Progress, workers, target, start)
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil && (deadline.IsZero() || time.Now().Before(deadline)) {
				b, ok := f.take(takeCtx, w)
				if !ok {
					return
				}
				w.send(ctx, client, eventsURL, contentType, cfg.Gzip, b)
			}
		})
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	if cpu1, ok := processCPU(); ok && cpuOK {
		r.CPU = cpu1 - cpu0
	}
	stopProgress()

	for _, w := range workers {
		r.Requests += w.requests
		r.OK += w.ok
		r.Events += w.events
		r.Duplicates += w.dups
		r.FailedEvents += w.failedEvents
		r.TransportErrors += w.transportErrors
		r.Interrupted += w.interrupted
		r.Answers.Accepted += w.answers.Accepted
		r.Answers.Duplicates += w.answers.Duplicates
		r.Answers.Rejected += w.answers.Rejected
		r.Generator.SenderWait += w.waited
		r.Generator.Waits += w.waits
		for s, n := range w.statuses {
			r.Statuses[s] += n
		}
		if r.FirstFailure == "" {
			r.FirstFailure = w.firstFailure
		}
		r.Latency.Merge(&w.hist)
	}
	switch {
	case ctx.Err() != nil:
		r.StoppedBy = "interrupted"
	case !deadline.IsZero() && !time.Now().Before(deadline) && !f.exhausted():
		r.StoppedBy = "duration"
	default:
		r.StoppedBy = "events"
	}
}

// reportProgress calls progress once a second with the senders' counts
// until the returned function is called.
func reportProgress(progress func(Progress), workers []*worker, target Target, start time.Time) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		ticker := time.NewTicker(time.Second)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				p := Progress{Target: target.Name, Round: target.Round, Elapsed: time.Since(start)}
				for _, w := range workers {
					p.Events += w.progressEvents.Load()
					p.Requests += w.progressRequests.Load()
				}
				progress(p)
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// feed hands the bodies of a run to its senders: first those made before
// the clock started, in order, then those the generator makes meanwhile.
type feed struct {
	pre      []body
	preBytes int64
	next     atomic.Int64 // index in pre of the next body to hand out
	more     chan body    // nil when pre holds every body; closed when the generator is done
}

// take returns the next body, or false when there is none left or ctx ended
// while waiting for one. The time spent waiting is added to w's.
func (f *feed) take(ctx context.Context, w *worker) (body, bool) {
	if i := f.next.Add(1) - 1; i < int64(len(f.pre)) {
		b := f.pre[i]
		f.pre[i] = body{} // each index is taken once: the collector may have the body once it is sent
		return b, true
	}
	if f.more == nil {
		return body{}, false
	}
	select {
	case b, ok := <-f.more:
		return b, ok
	default:
	}
	t0 := time.Now()
	defer func() {
		w.waited += time.Since(t0)
		w.waits++
	}()
	select {
	case b, ok := <-f.more:
		return b, ok
	case <-ctx.Done():
		return body{}, false
	}
}

// exhausted reports whether every body the run was to send has been taken.
// It is called once the senders are done.
func (f *feed) exhausted() bool {
	if f.next.Load() < int64(len(f.pre)) {
		return false
	}
	if f.more == nil {
		return true
	}
	select {
	case _, ok := <-f.more:
		return !ok
	default:
		return false
	}
}

// release drops the bodies left over, so that the collector may have them
// before the server's memory is read. It is called once the generator is
// done.
func (f *feed) release() {
	f.pre = nil
	if f.more != nil {
		for range f.more { // closed by the generator, so bounded
		}
	}
}

// worker is one sender: it posts one body at a time on its own keep-alive
// connection. Its fields are its own until the run is over, but for the
// progress counters, which the progress goroutine reads.
type worker struct {
	hist             Histogram
	statuses         map[int]int64
	requests, ok     int64
	events, dups     int64
	failedEvents     int64
	transportErrors  int64
	interrupted      int64
	firstFailure     string
	answers          Answers
	waited           time.Duration
	waits            int64
	buf              bytes.Buffer // the answer being read
	progressEvents   atomic.Int64
	progressRequests atomic.Int64
}

// answerSummary is the part of an answer of the events endpoint that a run
// counts.
type answerSummary struct {
	Accepted   int64 `json:"accepted"`
	Duplicates int64 `json:"duplicates"`
	Rejected   int64 `json:"rejected"`
}

// maxAnswer bounds how much of an answer is read into memory; the rest is
// read and dropped, so that the connection can be used again.
const maxAnswer = 1 << 20

// send posts b and counts what became of it.
func (w *worker) send(ctx context.Context, client *http.Client, url, contentType string, gzipped bool, b body) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b.data))
	if err != nil {
		w.fail(b, fmt.Sprintf("build request: %v", err))
		return
	}
	req.Header.Set("Content-Type", contentType)
	if gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err == nil {
		w.buf.Reset()
		_, err = w.buf.ReadFrom(io.LimitReader(resp.Body, maxAnswer))
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
		}
		resp.Body.Close()
	}
	latency := time.Since(t0)
	if err != nil {
		if ctx.Err() != nil {
			w.interrupted++
			return
		}
		w.fail(b, err.Error())
		return
	}
	w.hist.Record(latency)
	w.requests++
	w.statuses[resp.StatusCode]++
	w.progressEvents.Add(int64(b.events))
	w.progressRequests.Add(1)
	if resp.StatusCode/100 == 2 {
		w.ok++
		w.events += int64(b.events)
		w.dups += int64(b.dups)
	} else {
		w.failedEvents += int64(b.events)
		if w.firstFailure == "" {
			w.firstFailure = "HTTP " + strconv.Itoa(resp.StatusCode) + ": " + snippet(w.buf.Bytes())
		}
	}
	if sum, ok := parseAnswer(w.buf.Bytes()); ok {
		w.answers.Accepted += sum.Accepted
		w.answers.Duplicates += sum.Duplicates
		w.answers.Rejected += sum.Rejected
	}
}

// parseAnswer reads the counts of an answer of the events endpoint. A
// compact answer whose counts come first, as montool writes it, is read by
// a quick scan, which costs a sender a tenth of what encoding/json does;
// anything else goes through encoding/json.
func parseAnswer(b []byte) (answerSummary, bool) {
	var sum answerSummary
	rest, ok := scanCount(b, `{"accepted":`, &sum.Accepted)
	if ok {
		rest, ok = scanCount(rest, `,"duplicates":`, &sum.Duplicates)
	}
	if ok {
		_, ok = scanCount(rest, `,"rejected":`, &sum.Rejected)
	}
	if ok {
		return sum, true
	}
	sum = answerSummary{}
	err := json.Unmarshal(b, &sum)
	return sum, err == nil
}

// scanCount reads prefix and the digits after it into n, and returns what
// follows.
func scanCount(b []byte, prefix string, n *int64) ([]byte, bool) {
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return nil, false
	}
	b = b[len(prefix):]
	i := 0
	for i < len(b) && i < 18 && '0' <= b[i] && b[i] <= '9' {
		*n = *n*10 + int64(b[i]-'0')
		i++
	}
	return b[i:], i > 0 && i < len(b) && (b[i] == ',' || b[i] == '}')
}

// fail counts a request that got no answer.
func (w *worker) fail(b body, why string) {
	w.transportErrors++
	w.failedEvents += int64(b.events)
	if w.firstFailure == "" {
		w.firstFailure = why
	}
}

// snippet returns the start of an answer, on one line.
func snippet(b []byte) string {
	const most = 200
	s := strings.Join(strings.Fields(string(b[:min(len(b), most)])), " ")
	if len(b) > most {
		s += "…"
	}
	return s
}

// checkURL returns the base URL of a target, without a trailing slash, or
// an error when it is not an http URL of this machine.
func checkURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("server URL %q: %w", raw, err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return "", fmt.Errorf("server URL %q: must be an http:// URL such as http://127.0.0.1:8080", raw)
	}
	if !isLoopbackHost(u.Hostname()) {
		return "", fmt.Errorf("server URL %q: the load generator drives servers on this machine only: use a loopback address such as 127.0.0.1 or localhost", raw)
	}
	return strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/"), nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// errNotLoopback is what a dial to an address off this machine fails with.
var errNotLoopback = errors.New("the load generator connects to loopback addresses only")

// newHTTPClient returns the client of one run: one transport whose idle
// pool keeps a connection for each sender, that connects to loopback
// addresses only, ignores proxy settings, and neither asks for nor undoes
// compression of answers.
func newHTTPClient(cfg Config) *http.Client {
	dialer := &net.Dialer{
		Timeout:   5 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("dial %s: %w", address, errNotLoopback)
			}
			return nil
		},
	}
	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		MaxIdleConns:        cfg.Connections + 1,
		MaxIdleConnsPerHost: cfg.Connections + 1, // one more for the stats
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: transport, Timeout: cfg.RequestTimeout}
}

// checkReachable asks the server for /healthz and accepts any answer.
func checkReachable(ctx context.Context, client *http.Client, base string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	return err
}
