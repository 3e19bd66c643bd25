package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStalledBodiesHoldBoundedMemory opens 600 connections that each send
// all but the last 50 bytes of a large body and then stall: a gzip body
// that expands to 8 MiB, or a plain one of 8 MiB. The server must hold no
// more than its default body memory (256 MiB) and a little per
// connection, refuse with 503 and Retry-After the bodies past it, and
// still serve a normal request meanwhile.
func TestStalledBodiesHoldBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("600 connections and a few hundred MiB")
	}
	const (
		conns  = 600
		budget = 256 << 20 // serve's default --max-body-memory
		slack  = 64 << 20
		size   = 8<<20 - 1024 // under the default 8 MiB body limit
	)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Repeat([]byte(" "), size))
	zw.Close()
	tests := []struct {
		name        string
		encoding    string
		body        []byte
		wantRefused bool // some get 503: what was sent of them is over the budget
	}{
		{name: "gzip", encoding: "gzip", body: gz.Bytes()},
		{name: "plain", body: bytes.Repeat([]byte(" "), size), wantRefused: true},
	}
	r := newRunner(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := r.serve(t)
			p.waitListening(t)
			c := newTestClient()
			p.waitReady(t, c)
			pid := p.cmd.Process.Pid
			postOne := func() int {
				t.Helper()
				body := fmt.Sprintf(`{"client_id":"agent-1","event_id":"e-%d","event_timestamp":%d,"event_type":"TIME-SERIES","event_key":"k","event_value":1}`,
					time.Now().UnixNano(), time.Now().Unix())
				resp, err := c.Post(p.url+"/api/v1/events", "application/json", strings.NewReader(body))
				if err != nil {
					t.Fatalf("a normal request: %v", err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if status := postOne(); status != http.StatusAccepted {
				t.Fatalf("a normal request before the stall: status %d", status)
			}
			baseline := rssOf(t, pid)

			addr := strings.TrimPrefix(p.url, "http://")
			head := "POST /api/v1/events HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\n"
			if tt.encoding != "" {
				head += "Content-Encoding: " + tt.encoding + "\r\n"
			}
			head += "Content-Length: " + strconv.Itoa(len(tt.body)) + "\r\n\r\n"
			sent := tt.body[:len(tt.body)-50]
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				statuses = map[int]int{}
				retry    = map[string]int{} // Retry-After of the 503s
				open     []net.Conn
			)
			t.Cleanup(func() {
				for _, conn := range open {
					conn.Close()
				}
				wg.Wait()
			})
			for range conns {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				open = append(open, conn)
				wg.Go(func() {
					// A write error means the server answered and hung up:
					// the answer is read all the same.
					conn.Write(append([]byte(head), sent...))
					conn.SetReadDeadline(time.Now().Add(20 * time.Second))
					resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
					if err != nil {
						return // still held, then closed by the test
					}
					resp.Body.Close()
					mu.Lock()
					statuses[resp.StatusCode]++
					if resp.StatusCode == http.StatusServiceUnavailable {
						retry[resp.Header.Get("Retry-After")]++
					}
					mu.Unlock()
				})
			}

			// Watch the server's memory while it reads what it was sent.
			peak := baseline
			for deadline, last, still := time.Now().Add(15*time.Second), uint64(0), 0; time.Now().Before(deadline) && still < 10; {
				rss := rssOf(t, pid)
				peak = max(peak, rss)
				if rss == last {
					still++
				} else {
					still = 0
				}
				last = rss
				time.Sleep(100 * time.Millisecond)
			}
			if status := postOne(); status != http.StatusAccepted {
				t.Errorf("a normal request while %d connections stall: status %d, want 202", conns, status)
			}
			peak = max(peak, rssOf(t, pid))
			if limit := baseline + budget + slack; peak > limit {
				t.Errorf("the server's RSS reached %d MiB from a baseline of %d MiB, want at most %d MiB",
					peak>>20, baseline>>20, limit>>20)
			}
			mu.Lock()
			defer mu.Unlock()
			refused := statuses[http.StatusServiceUnavailable]
			if tt.wantRefused && (refused == 0 || retry["1"] != refused) {
				t.Errorf("answers while stalled %v, Retry-After of the 503s %v: want some 503s, each with Retry-After: 1", statuses, retry)
			}
			if others := len(statuses) - min(refused, 1); others > 0 {
				t.Errorf("answers while stalled %v: want none but 503", statuses)
			}
			t.Logf("RSS %d MiB → peak %d MiB; answers while stalled: %v", baseline>>20, peak>>20, statuses)
		})
	}
}

// rssOf returns the resident set size of process pid, from /proc.
func rssOf(t *testing.T, pid int) uint64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc here to read the server's memory from: %v", err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}
