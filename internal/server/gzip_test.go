package server_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// gzipLevel compresses s as one gzip member at level.
func gzipLevel(t *testing.T, s string, level int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatalf("gzip.NewWriterLevel: %v", err)
	}
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatalf("gzip write: %v", err)
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("gzip close: %v", err)
	}
	return buf.Bytes()
}

// gzipped compresses s as one gzip member.
func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	return gzipLevel(t, s, gzip.BestCompression)
}

// gzipMembers compresses each part as its own gzip member and concatenates
// the members.
func gzipMembers(t *testing.T, parts ...string) []byte {
	t.Helper()
	var out []byte
	for _, p := range parts {
		out = append(out, gzipped(t, p)...)
	}
	return out
}

func TestIngestGzip(t *testing.T) {
	e1 := cum("agent-1", "e1", ts0, "requests", 1)
	e2 := cum("agent-1", "e2", ts1, "requests", 2)
	e3 := series("agent-2", "e3", ts2, "cpu", 0.5)
	bad := cum("agent-1", "e4", ts3, "requests", "four")
	tests := []struct {
		name        string
		contentType string
		encoding    string
		body        string // sent compressed, unless encoding is identity
		wantStatus  int
		wantSummary [3]int // accepted, duplicates, rejected
		wantErrors  []itemError
		wantClients []clientInfo
	}{
		{
			name: "single JSON event", contentType: "application/json", encoding: "gzip", body: e1,
			wantStatus: http.StatusAccepted, wantSummary: [3]int{1, 0, 0},
			wantClients: []clientInfo{{"agent-1", 1}},
		},
		{
			name: "single JSON event, GZIP in upper case", contentType: "application/json", encoding: "GZIP", body: e1,
			wantStatus: http.StatusAccepted, wantSummary: [3]int{1, 0, 0},
			wantClients: []clientInfo{{"agent-1", 1}},
		},
		{
			name: "single JSON event, Gzip in mixed case", contentType: "application/json", encoding: "Gzip", body: e1,
			wantStatus: http.StatusAccepted, wantSummary: [3]int{1, 0, 0},
			wantClients: []clientInfo{{"agent-1", 1}},
		},
		{
			name: "single JSON event, x-gzip (gzip's old name)", contentType: "application/json", encoding: "x-gzip", body: e1,
			wantStatus: http.StatusAccepted, wantSummary: [3]int{1, 0, 0},
			wantClients: []clientInfo{{"agent-1", 1}},
		},
		{
			name: "single JSON event without Content-Type", contentType: "", encoding: "gzip", body: e1,
			wantStatus: http.StatusAccepted, wantSummary: [3]int{1, 0, 0},
			wantClients: []clientInfo{{"agent-1", 1}},
		},
		{
			name: "JSON batch", contentType: "application/json; charset=utf-8", encoding: "gzip", body: batch(e1, e2, e3),
			wantStatus: http.StatusAccepted, wantSummary: [3]int{3, 0, 0},
			wantClients: []clientInfo{{"agent-1", 2}, {"agent-2", 1}},
		},
		{
			name: "JSON batch with an invalid event", contentType: "application/json", encoding: "gzip", body: batch(e1, bad, e3),
			wantStatus: http.StatusBadRequest, wantSummary: [3]int{2, 0, 1},
			wantErrors:  []itemError{{Index: 1, EventID: "e4", Code: "invalid", Field: "event_value"}},
			wantClients: []clientInfo{{"agent-1", 1}, {"agent-2", 1}},
		},
		{
			name: "JSON batch with a duplicate inside", contentType: "application/json", encoding: "gzip", body: batch(e1, e1),
			wantStatus: http.StatusAccepted, wantSummary: [3]int{1, 1, 0},
			wantClients: []clientInfo{{"agent-1", 1}},
		},
		{
			name: "NDJSON", contentType: mediaNDJSON, encoding: "gzip", body: e1 + "\r\n\n" + e2 + "\n" + e3,
			wantStatus: http.StatusAccepted, wantSummary: [3]int{3, 0, 0},
			wantClients: []clientInfo{{"agent-1", 2}, {"agent-2", 1}},
		},
		{
			name: "NDJSON with rejected lines", contentType: mediaNDJSON, encoding: "GZIP", body: ndjson(e1, "nope", bad, e3),
			wantStatus: http.StatusBadRequest, wantSummary: [3]int{2, 0, 2},
			wantErrors: []itemError{
				{Index: 1, EventID: "", Code: "invalid", Field: ""},
				{Index: 2, EventID: "e4", Code: "invalid", Field: "event_value"},
			},
			wantClients: []clientInfo{{"agent-1", 1}, {"agent-2", 1}},
		},
		{
			name: "identity encoding, plain JSON body", contentType: "application/json", encoding: "identity", body: batch(e1, e3),
			wantStatus: http.StatusAccepted, wantSummary: [3]int{2, 0, 0},
			wantClients: []clientInfo{{"agent-1", 1}, {"agent-2", 1}},
		},
		{
			name: "identity encoding, plain NDJSON body", contentType: mediaNDJSON, encoding: "identity", body: ndjson(e1, e3),
			wantStatus: http.StatusAccepted, wantSummary: [3]int{2, 0, 0},
			wantClients: []clientInfo{{"agent-1", 1}, {"agent-2", 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if !strings.EqualFold(tt.encoding, "identity") {
				body = gzipped(t, tt.body)
			}
			a := newDefaultAPI(t)
			r := a.postEvents(body, tt.contentType, tt.encoding)
			wantStatus(t, r.status, tt.wantStatus)
			got := decodeIngest(t, r)
			wantSummary(t, got, tt.wantSummary[0], tt.wantSummary[1], tt.wantSummary[2])
			checkItemErrors(t, got.Errors, tt.wantErrors)
			checkClients(t, a, tt.wantClients)

			// The same body, plain, to a fresh server gets the same answer.
			plain := newDefaultAPI(t)
			pr := plain.postEvents([]byte(tt.body), tt.contentType, "")
			if pr.status != r.status || string(pr.body) != string(r.body) {
				t.Errorf("compressed answer %d %s, plain answer %d %s: want the same", r.status, r.body, pr.status, pr.body)
			}
		})
	}
}

func TestIngestGzipReplay(t *testing.T) {
	events := batch(
		cum("agent-1", "e1", ts0, "requests", 1),
		series("agent-2", "e2", ts1, "cpu", 0.5),
	)
	lines := ndjson(
		cum("agent-1", "e1", ts0, "requests", 1),
		series("agent-2", "e2", ts1, "cpu", 0.5),
	)
	steps := []struct {
		name        string
		contentType string
		encoding    string
		body        []byte
		wantStatus  int
		wantNew     int
		wantDups    int
	}{
		{"compressed JSON batch", "application/json", "gzip", gzipped(t, events), http.StatusAccepted, 2, 0},
		{"same compressed batch again", "application/json", "gzip", gzipped(t, events), http.StatusOK, 0, 2},
		{"same batch plain", "application/json", "", []byte(events), http.StatusOK, 0, 2},
		{"same events as compressed NDJSON", mediaNDJSON, "gzip", gzipped(t, lines), http.StatusOK, 0, 2},
	}
	a := newDefaultAPI(t)
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			r := a.postEvents(step.body, step.contentType, step.encoding)
			wantStatus(t, r.status, step.wantStatus)
			wantSummary(t, decodeIngest(t, r), step.wantNew, step.wantDups, 0)
		})
	}
	checkClients(t, a, []clientInfo{{"agent-1", 1}, {"agent-2", 1}})
}

func TestIngestGzipMultistream(t *testing.T) {
	e1 := cum("agent-1", "e1", ts0, "requests", 1)
	e2 := cum("agent-1", "e2", ts1, "requests", 2)
	e3 := series("agent-2", "e3", ts2, "cpu", 0.5)
	tests := []struct {
		name        string
		contentType string
		body        []byte
	}{
		{"NDJSON, one line a member", mediaNDJSON, gzipMembers(t, e1+"\n", e2+"\n", e3+"\n")},
		{"NDJSON, members split inside lines", mediaNDJSON, gzipMembers(t, e1+"\n"+e2[:10], e2[10:]+"\n"+e3)},
		{"NDJSON, an empty member between", mediaNDJSON, gzipMembers(t, e1+"\n", "", e2+"\n"+e3)},
		{"JSON batch split over two members", "application/json", gzipMembers(t, "["+e1+","+e2, ","+e3+"]")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			r := a.postEvents(tt.body, tt.contentType, "gzip")
			wantStatus(t, r.status, http.StatusAccepted)
			wantSummary(t, decodeIngest(t, r), 3, 0, 0)
			checkClients(t, a, []clientInfo{{"agent-1", 2}, {"agent-2", 1}})
			checkTotal(t, a, "agent-1", "requests", "3", 2)
		})
	}
}

func TestIngestGzipNotValid(t *testing.T) {
	event := cum("agent-1", "e1", ts0, "requests", 1)
	good := gzipped(t, event)
	// corrupt returns good with byte i (from the end when negative) flipped.
	corrupt := func(i int) []byte {
		b := bytes.Clone(good)
		if i < 0 {
			i += len(b)
		}
		b[i] ^= 0xff
		return b
	}
	tests := []struct {
		name        string
		contentType string
		body        []byte
		wantMessage string // a part of the error's message that names the problem
	}{
		{"plain JSON sent as gzip", "application/json", []byte(event), "not gzip"},
		{"plain NDJSON sent as gzip", mediaNDJSON, []byte(ndjson(event)), "not gzip"},
		{"a word", "application/json", []byte("hello, world"), "not gzip"},
		{"empty body", "application/json", nil, "empty"},
		{"gzip magic only", "application/json", good[:2], "cut short"},
		{"gzip header only", "application/json", good[:10], "cut short"},
		{"truncated member", "application/json", good[:len(good)/2], "cut short"},
		{"member without its trailer", "application/json", good[:len(good)-8], "cut short"},
		{"bad magic", "application/json", corrupt(0), "not gzip"},
		{"bad checksum", "application/json", corrupt(-8), "checksum"},
		{"bad size", "application/json", corrupt(-1), ""},
		{"bad checksum, NDJSON", mediaNDJSON, corrupt(-8), "checksum"},
		{"a valid member then a truncated one", mediaNDJSON, append(gzipped(t, event+"\n"), good[:len(good)/2]...), "cut short"},
		{"trailing garbage", "application/json", append(bytes.Clone(good), "garbage at the end"...), "past its end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			r := a.postEvents(tt.body, tt.contentType, "gzip")
			wantStatus(t, r.status, http.StatusBadRequest)
			got := decodeIngest(t, r)
			wantSummary(t, got, 0, 0, 0)
			wantErrorCode(t, got, "invalid")
			if got.Error != nil && !strings.Contains(got.Error.Message, tt.wantMessage) {
				t.Errorf("message %q does not say %q", got.Error.Message, tt.wantMessage)
			}
			a.wantNoClients()
		})
	}
}

func TestIngestGzipBodyLimit(t *testing.T) {
	const limit = 1 << 20 // 1 MiB
	event := cum("agent-1", "e1", ts0, "requests", 1)
	line := event + "\n"
	// padded returns event followed by spaces, n bytes in all.
	padded := func(n int) string { return event + strings.Repeat(" ", n-len(event)) }
	// Over the limit as sent, but not decompressed: the event and then
	// empty members.
	manyMembers := gzipped(t, line)
	emptyMember := gzipped(t, "")
	for len(manyMembers) <= limit {
		manyMembers = append(manyMembers, emptyMember...)
	}
	tests := []struct {
		name           string
		contentType    string
		body           []byte
		wantStatus     int
		wantCompressed string // "under" or "over" the limit: checked first
	}{
		{"decompressed exactly at the limit", "application/json", gzipped(t, padded(limit)), http.StatusAccepted, "under"},
		{"decompressed one byte over", "application/json", gzipped(t, padded(limit+1)), http.StatusRequestEntityTooLarge, "under"},
		{"2 MiB of spaces", "application/json", gzipped(t, padded(2<<20)), http.StatusRequestEntityTooLarge, "under"},
		{"2 MiB of zero bytes", "application/json", gzipped(t, event+strings.Repeat("\x00", 2<<20)), http.StatusRequestEntityTooLarge, "under"},
		{"2 MiB of zero digits", "application/json", gzipped(t, strings.Repeat("0", 2<<20)), http.StatusRequestEntityTooLarge, "under"},
		{"NDJSON, 2 MiB of newlines", mediaNDJSON, gzipped(t, line+strings.Repeat("\n", 2<<20)), http.StatusRequestEntityTooLarge, "under"},
		{"NDJSON, 2 MiB of events", mediaNDJSON, gzipped(t, strings.Repeat(line, (2<<20)/len(line))), http.StatusRequestEntityTooLarge, "under"},
		{"16 MiB of zero bytes", "application/json", gzipped(t, strings.Repeat("\x00", 16<<20)), http.StatusRequestEntityTooLarge, "under"},
		{"over the limit as sent, stored uncompressed", "application/json", gzipLevel(t, padded(limit), gzip.NoCompression), http.StatusRequestEntityTooLarge, "over"},
		{"over the limit as sent, in empty members", mediaNDJSON, manyMembers, http.StatusRequestEntityTooLarge, "over"},
	}
	for _, tt := range tests {
		for _, chunked := range []bool{false, true} {
			name := tt.name + ", with Content-Length"
			if chunked {
				name = tt.name + ", chunked"
			}
			t.Run(name, func(t *testing.T) {
				if under := len(tt.body) <= limit; under != (tt.wantCompressed == "under") {
					t.Fatalf("test body is %d bytes compressed, want it %s the limit of %d", len(tt.body), tt.wantCompressed, limit)
				}
				cfg := testConfig()
				cfg.MaxBodyBytes = limit
				a := newAPI(t, cfg)
				var body io.Reader = bytes.NewReader(tt.body)
				if chunked {
					body = struct{ io.Reader }{body} // hides the length: sent chunked
				}
				r := a.do(http.MethodPost, "/api/v1/events", body,
					map[string]string{"Content-Type": tt.contentType, "Content-Encoding": "gzip"})
				wantStatus(t, r.status, tt.wantStatus)
				got := decodeIngest(t, r)
				if tt.wantStatus == http.StatusAccepted {
					wantSummary(t, got, 1, 0, 0)
					checkClients(t, a, []clientInfo{{"agent-1", 1}})
					return
				}
				wantSummary(t, got, 0, 0, 0)
				wantErrorCode(t, got, "too_large")
				a.wantNoClients()
			})
		}
	}
}

func TestIngestGzipTinyBodyLimit(t *testing.T) {
	// A limit smaller than a gzip header: the compressed body is over it.
	cfg := testConfig()
	cfg.MaxBodyBytes = 8
	a := newAPI(t, cfg)
	r := a.postEvents(gzipped(t, "{}"), "application/json", "gzip")
	wantStatus(t, r.status, http.StatusRequestEntityTooLarge)
	got := decodeIngest(t, r)
	wantSummary(t, got, 0, 0, 0)
	wantErrorCode(t, got, "too_large")
	a.wantNoClients()
}

func TestIngestUnsupportedContentEncoding(t *testing.T) {
	event := cum("agent-1", "e1", ts0, "requests", 1)
	tests := []struct {
		name        string
		contentType string
		encoding    string
		body        []byte
	}{
		{"br", "application/json", "br", []byte(event)},
		{"deflate", "application/json", "deflate", []byte(event)},
		{"x-unknown", "application/json", "x-unknown", []byte(event)},
		{"compress", "application/json", "compress", []byte(event)},
		{"zstd", "application/json", "zstd", []byte(event)},
		{"br with NDJSON", mediaNDJSON, "br", []byte(ndjson(event))},
		{"deflate with a gzip body", "application/json", "deflate", gzipped(t, event)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			r := a.postEvents(tt.body, tt.contentType, tt.encoding)
			wantStatus(t, r.status, http.StatusUnsupportedMediaType)
			got := decodeIngest(t, r)
			wantSummary(t, got, 0, 0, 0)
			wantErrorCode(t, got, "unsupported_media_type")
			if got.Error != nil && !strings.Contains(got.Error.Message, "gzip") {
				t.Errorf("error message = %q, want it to name gzip", got.Error.Message)
			}
			a.wantNoClients()
		})
	}
}

func TestIngestGzipUnsupportedContentType(t *testing.T) {
	event := cum("agent-1", "e1", ts0, "requests", 1)
	a := newDefaultAPI(t)
	r := a.postEvents(gzipped(t, event), "text/plain", "gzip")
	wantStatus(t, r.status, http.StatusUnsupportedMediaType)
	got := decodeIngest(t, r)
	wantSummary(t, got, 0, 0, 0)
	wantErrorCode(t, got, "unsupported_media_type")
	if got.Error != nil {
		for _, want := range []string{"application/json", "application/x-ndjson"} {
			if !strings.Contains(got.Error.Message, want) {
				t.Errorf("error message = %q, want it to name %s", got.Error.Message, want)
			}
		}
	}
	a.wantNoClients()
}

// postGzipConcurrently posts body, gzip-compressed NDJSON, from a goroutine
// other than the test's.
func postGzipConcurrently(a *api, body []byte) (int, ingestResponse, error) {
	req, err := http.NewRequest(http.MethodPost, a.url+"/api/v1/events", bytes.NewReader(body))
	if err != nil {
		return 0, ingestResponse{}, err
	}
	req.Header.Set("Content-Type", mediaNDJSON)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, ingestResponse{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, ingestResponse{}, err
	}
	var got ingestResponse
	if err := json.Unmarshal(raw, &got); err != nil {
		return resp.StatusCode, got, fmt.Errorf("answer %q: %v", raw, err)
	}
	return resp.StatusCode, got, nil
}

// TestIngestGzipNDJSONConcurrent has workers post compressed NDJSON at once,
// each its own events and the same shared ones, three times over.
func TestIngestGzipNDJSONConcurrent(t *testing.T) {
	const (
		workers = 8
		own     = 50 // events of the worker's own client
		shared  = 50 // events of client "shared", the same for every worker
		rounds  = 3
	)
	bodies := make([][]byte, workers)
	for w := range workers {
		var lines []string
		for i := range own {
			lines = append(lines, cum(fmt.Sprintf("worker-%d", w), fmt.Sprintf("e%d", i), ts0+i, "requests", 1))
		}
		for i := range shared {
			lines = append(lines, series("shared", fmt.Sprintf("s%d", i), ts0+i, "cpu", i))
		}
		bodies[w] = gzipped(t, ndjson(lines...))
	}

	a := newDefaultAPI(t)
	a.client = &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: workers},
		Timeout:   60 * time.Second,
	}
	t.Cleanup(a.client.CloseIdleConnections)
	var accepted, duplicates, rejected [workers]int
	var done sync.WaitGroup
	for w := range workers {
		done.Add(1)
		go func() {
			defer done.Done()
			for range rounds {
				status, got, err := postGzipConcurrently(a, bodies[w])
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
				if status != http.StatusOK && status != http.StatusAccepted {
					t.Errorf("worker %d: status %d, want 200 or 202 (answer %+v)", w, status, got)
				}
				accepted[w] += got.Accepted
				duplicates[w] += got.Duplicates
				rejected[w] += got.Rejected
			}
		}()
	}
	done.Wait()

	var sumAccepted, sumDuplicates, sumRejected int
	for w := range workers {
		sumAccepted += accepted[w]
		sumDuplicates += duplicates[w]
		sumRejected += rejected[w]
	}
	// 8 × 50 own events and 50 shared ones are new; every other of the
	// 8 × 3 × 100 events sent is a duplicate.
	if sumAccepted != 450 || sumDuplicates != 1950 || sumRejected != 0 {
		t.Errorf("accepted/duplicates/rejected in all = %d/%d/%d, want 450/1950/0", sumAccepted, sumDuplicates, sumRejected)
	}
	checkClients(t, a, []clientInfo{
		{"shared", 50},
		{"worker-0", 50}, {"worker-1", 50}, {"worker-2", 50}, {"worker-3", 50},
		{"worker-4", 50}, {"worker-5", 50}, {"worker-6", 50}, {"worker-7", 50},
	})
}
