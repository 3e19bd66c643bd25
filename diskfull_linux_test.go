package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDurableDiskFull runs a durable server on a 2 MiB tmpfs and writes to
// it until the log cannot be written. The failed request must get 507 with
// the reason, the server must stop serving and exit non-zero saying why,
// and, once there is room, a restart must hold exactly the events
// acknowledged: never one whose request failed. It needs root, to mount.
func TestDurableDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs as a full disk")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=2m"); err != nil {
		t.Skipf("cannot mount a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})

	r := newRunner(t)
	c := newTestClient()
	defer c.CloseIdleConnections()
	args := []string{"--data-dir", dir, "--fsync", "always", "--snapshot-interval", "200ms"}
	p := r.serve(t, args...)
	p.waitListening(t)
	p.waitReady(t, c)

	var (
		requests [][]testEvent
		failed   = -1
	)
	for i := range 2000 { // about 60 fill 2 MiB
		events := make([]testEvent, 200)
		for j := range events {
			events[j] = testEvent{ClientID: damageClient, ID: fmt.Sprintf("full-%04d-%03d", i, j),
				Timestamp: crashBaseMillis + int64(i*1000+j)*1000, Type: "TIME-SERIES", Key: "temperature", Value: float64(i*1000 + j)}
		}
		requests = append(requests, events)
		status, body, err := postEvents(c, p.url, events)
		if err == nil && status == http.StatusAccepted {
			continue
		}
		failed = i
		if err != nil {
			t.Fatalf("POST %d: %v, want an answer that says the disk is full", i, err)
		}
		if status != http.StatusInsufficientStorage {
			t.Errorf("POST %d: status %d, want 507: %s", i, status, body)
		}
		if !strings.Contains(string(body), "no space left on device") {
			t.Errorf("POST %d: the answer does not give the reason: %s", i, body)
		}
		break
	}
	if failed < 0 {
		t.Fatal("2000 requests fitted in 2 MiB")
	}
	t.Logf("request %d of 200 events failed", failed)

	// Until it is gone, the server is not ready, takes nothing and shows
	// nothing that the failed request sent.
	if resp, err := c.Get(p.url + "/readyz"); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("GET /readyz after the failed write: status %d, want 503", resp.StatusCode)
		}
	}
	if status, body, err := postEvents(c, p.url, requests[failed]); err == nil && status < 500 {
		t.Errorf("POST after the failed write: status %d, want 507 or 503: %s", status, body)
	}
	if resp, err := c.Get(p.url + "/api/v1/clients/" + damageClient + "/events"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			var d clientDump
			json.Unmarshal(body, &d)
			var n int
			var list []json.RawMessage
			json.Unmarshal(d.Events["temperature"], &list)
			n = len(list)
			if n != 200*failed {
				t.Errorf("a dump after the failed write holds %d events, %d acknowledged", n, 200*failed)
			}
		}
	}

	code := p.waitExit(t, 30*time.Second)
	stderr := p.stderr.String()
	if code == 0 {
		t.Errorf("serve exited 0 once its log could not be written; stderr:\n%s", stderr)
	}
	if !strings.Contains(stderr, "no space left on device") {
		t.Errorf("serve did not say why it stopped:\n%s", stderr)
	}
	// A snapshot that fails while the log works may say so; once the log
	// has failed, nothing may.
	if loc := regexp.MustCompile(`\.wal: no space left on device`).FindStringIndex(stderr); loc != nil && strings.Contains(stderr[loc[0]:], "the write-ahead log keeps everything") {
		t.Errorf("after the log failed, a log line says it keeps everything:\n%s", stderr)
	}

	// With room again, a restart holds exactly what was acknowledged.
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size=64m"); err != nil {
		t.Fatalf("grow the tmpfs: %v", err)
	}
	p = r.serve(t, args...)
	p.waitListening(t)
	p.waitReady(t, c)
	recs := records(requests, failed)
	if stored := checkStore(t, dumpClients(t, c, p.url, []string{damageClient}), recs); stored != 200*failed {
		t.Errorf("after the restart the store holds %d events, want the %d acknowledged", stored, 200*failed)
	}
	mustPost(t, c, p.url, requests[failed])
	p.terminate(t)
}
