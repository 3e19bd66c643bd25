package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/outputtest"
	"github.com/montool/montool/internal/server"
)

// bigStore holds one client, "big", with one TIME-SERIES key of n samples
// made up as they are read, so that a dump of many megabytes costs no
// memory.
type bigStore struct{ n int }

var _ server.Store = bigStore{}

func (s bigStore) Apply(context.Context, []event.Event) ([]event.Result, error) {
	return nil, errors.New("bigStore takes no events")
}

func (s bigStore) View(_ context.Context, id string) (*event.View, error) {
	if id != "big" {
		return nil, &event.Error{Kind: event.ErrNotFound, Message: "no client " + id}
	}
	return &event.View{ClientID: "big", Series: []event.SeriesView{{
		Key: "latency_ms", Type: event.TimeSeries, Count: int64(s.n), Samples: madeUp(s.n),
	}}}, nil
}

func (s bigStore) Clients(context.Context) ([]event.ClientInfo, error) {
	return []event.ClientInfo{{ClientID: "big", Events: int64(s.n)}}, nil
}

func (s bigStore) Delete(context.Context, string) (int64, error) { return 0, nil }

// madeUp are n samples, one a second.
type madeUp int

func (m madeUp) Len() int { return int(m) }
func (m madeUp) At(i int) event.Sample {
	return event.Sample{ID: "event-" + strconv.Itoa(i), Timestamp: event.Timestamp(ts0+int64(i)) * 1e9, Value: float64(i % 1000)}
}

// startBigDump runs a server with a write timeout of writeTimeout over a
// bigStore of n samples, logging at info level to the returned buffer, and
// returns its address.
func startBigDump(t *testing.T, writeTimeout time.Duration, n int) (string, *outputtest.Buffer) {
	t.Helper()
	cfg := testConfig()
	cfg.WriteTimeout = writeTimeout
	logs := outputtest.New()
	srv, err := server.New(cfg, bigStore{n: n}, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, smallSendBuffers{ln}) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ln.Addr().String(), logs
}

// smallSendBuffers is a listener whose connections keep little in their
// send buffers, so that a blocked write of the server resumes as soon as
// the reader takes a little, as a slow network does, rather than when it
// has drained megabytes of a loopback buffer.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err == nil {
		err = conn.(*net.TCPConn).SetWriteBuffer(64 << 10)
	}
	return conn, err
}

// smallWindowClient is an HTTP client whose connections take little into
// their receive buffers, so that how fast the test reads is about how fast
// the server writes.
func smallWindowClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err == nil {
				err = conn.(*net.TCPConn).SetReadBuffer(32 << 10)
			}
			return conn, err
		},
		DisableCompression: true,
	}}
}

// TestDumpOutlastsWriteTimeout reads a dump slowly but steadily for a few
// times the server's write timeout, in JSON (written 32 KiB at a time) and
// NDJSON (a line at a time): the dump keeps making progress, so the server
// must not cut it, and it arrives whole.
func TestDumpOutlastsWriteTimeout(t *testing.T) {
	const writeTimeout = 500 * time.Millisecond
	for _, format := range []string{"json", "ndjson"} {
		t.Run(format, func(t *testing.T) {
			addr, logs := startBigDump(t, writeTimeout, 40_000) // about 5 MB
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+dumpPath("big")+"?format="+format, nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			resp, err := smallWindowClient().Do(req)
			if err != nil {
				t.Fatalf("GET dump: %v", err)
			}
			defer resp.Body.Close()
			wantStatus(t, resp.StatusCode, http.StatusOK)
			// 32 KiB every 10 ms: about 3 MB/s, so about 1.5 s in all.
			var body []byte
			buf := make([]byte, 32<<10)
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for range 100_000 {
				n, err := resp.Body.Read(buf)
				body = append(body, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("read the dump after %d bytes and %s: %v", len(body), time.Since(start).Round(time.Millisecond), err)
				}
				<-tick.C
			}
			took := time.Since(start)
			if took < 2*writeTimeout {
				t.Fatalf("the dump was read in %s, not slowly enough to outlast the write timeout of %s", took, writeTimeout)
			}
			events := 0
			if format == "json" {
				var d struct {
					Events map[string][]json.RawMessage `json:"events"`
				}
				if err := json.Unmarshal(body, &d); err != nil {
					t.Fatalf("the dump (%d bytes, read in %s) is not whole JSON: %v", len(body), took, err)
				}
				events = len(d.Events["latency_ms"])
			} else {
				for line := range strings.Lines(string(body)) {
					if !strings.HasSuffix(line, "\n") || !json.Valid([]byte(line)) {
						t.Fatalf("line %d of the dump (%d bytes, read in %s) is not whole JSON: %q", events+1, len(body), took, line)
					}
					events++
				}
			}
			if events != 40_000 {
				t.Errorf("the dump holds %d events, want 40000", events)
			}
			if strings.Contains(logs.String(), "cut short") {
				t.Errorf("the server logged a cut of a dump that kept making progress:\n%s", logs)
			}
		})
	}
}

// TestDumpCutsAStalledReader stops reading a dump: the server cuts it once
// nothing has been taken for the write timeout, and says so at warn level
// with the client, the bytes written and why.
func TestDumpCutsAStalledReader(t *testing.T) {
	const writeTimeout = 300 * time.Millisecond
	addr, logs := startBigDump(t, writeTimeout, 200_000) // about 25 MB of JSON
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+dumpPath("big"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := smallWindowClient().Do(req)
	if err != nil {
		t.Fatalf("GET dump: %v", err)
	}
	defer resp.Body.Close()
	wantStatus(t, resp.StatusCode, http.StatusOK)

	// Read nothing until the server has given up.
	var line string
	for range 500 {
		for l := range strings.Lines(logs.String()) {
			if strings.Contains(l, "dump cut short") {
				line = l
			}
		}
		if line != "" {
			break
		}
		<-time.After(20 * time.Millisecond)
	}
	if line == "" {
		t.Fatalf("no cut of the stalled dump logged within 10s:\n%s", logs)
	}
	for _, want := range []string{"level=WARN", "client_id=big", "bytes=", "reason="} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q does not hold %q", line, want)
		}
	}
	if strings.Contains(line, "bytes=0 ") {
		t.Errorf("log line %q says no bytes were written", line)
	}

	// What the server had written before the cut arrives, then the body
	// ends before its end.
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("the stalled dump was read whole (%d bytes) after the cut was logged", len(body))
	}
	if json.Valid(body) {
		t.Errorf("the cut dump is valid JSON (%d bytes)", len(body))
	}
}
