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

	"github.com/montool/montool/internal/event"
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
	// NoPreload leaves out Config.Preload: the target has no store to
	// fill.
	NoPreload bool
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
	// StoppedBy says what ended the run: "duration", "events",
	// "interrupted", or "bodies" when gzip bodies made before the clock
	// ran out first (see Config.PregenerateBytes).
	StoppedBy string
	// Latency holds the time of every request answered, from sending its
	// first byte to reading its last.
	Latency *Histogram
	// CPU is the processor time the whole process used while the run was
	// timed, in every thread; 0 where the system does not tell. With an
	// in-process server or floor it includes theirs.
	CPU time.Duration
	// Bodies says how the bodies were made and what readying them cost.
	Bodies BodyStats

	// Rate is the offered load in requests per second, as Config.Rate;
	// 0 when the senders went as fast as the answers came.
	Rate float64
	// Late counts the requests sent more than LateAfter after their
	// scheduled time; MaxLate is the latest any was sent. LateTaken counts
	// those of them that were already that late when a sender took them:
	// every sender was still busy with an earlier request, or not yet
	// back on a processor. The others were taken in time, but their
	// sender woke late: Go's timers sleep in steps of a millisecond, and
	// a busy machine runs a woken sender later still.
	Late, LateTaken int64
	MaxLate         time.Duration

	// Preloaded counts the events sent before the clock started, all
	// answered 2xx, in PreloadTime (which includes making their bodies).
	Preloaded   int64
	PreloadTime time.Duration

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

// add counts one answer.
func (a *Answers) add(s event.Summary) {
	a.Accepted += int64(s.Accepted)
	a.Duplicates += int64(s.Duplicates)
	a.Rejected += int64(s.Rejected)
}

// LateAfter is how long after its scheduled time a request paced by
// Config.Rate may be sent before it counts as late.
const LateAfter = time.Millisecond

// BodyStats says how the bodies of a run were made and what readying them
// cost.
type BodyStats struct {
	// Templates is the number of template bodies made before the clock
	// started, in MakeTime.
	Templates int
	MakeTime  time.Duration
	// Pregenerated says every body was made before the clock started, in
	// MakeTime too: gzip bodies, which cannot be patched. PreBodies,
	// PreEvents and PreBytes count them.
	Pregenerated                   bool
	PreBodies, PreEvents, PreBytes int64
	// Patched counts the events of the bodies the senders patched while
	// the clock ran, in PatchTime (less the cost of reading the clock).
	Patched   int64
	PatchTime time.Duration
	// SenderWait is the time the senders spent, added up, waiting for a
	// template that an earlier request still held.
	SenderWait time.Duration
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
// a template: above 0.01 the load generator held the load back.
func (r *Result) WaitFraction() float64 {
	total := r.Elapsed * time.Duration(max(r.Connections, 1))
	if total <= 0 {
		return 0
	}
	return float64(r.Bodies.SenderWait) / float64(total)
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

// preloadBatch is the number of events in each body of a preload: a
// batch that a default montool takes, large enough that millions of
// events go in seconds.
const preloadBatch = 1000

// Run drives target with the load cfg describes and returns what it
// measured. It first sends cfg.Preload events, not timed, then makes the
// templates of the bodies (or, with cfg.Gzip, every body) before the clock
// starts, then runs cfg.Connections senders until cfg.Duration has passed,
// cfg.Events events have been sent, or ctx ends; a request in flight at the
// deadline is waited for. When ctx ends, Run returns what it measured so
// far with StoppedBy "interrupted", and no error. An error means the run
// could not start: a bad config or URL, a server that cannot be reached,
// or a preload that failed.
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

	res := &Result{Target: target.Name, Round: target.Round, Connections: cfg.Connections, Statuses: map[int]int64{}, Latency: &Histogram{},
		Rate: cfg.Rate}
	con := newContent(cfg, time.Now())
	if cfg.Preload > 0 && !target.NoPreload {
		if err := res.preload(ctx, cfg, con, client, base, target); err != nil {
			return nil, err
		}
	}
	if target.Stats && ctx.Err() == nil {
		res.MemBefore, err = fetchStats(ctx, client, base)
		if err != nil {
			res.StatsError = err.Error()
		}
	}

	made := time.Now()
	src := newStream(ctx, cfg, con, res.Preloaded)
	res.Bodies.MakeTime = time.Since(made)
	if src.pre != nil {
		res.Bodies.Pregenerated = true
		res.Bodies.PreBodies, res.Bodies.PreBytes = src.count, int64(len(src.pre))
		res.Bodies.PreEvents = src.count * int64(cfg.Batch) // every body full, but for the last one of a complete stream
		if src.complete {
			res.Bodies.PreEvents = cfg.Events
		}
	} else {
		res.Bodies.Templates = len(src.templates)
	}
	if ctx.Err() != nil {
		res.StoppedBy = "interrupted"
		return res, nil
	}
	res.measure(ctx, cfg, client, base, target, src)
	src.release()

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

// preload sends cfg.Preload events of con's clients and keys, in batches
// of preloadBatch on as many connections as saturate a server with them,
// and fails when any of them is not answered 2xx. An interrupt ends it
// early, with no error.
func (r *Result) preload(ctx context.Context, cfg Config, con *content, client *http.Client, base string, target Target) error {
	p := cfg
	p.Events, p.Batch, p.Connections = cfg.Preload, preloadBatch, DefaultConnections(preloadBatch)
	p.Duration, p.Duplicates, p.Gzip, p.Rate = 0, 0, false, 0
	start := time.Now()
	src := newStream(ctx, p, con, 0)
	workers := newWorkers(p.Connections)
	stopProgress := reportProgress(cfg.Progress, workers, target, start, true)
	drive(ctx, client, src, workers, drivePlan{url: base + EventsPath, contentType: contentType(p.Format)})
	r.PreloadTime = time.Since(start)
	stopProgress()
	var failed, requests int64
	first := ""
	for _, w := range workers {
		r.Preloaded += w.events
		requests += w.requests + w.transportErrors
		failed += w.requests - w.ok + w.transportErrors
		if first == "" {
			first = w.firstFailure
		}
	}
	if failed > 0 && ctx.Err() == nil {
		return fmt.Errorf("preload the %s server: %d of %d requests failed; first failure: %s", target.Name, failed, requests, first)
	}
	return nil
}

// contentType returns the Content-Type of bodies of format f.
func contentType(f Format) string {
	if f == NDJSON {
		return "application/x-ndjson"
	}
	return "application/json"
}

// measure runs and times the senders and gathers what they measured into
// r.
func (r *Result) measure(ctx context.Context, cfg Config, client *http.Client, base string, target Target, src *stream) {
	workers := newWorkers(cfg.Connections)
	plan := drivePlan{url: base + EventsPath, contentType: contentType(cfg.Format), gzip: cfg.Gzip, rate: cfg.Rate}
	plan.start = time.Now()
	if cfg.Duration > 0 {
		plan.deadline = plan.start.Add(cfg.Duration)
	}
	cpu0, cpuOK := processCPU()
	stopProgress := reportProgress(cfg.Progress, workers, target, plan.start, false)
	drive(ctx, client, src, workers, plan)
	r.Elapsed = time.Since(plan.start)
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
		r.Bodies.SenderWait += w.waited
		r.Bodies.Patched += w.patched
		r.Bodies.PatchTime += w.patchTime
		r.Late += w.late
		r.LateTaken += w.lateTaken
		r.MaxLate = max(r.MaxLate, w.maxLate)
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
	case !src.exhausted():
		r.StoppedBy = "duration"
	case !src.complete:
		r.StoppedBy = "bodies"
	default:
		r.StoppedBy = "events"
	}
}

// drivePlan is how senders go about a stream.
type drivePlan struct {
	url, contentType string
	gzip             bool
	// start is when body 0 is due; with a rate, body k is due k/rate
	// seconds later.
	start time.Time
	rate  float64
	// deadline is when the senders stop taking bodies; zero for never.
	deadline time.Time
}

// due returns when body k is to be sent.
func (p *drivePlan) due(k int64) time.Time {
	return p.start.Add(time.Duration(float64(k) * float64(time.Second) / p.rate))
}

// drive runs one sender for each of workers until src has no body left,
// the plan's deadline passes or ctx ends.
func drive(ctx context.Context, client *http.Client, src *stream, workers []*worker, plan drivePlan) {
	waitCtx := ctx // ends waits for a body's time at the deadline
	if !plan.deadline.IsZero() {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithDeadline(ctx, plan.deadline)
		defer cancel()
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w.drive(ctx, waitCtx, client, src, &plan) })
	}
	wg.Wait()
}

// drive sends bodies of src, one at a time, until none is left, the
// plan's deadline passes or ctx ends. With a rate it waits for each
// body's time, whenever the answer to the one before came: the load is
// offered open loop.
func (w *worker) drive(ctx, waitCtx context.Context, client *http.Client, src *stream, plan *drivePlan) {
	var timer *time.Timer
	for ctx.Err() == nil && (plan.deadline.IsZero() || time.Now().Before(plan.deadline)) {
		k, n, ok := src.take()
		if !ok {
			return
		}
		var due time.Time
		takenLate := false
		if plan.rate > 0 {
			due = plan.due(k)
			wait := time.Until(due)
			takenLate = wait < -LateAfter
			if wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case <-timer.C:
				case <-waitCtx.Done():
					timer.Stop()
					src.skip(k)
					return
				}
			}
		}
		data, release := src.ready(k, n, w)
		t0 := time.Now()
		if plan.rate > 0 {
			late := t0.Sub(due)
			w.maxLate = max(w.maxLate, late)
			if late > LateAfter {
				w.late++
				if takenLate {
					w.lateTaken++
				}
			}
		}
		w.send(ctx, client, plan, data, n, src.dupsIn(k, n), release, t0)
	}
}

// newWorkers returns n senders.
func newWorkers(n int) []*worker {
	workers := make([]*worker, n)
	for i := range workers {
		workers[i] = &worker{statuses: map[int]int64{}}
	}
	return workers
}

// reportProgress calls progress, when not nil, once a second with the
// senders' counts until the returned function is called.
func reportProgress(progress func(Progress), workers []*worker, target Target, start time.Time, preload bool) func() {
	if progress == nil {
		return func() {}
	}
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
				p := Progress{Target: target.Name, Round: target.Round, Preload: preload, Elapsed: time.Since(start)}
				for _, w := range workers {
					p.Events += w.progressEvents.Load()
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

// requestBody is a body as the transport reads it. Release, when not nil,
// is called once the transport is done with it and closes it.
type requestBody struct {
	bytes.Reader
	release func()
	closed  atomic.Bool
}

// Close calls release, the first time.
func (b *requestBody) Close() error {
	if b.release != nil && b.closed.CompareAndSwap(false, true) {
		b.release()
	}
	return nil
}

// worker is one sender: it posts one body at a time on its own keep-alive
// connection. Its fields are its own until the run is over, but for the
// progress counters, which the progress goroutine reads.
type worker struct {
	hist            Histogram
	statuses        map[int]int64
	requests, ok    int64
	events, dups    int64
	failedEvents    int64
	transportErrors int64
	interrupted     int64
	firstFailure    string
	answers         Answers
	waited          time.Duration // waiting for a template
	patched         int64         // events in the bodies patched
	patchTime       time.Duration
	late, lateTaken int64
	maxLate         time.Duration
	buf             bytes.Buffer // the answer being read
	progressEvents  atomic.Int64
}

// maxAnswer bounds how much of an answer is read into memory; the rest is
// read and dropped, so that the connection can be used again.
const maxAnswer = 1 << 20

// send posts data, a body of events events of which dups repeat earlier
// ones, from t0 on, and counts what became of it. The transport calls
// release once it is done with data.
func (w *worker) send(ctx context.Context, client *http.Client, plan *drivePlan, data []byte, events, dups int, release func(), t0 time.Time) {
	body := &requestBody{release: release}
	body.Reset(data)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, plan.url, body)
	if err != nil {
		body.Close()
		w.fail(events, fmt.Sprintf("build request: %v", err))
		return
	}
	req.ContentLength = int64(len(data))
	req.Header.Set("Content-Type", plan.contentType)
	if plan.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := client.Do(req)
	if err == nil {
		w.buf.Reset()
		_, err = w.buf.ReadFrom(io.LimitReader(resp.Body, maxAnswer))
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
		}
		resp.Body.Close()
	}
	took := time.Since(t0)
	if err != nil {
		if ctx.Err() != nil {
			w.interrupted++
			return
		}
		w.fail(events, err.Error())
		return
	}
	w.hist.Record(took)
	w.requests++
	w.statuses[resp.StatusCode]++
	w.progressEvents.Add(int64(events))
	if resp.StatusCode/100 == 2 {
		w.ok++
		w.events += int64(events)
		w.dups += int64(dups)
	} else {
		w.failedEvents += int64(events)
		if w.firstFailure == "" {
			w.firstFailure = "HTTP " + strconv.Itoa(resp.StatusCode) + ": " + snippet(w.buf.Bytes())
		}
	}
	if sum, ok := parseAnswer(w.buf.Bytes()); ok {
		w.answers.add(sum)
	}
}

// parseAnswer reads the counts of an answer of the events endpoint. A
// compact answer whose counts come first, as montool writes it, is read by
// a quick scan, which costs a sender a tenth of what encoding/json does;
// anything else goes through encoding/json. Only the counts are used.
func parseAnswer(b []byte) (event.Summary, bool) {
	var sum event.Summary
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
	sum = event.Summary{}
	err := json.Unmarshal(b, &sum)
	return sum, err == nil
}

// scanCount reads prefix and the digits after it into n, and returns what
// follows.
func scanCount(b []byte, prefix string, n *int) ([]byte, bool) {
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return nil, false
	}
	b = b[len(prefix):]
	i := 0
	for i < len(b) && i < 18 && '0' <= b[i] && b[i] <= '9' {
		*n = *n*10 + int(b[i]-'0')
		i++
	}
	return b[i:], i > 0 && i < len(b) && (b[i] == ',' || b[i] == '}')
}

// fail counts a request of events events that got no answer.
func (w *worker) fail(events int, why string) {
	w.transportErrors++
	w.failedEvents += int64(events)
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
// an error when it is not an http URL of this machine. There is no https:
// the load stays on loopback, where TLS would only add its own cost to
// the figures.
func checkURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("server URL %q: %w", raw, err)
	}
	if u.Scheme == "https" {
		return "", fmt.Errorf("server URL %q: the load generator speaks plain HTTP only, to servers on this machine: use an http:// URL such as http://127.0.0.1:8080", raw)
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
	if cfg.Token != "" {
		return &http.Client{Transport: bearerTransport{base: transport, token: cfg.Token}, Timeout: cfg.RequestTimeout}
	}
	return &http.Client{Transport: transport, Timeout: cfg.RequestTimeout}
}

// bearerTransport sends a bearer token with every request.
type bearerTransport struct {
	base  http.RoundTripper
	token string
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context()) // a RoundTripper must not change the request it is given
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
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
