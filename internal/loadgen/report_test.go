package loadgen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/ with what the tests get")

// checkGolden compares got with testdata/name.golden, or rewrites the
// file with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what was written (go test -update rewrites it if the change is meant):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// latencies returns a histogram of the given durations.
func latencies(ds ...time.Duration) *Histogram {
	var h Histogram
	for _, d := range ds {
		h.Record(d)
	}
	return &h
}

// measured returns the result of a round of requests full batches sent
// in elapsed, every one answered 202 and its events accepted, with
// templates patched at 15 ns an event.
func measured(target string, round int, requests int64, batch int, elapsed time.Duration) *Result {
	events := requests * int64(batch)
	return &Result{
		Target: target, Round: round, Connections: 4,
		Requests: requests, OK: requests, Events: events,
		Statuses:  map[int]int64{202: requests},
		Answers:   Answers{Accepted: events},
		Elapsed:   elapsed,
		StoppedBy: "duration",
		Latency:   latencies(900*time.Microsecond, 1200*time.Microsecond, 1500*time.Microsecond, 2*time.Millisecond, 9*time.Millisecond),
		CPU:       time.Duration(events) * 650, // 0.65µs an event
		Bodies:    BodyStats{Templates: 8, MakeTime: 1620 * time.Microsecond, Patched: events - 8*int64(batch), PatchTime: time.Duration(events-8*int64(batch)) * 15},
	}
}

// withMemory gives r the stats of a server that held before events and
// then stored r's accepted events at 54 bytes each.
func withMemory(r *Result, before int64) *Result {
	r.MemBefore, r.MemAfter = &ServerStats{Clients: 100, Events: before}, &ServerStats{Clients: 100, Events: before + r.Answers.Accepted}
	r.MemBefore.Memory.RSSBytes, r.MemBefore.Memory.HeapAllocBytes = 15<<20, 600<<10
	r.MemAfter.Memory.RSSBytes = r.MemBefore.Memory.RSSBytes + uint64(54*r.Answers.Accepted)
	r.MemAfter.Memory.HeapAllocBytes = r.MemBefore.Memory.HeapAllocBytes + uint64(53*r.Answers.Accepted)
	return r
}

const testMachine = "2 CPUs, GOMAXPROCS 2, go1.26 linux/amd64"

// goldenReports returns the reports of testdata/report-*.golden, by name.
func goldenReports() map[string]Report {
	twoSeconds := DefaultConfig()
	twoSeconds.Duration = 2 * time.Second

	paced := DefaultConfig()
	paced.Batch, paced.Connections, paced.Events, paced.Duplicates, paced.Rate, paced.Preload = 1, 32, 40_000, 0.1, 20600, 10_000

	gzipped := DefaultConfig()
	gzipped.Gzip, gzipped.Format, gzipped.Duration, gzipped.Events = true, NDJSON, 0, 20_000_000

	return map[string]Report{
		"in-process-floor-durable": func() Report {
			var rs []*Result
			for round := 1; round <= 2; round++ {
				d := time.Duration(round) * time.Millisecond
				rs = append(rs,
					withMemory(measured("montool", round, 5093-int64(round), 1000, 2004*time.Millisecond+d), 0),
					measured("durable", round, 3100+int64(round), 1000, 2003*time.Millisecond),
					measured("floor", round, 542, 1000, 2004*time.Millisecond))
				rs[len(rs)-1].CPU = time.Duration(rs[len(rs)-1].Events) * 3710
				rs[len(rs)-1].Latency = latencies(13*time.Millisecond, 24*time.Millisecond, 38*time.Millisecond, 63*time.Millisecond)
			}
			return Report{Load: twoSeconds, Rounds: 2, InProcess: true, Floor: NewFloor(FloorDecode), Machine: testMachine, Results: rs}
		}(),
		"server-paced-preloaded-interrupted": func() Report {
			r1 := measured("montool", 1, 40_000, 1, 1942*time.Millisecond)
			r1.StoppedBy, r1.Connections = "events", 32
			r1.Answers = Answers{Accepted: 36_000, Duplicates: 4000}
			withMemory(r1, 10_000)
			r1.Rate, r1.Late, r1.LateTaken, r1.MaxLate = 20600, 3200, 900, 13*time.Millisecond
			r1.Preloaded, r1.PreloadTime = 10_000, 16*time.Millisecond
			r2 := measured("montool", 2, 11_000, 1, 610*time.Millisecond)
			r2.StoppedBy, r2.Connections = "interrupted", 32
			r2.Requests, r2.OK = 11_020, 11_000
			r2.Statuses = map[int]int64{202: 11_000, 503: 20}
			r2.TransportErrors, r2.FailedEvents, r2.Interrupted = 2, 22, 3
			r2.FirstFailure = `HTTP 503: {"error":{"code":"unavailable","message":"the store is full"}}`
			r2.Answers = Answers{Accepted: 9900, Duplicates: 1100}
			r2.Rate, r2.Late, r2.LateTaken, r2.MaxLate = 20600, 40, 10, 2*time.Millisecond
			r2.Preloaded, r2.PreloadTime = 10_000, 9*time.Millisecond
			r2.Bodies.SenderWait = 32 * 610 * time.Millisecond / 20 // 5% of the senders' time
			r2.StatsError = "read the server's stats: GET /api/v1/stats answered HTTP 401: unauthorized"
			return Report{Load: paced, Rounds: 3, Server: "http://127.0.0.1:8080", Machine: testMachine, Results: []*Result{r1, r2}, Interrupted: true}
		}(),
		"gzip-out-of-bodies": func() Report {
			r := withMemory(measured("montool", 1, 9_300, 1000, 3217*time.Millisecond), 0)
			r.StoppedBy = "bodies"
			r.Bodies = BodyStats{Pregenerated: true, MakeTime: 8200 * time.Millisecond, PreBodies: 9300, PreEvents: 9_300_000, PreBytes: 256 << 20}
			return Report{Load: gzipped, Rounds: 1, InProcess: true, Machine: testMachine, Results: []*Result{r}}
		}(),
		"nothing-measured": func() Report {
			return Report{Load: DefaultConfig(), Rounds: 3, InProcess: true, Floor: NewFloor(FloorDrop), Machine: testMachine, Interrupted: true}
		}(),
	}
}

func TestReportGolden(t *testing.T) {
	for name, rep := range goldenReports() {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := rep.Write(&b); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "report-"+name, b.Bytes())
		})
	}
}

func TestReportMachine(t *testing.T) {
	var b bytes.Buffer
	rep := Report{Load: DefaultConfig(), Rounds: 1, Server: "http://127.0.0.1:8080"}
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	if want := "\nmachine: " + Machine() + "\n"; !strings.Contains(b.String(), want) {
		t.Errorf("a report without a machine does not describe this one (%q):\n%s", want, b.String())
	}
}

func TestWriteProgress(t *testing.T) {
	tests := []struct {
		name  string
		write func(*bytes.Buffer)
		want  string
	}{
		{"timed", func(b *bytes.Buffer) {
			WriteProgress(b, 3, Progress{Target: "montool", Round: 2, Elapsed: 4300 * time.Millisecond, Events: 2_150_000})
		}, "\r\033[Kround 2/3 montool  4s  2,150,000 events  500,000 events/s"},
		{"preload", func(b *bytes.Buffer) {
			WriteProgress(b, 1, Progress{Target: "durable", Round: 1, Elapsed: time.Second, Events: 900, Preload: true})
		}, "\r\033[Kround 1/1 durable  1s  900 events preloaded  900.0 events/s"},
		{"round done", func(b *bytes.Buffer) {
			WriteRoundDone(b, 3, &Result{Target: "floor", Round: 3, Events: 1_234_567, Elapsed: 2004400 * time.Microsecond})
		}, "\r\033[Kround 3/3 floor  1,234,567 events in 2.004s: 615,928 events/s\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.write(&b)
			if got := b.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReportNumbers(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{commas(0), "0"},
		{commas(999), "999"},
		{commas(1000), "1,000"},
		{commas(-1234567), "-1,234,567"},
		{rate(999.94), "999.9"},
		{rate(1000), "1,000"},
		{rate(2541738.4), "2,541,738"},
		{rate(0), "0.0"},
		{offered(20600), "20,600"},
		{offered(0.5), "0.5"},
		{ratio(9.4, 1), "9.40"},
		{ratio(1, 0), "-"},
		{latency(0), "-"},
		{latency(850), "850ns"},
		{latency(1260 * time.Microsecond), "1.26ms"},
		{latency(24400 * time.Microsecond), "24.4ms"},
		{latency(110 * time.Millisecond), "110ms"},
		{latency(999 * time.Microsecond), "999µs"},
		{latency(8200 * time.Millisecond), "8.20s"},
		{micros(670), "0.67µs"},
		{micros(0), "-"},
		{mib(15 << 20), "15.0 MiB"},
		{perEvent(100, 46, 1), "54 B"},
		{perEvent(100, 200, 2), "-50 B"},
		{perEvent(100, 0, 0), "-"},
		{statuses(map[int]int64{503: 2, 200: 300, 202: 300}), "200×300 202×300 503×2"},
		{statuses(nil), "-"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
