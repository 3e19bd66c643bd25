package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// roundEvents returns n TIME-SERIES events of damageClient for round r,
// with ids of their own.
func roundEvents(r, n int) []testEvent {
	events := make([]testEvent, n)
	for i := range events {
		events[i] = testEvent{ClientID: damageClient, ID: fmt.Sprintf("round%d-%05d", r, i),
			Timestamp: crashBaseMillis + int64(r*100_000+i)*1000, Type: "TIME-SERIES", Key: "temperature", Value: float64(r*100_000+i) / 4}
	}
	return events
}

// records returns the events of the requests, each acknowledged unless
// its request's number is in lost.
func records(requests [][]testEvent, lost ...int) []sentRecord {
	var recs []sentRecord
	for i, events := range requests {
		acked := !slices.Contains(lost, i)
		for _, ev := range events {
			recs = append(recs, sentRecord{ev: ev, acked: acked})
		}
	}
	return recs
}

// mustPost posts events and fails the test unless they are all accepted.
func mustPost(t *testing.T, c *http.Client, base string, events []testEvent) {
	t.Helper()
	status, body, err := postEvents(c, base, events)
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("POST of %d events: status %d, %v: %s", len(events), status, err, body)
	}
}

// failStart starts serve with args, expects it to stop with exit code 1
// and returns its stderr.
func failStart(t *testing.T, r *runner, args ...string) string {
	t.Helper()
	p := r.serve(t, args...)
	code := p.waitExit(t, 15*time.Second)
	stderr := p.stderr.String()
	if code != 1 {
		t.Fatalf("serve exited %d, want 1; stderr:\n%s", code, stderr)
	}
	return stderr
}

// TestDurableMissingFiles deletes files of the data directory that the
// load needs (a segment of the log, the snapshots) and checks that the
// start-up stops with the missing files named and --accept-data-loss as
// the way on; that the flag then loads what is there and says what was
// skipped; and that the next start needs it no more.
func TestDurableMissingFiles(t *testing.T) {
	r := newRunner(t)
	c := newTestClient()
	defer c.CloseIdleConnections()

	tests := []struct {
		name string
		stop syscall.Signal
		// damage removes files of dir and returns their names.
		damage func(t *testing.T, dir string) []string
		lost   []int // the rounds whose events are gone
	}{
		{
			name: "middle segment after three crashes",
			stop: syscall.SIGKILL,
			damage: func(t *testing.T, dir string) []string {
				segs := walSegments(t, dir)
				if len(segs) != 3 {
					t.Fatalf("after three rounds the log has segments %v, want three", segs)
				}
				removeFile(t, dir, segs[1])
				return []string{filepath.Base(segs[1])}
			},
			lost: []int{1},
		},
		{
			name: "both snapshots after three clean stops",
			stop: syscall.SIGTERM,
			damage: func(t *testing.T, dir string) []string {
				snaps, err := filepath.Glob(filepath.Join(dir, "snapshot-*.snap"))
				if err != nil || len(snaps) != 2 {
					t.Fatalf("after three rounds the snapshots are %v (%v), want two", snaps, err)
				}
				for _, s := range snaps {
					removeFile(t, dir, s)
				}
				// The log now begins past its first segment.
				first := walSegments(t, dir)[0]
				if filepath.Base(first) == "0000000000000001.wal" {
					t.Fatalf("the log still begins at %s", first)
				}
				return []string{"0000000000000001.wal"}
			},
			lost: []int{0, 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"--data-dir", dir, "--fsync", "always", "--snapshot-interval", "0"}
			var requests [][]testEvent
			for round := range 3 {
				p := r.serve(t, args...)
				p.waitListening(t)
				p.waitReady(t, c)
				events := roundEvents(round, 1000)
				mustPost(t, c, p.url, events)
				requests = append(requests, events)
				if tt.stop == syscall.SIGKILL {
					p.kill(t)
				} else {
					p.terminate(t)
				}
			}
			missing := tt.damage(t, dir)

			stderr := failStart(t, r, args...)
			for _, name := range missing {
				if !strings.Contains(stderr, name) {
					t.Errorf("stderr does not name the missing %s:\n%s", name, stderr)
				}
			}
			if !strings.Contains(stderr, "--accept-data-loss") {
				t.Errorf("stderr does not say --accept-data-loss goes on:\n%s", stderr)
			}

			p := r.serve(t, append(args, "--accept-data-loss")...)
			p.waitListening(t)
			p.waitReady(t, c)
			want := 1000 * (3 - len(tt.lost))
			if snap, replayed := p.loaded(t); snap+replayed != int64(want) {
				t.Errorf("loaded snapshot_events=%d replayed_events=%d, want %d in all", snap, replayed, want)
			}
			warn := regexp.MustCompile(`level=WARN msg="[^"]*missing[^"]*".* segments=(\d+)`)
			if m := warn.FindStringSubmatch(p.stderr.String()); m == nil {
				t.Errorf("no warning of the missing segments with their count:\n%s", p.stderr.String())
			} else if n, _ := strconv.Atoi(m[1]); n != len(tt.lost) {
				t.Errorf("the warning says segments=%d missing, want %d:\n%s", n, len(tt.lost), p.stderr.String())
			}
			recs := records(requests, tt.lost...)
			if stored := checkStore(t, dumpClients(t, c, p.url, []string{damageClient}), recs); stored != want {
				t.Errorf("the store holds %d events, want %d", stored, want)
			}
			p.kill(t)

			// The loss is accepted once: the next start needs no flag.
			p = r.serve(t, args...)
			p.waitListening(t)
			p.waitReady(t, c)
			if stored := checkStore(t, dumpClients(t, c, p.url, []string{damageClient}), recs); stored != want {
				t.Errorf("after another start the store holds %d events, want %d", stored, want)
			}
			p.terminate(t)
		})
	}
}

// TestDurableChecksumDamage damages the log the way a disk can (a flipped
// bit in a payload or in a length) and the way a crash can (a torn tail),
// and checks that corruption stops the start-up with the file and offset
// named, leaves the file as it is, and with --accept-data-loss is copied
// aside and counted; and that a torn tail is copied aside, then cut.
func TestDurableChecksumDamage(t *testing.T) {
	r := newRunner(t)
	c := newTestClient()
	defer c.CloseIdleConnections()

	// Each case fills the directory with three requests of 100 events,
	// either in one run (one segment) or in one run each (three segments),
	// and knows where each request's frame begins and ends.
	type layout struct {
		segs   []string // the segment of each request
		starts []int64  // the offset of each request's frame in its segment
		ends   []int64
	}
	tests := []struct {
		name    string
		restart bool // a SIGKILL and a new run after each request
		// damage damages the log and returns the file, and the offset of
		// the frame it damaged.
		damage func(t *testing.T, l layout) (file string, off int64)
		// torn: the start succeeds with the tail cut; else it stops.
		torn bool
		lost int // the request whose events are lost
	}{
		{
			name: "bit flipped 20 bytes from the end of the last segment",
			damage: func(t *testing.T, l layout) (string, int64) {
				flipBit(t, l.segs[2], l.ends[2]-20)
				return l.segs[2], l.starts[2]
			},
			lost: 2,
		},
		{
			name: "bit flipped in the length of the last frame",
			damage: func(t *testing.T, l layout) (string, int64) {
				flipBit(t, l.segs[2], l.starts[2]+1) // a longer frame than there is
				return l.segs[2], l.starts[2]
			},
			lost: 2,
		},
		{
			name:    "bit flipped at the end of a middle segment",
			restart: true,
			damage: func(t *testing.T, l layout) (string, int64) {
				flipBit(t, l.segs[1], l.ends[1]-20)
				return l.segs[1], l.starts[1]
			},
			lost: 1,
		},
		{
			name: "torn tail",
			damage: func(t *testing.T, l layout) (string, int64) {
				truncateBy(t, l.segs[2], 3)
				return l.segs[2], l.starts[2]
			},
			torn: true,
			lost: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"--data-dir", dir, "--fsync", "always", "--snapshot-interval", "0"}
			var (
				requests [][]testEvent
				l        layout
			)
			p := r.serve(t, args...)
			p.waitListening(t)
			p.waitReady(t, c)
			for i := range 3 {
				if tt.restart && i > 0 {
					p.kill(t)
					p = r.serve(t, args...)
					p.waitListening(t)
					p.waitReady(t, c)
				}
				segs := walSegments(t, dir)
				seg := segs[len(segs)-1]
				start := fileSize(t, seg)
				events := roundEvents(i, 100)
				mustPost(t, c, p.url, events) // synced: --fsync always
				requests = append(requests, events)
				l.segs = append(l.segs, seg)
				l.starts = append(l.starts, start)
				l.ends = append(l.ends, fileSize(t, seg))
			}
			p.kill(t)
			file, off := tt.damage(t, l)
			damaged, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want := 100 * 2
			recs := records(requests, tt.lost)

			if !tt.torn {
				stderr := failStart(t, r, args...)
				if !strings.Contains(stderr, file) {
					t.Errorf("stderr does not name %s:\n%s", file, stderr)
				}
				if wantMsg := fmt.Sprintf("checksum mismatch at offset %d", off); !strings.Contains(stderr, wantMsg) {
					t.Errorf("stderr does not say %q:\n%s", wantMsg, stderr)
				}
				if strings.Contains(stderr, "cut short") {
					t.Errorf("stderr calls corruption a cut:\n%s", stderr)
				}
				if !strings.Contains(stderr, "--accept-data-loss") {
					t.Errorf("stderr does not say --accept-data-loss goes on:\n%s", stderr)
				}
				if now, err := os.ReadFile(file); err != nil || !bytes.Equal(now, damaged) {
					t.Errorf("the failed start changed %s (%v)", file, err)
				}
				args = append(args, "--accept-data-loss")
			}

			p = r.serve(t, args...)
			p.waitListening(t)
			p.waitReady(t, c)
			stderr := p.stderr.String()
			var warn *regexp.Regexp
			if tt.torn {
				warn = regexp.MustCompile(`level=WARN msg="cut a torn record off the end of the write-ahead log[^"]*" file=(\S+) offset=(\d+) frames=(\d+) bytes=(\d+) saved_to=(\S+)`)
			} else {
				warn = regexp.MustCompile(`level=WARN msg="dropped damaged records of the write-ahead log[^"]*" file=(\S+) offset=(\d+) frames=(\d+) bytes=(\d+) saved_to=(\S+)`)
			}
			m := warn.FindStringSubmatch(stderr)
			if m == nil {
				t.Fatalf("no log line matching %q:\n%s", warn, stderr)
			}
			dropped := int64(len(damaged)) - off
			if m[1] != file || m[2] != strconv.FormatInt(off, 10) || m[3] != "1" || m[4] != strconv.FormatInt(dropped, 10) {
				t.Errorf("the warning says file=%s offset=%s frames=%s bytes=%s, want %s, %d, 1, %d:\n%s", m[1], m[2], m[3], m[4], file, off, dropped, stderr)
			}
			if saved, err := os.ReadFile(m[5]); err != nil || !bytes.Equal(saved, damaged[off:]) {
				t.Errorf("%s does not hold the %d bytes dropped (%v)", m[5], dropped, err)
			}
			if filepath.Dir(m[5]) != filepath.Dir(file) {
				t.Errorf("the dropped bytes are in %s, not next to %s", m[5], file)
			}
			if tt.torn {
				if size := fileSize(t, file); size != off {
					t.Errorf("%s is %d bytes after the cut, want %d", file, size, off)
				}
			}
			if stored := checkStore(t, dumpClients(t, c, p.url, []string{damageClient}), recs); stored != want {
				t.Errorf("the store holds %d events, want %d", stored, want)
			}
			p.kill(t)

			// The loss is accepted once: the next start needs no flag.
			p = r.serve(t, args[:6]...)
			p.waitListening(t)
			p.waitReady(t, c)
			if stored := checkStore(t, dumpClients(t, c, p.url, []string{damageClient}), recs); stored != want {
				t.Errorf("after another start the store holds %d events, want %d", stored, want)
			}
			p.terminate(t)
		})
	}
}

// flipBit inverts the lowest bit of the byte at offset off of file.
func flipBit(t *testing.T, file string, off int64) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 || off >= int64(len(data)) {
		t.Fatalf("%s has %d bytes, none at offset %d", file, len(data), off)
	}
	data[off] ^= 0x01
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
