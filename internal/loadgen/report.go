package loadgen

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what `montool bench` prints once its rounds are over: the
// load, the servers it went to and what each round measured, as plain
// aligned tables that can be pasted into a README as they are.
type Report struct {
	// Load is the load of every round; Rounds the number of rounds asked
	// for.
	Load   Config
	Rounds int
	// Server is the URL of the montool server driven, unless InProcess:
	// a fresh server in this process for each round.
	Server    string
	InProcess bool
	// Floor is the floor server the same load went to; nil for none.
	Floor *Floor
	// Machine describes the machine the rounds ran on; "" for this one.
	Machine string
	// Results holds what each round measured, in the order run.
	Results []*Result
	// Interrupted says an interrupt cut the rounds short.
	Interrupted bool
}

// Machine describes the machine this process runs on, as a report says it.
func Machine() string {
	return fmt.Sprintf("%d CPUs, GOMAXPROCS %d, %s %s/%s", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// Write writes the report to w.
func (rep *Report) Write(w io.Writer) error {
	var b bytes.Buffer
	rep.write(&b)
	_, err := w.Write(b.Bytes())
	return err
}

func (rep *Report) write(w *bytes.Buffer) {
	cfg, results := rep.Load, rep.Results
	fmt.Fprintf(w, "montool bench: %s\n", describeLoad(cfg, rep.Rounds))
	if rep.InProcess {
		fmt.Fprintln(w, "montool: in-process, a fresh server and store for each round, on 127.0.0.1")
	} else {
		fmt.Fprintf(w, "montool: %s\n", rep.Server)
	}
	if rep.Floor != nil {
		fmt.Fprintf(w, "floor:   bare net/http server on 127.0.0.1 that %s\n", rep.Floor.Mode())
	}
	machine := rep.Machine
	if machine == "" {
		machine = Machine()
	}
	fmt.Fprintf(w, "machine: %s\n", machine)
	if len(results) == 0 {
		fmt.Fprintln(w, "\nnothing was measured: interrupted before the first round")
		return
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	writeRounds(w, tw, cfg, results)
	if cfg.Rate > 0 {
		writeRate(w, tw, cfg, results)
	}
	if cfg.Preload > 0 {
		writePreload(w, tw, cfg, results)
	}
	writeMemory(w, tw, rep.InProcess, results)
	writeBodies(w, cfg, results)
	writeMedians(w, tw, results)

	fmt.Fprintln(w)
	fmt.Fprintln(w, "CPU/EVENT is the processor time of this whole process per event: the load generator, and the server when it runs in-process or is the floor.")
	for _, r := range results {
		if r.Failed() > 0 || r.Interrupted > 0 {
			fmt.Fprintf(w, "round %d %s: %s requests failed (%s events), %s cut short by the interrupt; first failure: %s\n",
				r.Round, r.Target, commas(r.Failed()), commas(r.FailedEvents), commas(r.Interrupted), orNone(r.FirstFailure))
		}
	}
	if rep.Interrupted {
		fmt.Fprintln(w, "interrupted: the figures are of what ran before Ctrl-C; rounds cut short say \"interrupted\" under STOPPED BY")
	}
}

// WriteProgress writes p over the line before, for a terminal: how far
// the round of rounds has got.
func WriteProgress(w io.Writer, rounds int, p Progress) {
	what := "events"
	if p.Preload {
		what = "events preloaded"
	}
	fmt.Fprintf(w, "\r\033[Kround %d/%d %s  %s  %s %s  %s events/s",
		p.Round, rounds, p.Target, p.Elapsed.Truncate(time.Second), commas(p.Events), what, rate(float64(p.Events)/p.Elapsed.Seconds()))
}

// WriteRoundDone writes over the progress line what round r of rounds
// measured, in a line that stays.
func WriteRoundDone(w io.Writer, rounds int, r *Result) {
	fmt.Fprintf(w, "\r\033[Kround %d/%d %s  %s events in %s: %s events/s\n",
		r.Round, rounds, r.Target, commas(r.Events), r.Elapsed.Round(time.Millisecond), rate(r.EventsPerSecond()))
}

// describeLoad says in one line what load each round sends.
func describeLoad(cfg Config, rounds int) string {
	var b strings.Builder
	cum := cfg.cumulativeKeys()
	fmt.Fprintf(&b, "%d clients × %d keys (%d CUMULATIVE, %.0f%% of the events), batch %d, %s",
		cfg.Clients, cfg.Keys, cum, 100*float64(cum)/float64(cfg.Keys), cfg.Batch, cfg.Format)
	if cfg.Gzip {
		b.WriteString(" gzip")
	}
	fmt.Fprintf(&b, ", %d connections, ", cfg.Connections)
	switch {
	case cfg.Events > 0 && cfg.Duration > 0:
		fmt.Fprintf(&b, "%s events or %s", commas(cfg.Events), cfg.Duration)
	case cfg.Events > 0:
		fmt.Fprintf(&b, "%s events", commas(cfg.Events))
	default:
		b.WriteString(cfg.Duration.String())
	}
	fmt.Fprintf(&b, " per round, %d round%s", rounds, plural(rounds))
	if cfg.Duplicates > 0 {
		fmt.Fprintf(&b, ", %g%% duplicates", 100*cfg.Duplicates)
	}
	if cfg.Rate > 0 {
		fmt.Fprintf(&b, ", %s requests/s offered", offered(cfg.Rate))
	}
	if cfg.Preload > 0 {
		fmt.Fprintf(&b, ", %s events preloaded", commas(cfg.Preload))
	}
	return b.String()
}

// writeRounds prints the throughput and then the latency and answers of
// each round.
func writeRounds(w io.Writer, tw *tabwriter.Writer, cfg Config, results []*Result) {
	fmt.Fprintln(w)
	fmt.Fprintln(tw, "ROUND\tTARGET\tEVENTS\tREQUESTS\tSECONDS\tEVENTS/S\tREQUESTS/S\tCPU/EVENT\tSTOPPED BY")
	for _, r := range results {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.3f\t%s\t%s\t%s\t%s\n", r.Round, r.Target, commas(r.Events), commas(r.OK),
			r.Elapsed.Seconds(), rate(r.EventsPerSecond()), rate(r.RequestsPerSecond()), micros(r.CPUPerEvent()), r.StoppedBy)
	}
	tw.Flush()

	fmt.Fprintln(w)
	fmt.Fprintln(tw, "ROUND\tTARGET\tP50\tP90\tP99\tMAX\tSTATUS\tFAILED\tACCEPTED\tDUPLICATES\tREJECTED")
	for _, r := range results {
		h := r.Latency
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Round, r.Target,
			latency(h.Quantile(0.5)), latency(h.Quantile(0.9)), latency(h.Quantile(0.99)), latency(h.Max()),
			statuses(r.Statuses), commas(r.Failed()), commas(r.Answers.Accepted), commas(r.Answers.Duplicates), commas(r.Answers.Rejected))
	}
	tw.Flush()
	if cfg.Duplicates > 0 {
		fmt.Fprintln(w, "(ACCEPTED, DUPLICATES and REJECTED are events, as the answers count them; the floor counts none as duplicates)")
	}
}

// writeMemory prints the montool server's memory before and after each
// round.
func writeMemory(w io.Writer, tw *tabwriter.Writer, inProcess bool, results []*Result) {
	fmt.Fprintln(w)
	where := ""
	if inProcess {
		where = "; in-process the figures are of the whole process, read when the load generator holds no bodies"
	}
	fmt.Fprintf(w, "memory of montool, from GET /api/v1/stats?gc=true before and after each round%s\n", where)
	fmt.Fprintln(tw, "ROUND\tSTORED\tRSS BEFORE\tRSS AFTER\tHEAP BEFORE\tHEAP AFTER\tRSS/EVENT\tHEAP/EVENT")
	for _, r := range results {
		if r.Target != "montool" {
			continue
		}
		stored, ok := r.Stored()
		if !ok {
			fmt.Fprintf(tw, "%d\t-\t-\t-\t-\t-\t-\t-\t(%s)\n", r.Round, orNone(r.StatsError))
			continue
		}
		b, a := r.MemBefore.Memory, r.MemAfter.Memory
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Round, commas(stored),
			mib(b.RSSBytes), mib(a.RSSBytes), mib(b.HeapAllocBytes), mib(a.HeapAllocBytes),
			perEvent(a.RSSBytes, b.RSSBytes, stored), perEvent(a.HeapAllocBytes, b.HeapAllocBytes, stored))
	}
	tw.Flush()
}

// writeBodies says in one line how the bodies were made and what readying
// them cost, and warns when that held the load back.
func writeBodies(w io.Writer, cfg Config, results []*Result) {
	fmt.Fprintln(w)
	var patched, preEvents, preBytes int64
	var patchTime, made time.Duration
	worst := results[0]
	for _, r := range results {
		b := r.Bodies
		patched += b.Patched
		patchTime += b.PatchTime
		made = max(made, b.MakeTime)
		preEvents, preBytes = max(preEvents, b.PreEvents), max(preBytes, b.PreBytes)
		if r.WaitFraction() > worst.WaitFraction() {
			worst = r
		}
	}
	if results[0].Bodies.Pregenerated {
		fmt.Fprintf(w, "request bodies: all made and compressed before the clock started, as gzip bodies cannot be patched: up to %s events (%s) a round, in %s at most\n",
			commas(preEvents), mib(uint64(preBytes)), latency(made))
	} else {
		cost := "no template was used twice, so none was patched"
		if patched > 0 {
			cost = strconv.FormatFloat(float64(patchTime)/float64(patched), 'f', 1, 64) + " ns per event, timed in the rounds"
		}
		fmt.Fprintf(w, "request bodies: %d templates of %s event%s made before the clock started (in %s at most), their event ids, client ids and timestamps patched in place by the senders: %s\n",
			results[0].Bodies.Templates, commas(int64(cfg.Batch)), plural(cfg.Batch), latency(made), cost)
	}
	if f := worst.WaitFraction(); f > 0.01 {
		fmt.Fprintf(w, "WARNING: the load generator held the load back: in round %d against %s the senders spent %.1f%% of their time waiting for a template still held by an earlier request, so the figures understate the server\n",
			worst.Round, worst.Target, 100*f)
	}
	for _, r := range results {
		if r.StoppedBy == "bodies" {
			fmt.Fprintf(w, "WARNING: round %d against %s ran out of bodies after %s: with --gzip every body is made before the clock, up to %s; lower --events or --duration to stay within it\n",
				r.Round, r.Target, r.Elapsed.Round(time.Millisecond), mib(uint64(cfg.PregenerateBytes)))
		}
	}
}

// writeRate prints the offered load and what was achieved of it.
func writeRate(w io.Writer, tw *tabwriter.Writer, cfg Config, results []*Result) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "offered load: %s requests/s on a fixed schedule (open loop); LATE counts requests sent more than %s after they were due, TAKEN LATE those of them no sender was ready for in time\n",
		offered(cfg.Rate), LateAfter)
	fmt.Fprintln(tw, "ROUND\tTARGET\tOFFERED\tACHIEVED\tLATE\tTAKEN LATE\tMOST LATE")
	for _, r := range results {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Round, r.Target, offered(r.Rate), rate(r.RequestsPerSecond()),
			commas(r.Late), commas(r.LateTaken), latency(r.MaxLate))
	}
	tw.Flush()
	taken, late := results[0], results[0] // the rounds with the largest shares
	share := func(n int64, r *Result) float64 { return float64(n) / float64(max(r.Requests, 1)) }
	for _, r := range results {
		if share(r.LateTaken, r) > share(taken.LateTaken, taken) {
			taken = r
		}
		if share(r.Late-r.LateTaken, r) > share(late.Late-late.LateTaken, late) {
			late = r
		}
	}
	if f := share(taken.LateTaken, taken); f > 0.01 {
		fmt.Fprintf(w, "WARNING: up to %.1f%% of the requests of a round (round %d against %s) found no sender ready when due: they went out late, and that wait is not in their latency; raise --connections or lower --rate\n",
			100*f, taken.Round, taken.Target)
	}
	if f := share(late.Late-late.LateTaken, late); f > 0.01 {
		fmt.Fprintf(w, "note: up to %.1f%% of the requests of a round (round %d against %s) went out late although a sender was free: Go's timers sleep in steps of a millisecond, and a busy machine runs a woken sender later still; the load kept to the schedule on the whole (ACHIEVED)\n",
			100*f, late.Round, late.Target)
	}
}

// writePreload prints what the preload of each round took.
func writePreload(w io.Writer, tw *tabwriter.Writer, cfg Config, results []*Result) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "preload: %s events before the clock of each round, in batches of 1,000, not timed; the floor has no store and is not preloaded\n", commas(cfg.Preload))
	fmt.Fprintln(tw, "ROUND\tTARGET\tPRELOADED\tSECONDS\tEVENTS/S")
	for _, r := range results {
		if r.Preloaded == 0 && r.PreloadTime == 0 {
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.3f\t%s\n", r.Round, r.Target, commas(r.Preloaded), r.PreloadTime.Seconds(),
			rate(float64(r.Preloaded)/r.PreloadTime.Seconds()))
	}
	tw.Flush()
}

// writeMedians prints the medians of each target's rounds and the ratios
// montool/floor and durable/montool of those measured.
func writeMedians(w io.Writer, tw *tabwriter.Writer, results []*Result) {
	sums := Summarize(results)
	fmt.Fprintln(w)
	rounds := slices.MaxFunc(sums, func(a, b Summary) int { return a.Rounds - b.Rounds }).Rounds
	fmt.Fprintf(w, "medians of %d round%s\n", rounds, plural(rounds))
	fmt.Fprintln(tw, "TARGET\tEVENTS/S\tREQUESTS/S\tP50\tP99\tCPU/EVENT")
	by := map[string]*Summary{}
	for i, s := range sums {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Target, rate(s.EventsPerSecond), rate(s.RequestsPerSecond), latency(s.P50), latency(s.P99), micros(s.CPUPerEvent))
		by[s.Target] = &sums[i]
	}
	for _, pair := range [][2]string{{"montool", "floor"}, {"durable", "montool"}} {
		a, b := by[pair[0]], by[pair[1]]
		if a == nil || b == nil {
			continue
		}
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\t%s\n", pair[0], pair[1], ratio(a.EventsPerSecond, b.EventsPerSecond), ratio(a.RequestsPerSecond, b.RequestsPerSecond),
			ratio(float64(a.P50), float64(b.P50)), ratio(float64(a.P99), float64(b.P99)), ratio(float64(a.CPUPerEvent), float64(b.CPUPerEvent)))
	}
	tw.Flush()
}

// commas writes n with a comma between groups of three digits.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// rate writes a rate per second: whole and grouped from 1,000 on, else
// with one decimal.
func rate(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "-"
	}
	if r >= 1000 {
		return commas(int64(math.Round(r)))
	}
	return strconv.FormatFloat(r, 'f', 1, 64)
}

// offered writes a rate as it was asked for: whole and grouped when it is
// whole, else as it is.
func offered(r float64) string {
	if r == math.Trunc(r) {
		return commas(int64(r))
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// ratio writes a/b with two decimals, or - when b is 0.
func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64)
}

// latency writes d with three significant digits.
func latency(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Microsecond:
		return d.String()
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e3, 'f', sigDecimals(float64(d)/1e3), 64) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/1e6, 'f', sigDecimals(float64(d)/1e6), 64) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', sigDecimals(d.Seconds()), 64) + "s"
}

// sigDecimals returns the decimals that show v (at least 1) with three
// significant digits.
func sigDecimals(v float64) int {
	switch {
	case v >= 100:
		return 0
	case v >= 10:
		return 1
	}
	return 2
}

// micros writes a processor time per event in microseconds.
func micros(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(d)/1e3, 'f', 2, 64) + "µs"
}

// mib writes a size in MiB.
func mib(n uint64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB" }

// perEvent writes the growth from before to after per stored event, in
// bytes.
func perEvent(after, before uint64, stored int64) string {
	if stored <= 0 {
		return "-"
	}
	return strconv.FormatFloat((float64(after)-float64(before))/float64(stored), 'f', 0, 64) + " B"
}

// statuses writes the counts of the answers by status, such as "202×3012".
func statuses(counts map[int]int64) string {
	if len(counts) == 0 {
		return "-"
	}
	codes := make([]int, 0, len(counts))
	for c := range counts {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = strconv.Itoa(c) + "×" + strconv.FormatInt(counts[c], 10)
	}
	return strings.Join(parts, " ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
