package apiclient_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/montool/montool/internal/apiclient"
	"github.com/montool/montool/internal/event"
)

// gunzip returns the decompressed body, failing the test if it is not gzip.
func gunzip(t *testing.T, body []byte) []byte {
	t.Helper()
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		t.Fatalf("body does not start with the gzip magic number: %q", body[:min(len(body), 16)])
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("gzip.NewReader: %v", err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("read gzip body: %v", err)
	}
	return plain
}

// manyEvents returns n gauge events of client c1.
func manyEvents(n int) []event.Event {
	events := make([]event.Event, n)
	for i := range events {
		events[i] = gauge("c1", fmt.Sprintf("e%d", i), ts1+event.Timestamp(i), "cpu", float64(i%100))
	}
	return events
}

// TestSendBatchEncoding sends batches with and without gzip to a real server
// and checks what went over the wire: gzip says so in Content-Encoding and
// holds the same JSON that Send sends.
func TestSendBatchEncoding(t *testing.T) {
	one := []event.Event{gauge("c1", "e1", ts1, "cpu", 12.5)}
	two := []event.Event{gauge("c1", "e1", ts1, "cpu", 12.5), cumulative("c1", "e2", ts2, "requests", 3)}
	const (
		oneJSON = `{"client_id":"c1","event_id":"e1","event_timestamp":1763850001.123456789,"event_type":"TIME-SERIES","event_key":"cpu","event_value":12.5}`
		twoJSON = `[{"client_id":"c1","event_id":"e1","event_timestamp":1763850001.123456789,"event_type":"TIME-SERIES","event_key":"cpu","event_value":12.5},` +
			`{"client_id":"c1","event_id":"e2","event_timestamp":1763850002.5,"event_type":"CUMULATIVE","event_key":"requests","event_value":3}]`
	)
	tests := []struct {
		name   string
		events []event.Event
		gzip   bool
		want   string // the JSON of the body, once decompressed
	}{
		{"one event, gzip", one, true, oneJSON},
		{"two events, gzip", two, true, twoJSON},
		{"one event, plain", one, false, oneJSON},
		{"two events, plain", two, false, twoJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{next: realHandler(t)}
			c := newClient(t, startServer(t, rec).URL)
			opts := apiclient.SendOptions{Gzip: tt.gzip}
			sum, err := c.SendBatch(ctx(t), tt.events, opts)
			if err != nil {
				t.Fatalf("SendBatch: %v", err)
			}
			if sum.Accepted != len(tt.events) {
				t.Errorf("accepted = %d, want %d", sum.Accepted, len(tt.events))
			}
			// The same batch again, as a retry sends it: the same bytes, all duplicates.
			sum, err = c.SendBatch(ctx(t), tt.events, opts)
			if err != nil {
				t.Fatalf("SendBatch again: %v", err)
			}
			if sum.Duplicates != len(tt.events) || sum.Accepted != 0 {
				t.Errorf("sent again: summary %+v, want %d duplicates", sum, len(tt.events))
			}

			reqs := rec.requests()
			if len(reqs) != 2 {
				t.Fatalf("server saw %d requests, want 2", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost || r.Path != "/api/v1/events" || r.ContentType != "application/json" {
				t.Errorf("request %s %s with Content-Type %q, want POST /api/v1/events with application/json", r.Method, r.Path, r.ContentType)
			}
			body := r.Body
			if tt.gzip {
				if r.ContentEncoding != "gzip" {
					t.Errorf("Content-Encoding = %q, want gzip", r.ContentEncoding)
				}
				body = gunzip(t, body)
			} else if r.ContentEncoding != "" {
				t.Errorf("Content-Encoding = %q, want none", r.ContentEncoding)
			}
			if got := string(bytes.TrimSpace(body)); got != tt.want {
				t.Errorf("body =\n%s\nwant\n%s", got, tt.want)
			}
			if !bytes.Equal(reqs[1].Body, reqs[0].Body) {
				t.Errorf("the batch sent again has another body:\n%q\nthen\n%q", reqs[0].Body, reqs[1].Body)
			}
		})
	}
}

func TestSendBatchGzipLargeBatch(t *testing.T) {
	rec := &recorder{next: realHandler(t)}
	c := newClient(t, startServer(t, rec).URL)
	events := manyEvents(1000)
	sum, err := c.SendBatch(ctx(t), events, apiclient.SendOptions{Gzip: true})
	if err != nil {
		t.Fatalf("SendBatch: %v", err)
	}
	if sum.Accepted != len(events) {
		t.Errorf("accepted = %d, want %d", sum.Accepted, len(events))
	}
	body := rec.requests()[0].Body
	plain := gunzip(t, body)
	if len(body)*3 > len(plain) {
		t.Errorf("gzip body is %d bytes for %d bytes of JSON, want it at least 3 times smaller", len(body), len(plain))
	}
	d, err := c.Dump(ctx(t), "c1")
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	if len(d.Series) != 1 || len(d.Series[0].Samples) != len(events) {
		t.Errorf("dump holds %+v, want the %d samples of cpu", d.Series, len(events))
	}
}

// TestSendBatchGzipWithRejectedEvent sends a gzip batch one of whose
// events conflicts: the answer is a 409 with the summary.
func TestSendBatchGzipWithRejectedEvent(t *testing.T) {
	c := newRealClient(t)
	mustSend(t, c, cumulative("c1", "e1", ts1, "requests", 1))
	batch := []event.Event{
		cumulative("c1", "e1", ts1, "requests", 2), // e1 again with another value
		cumulative("c1", "e2", ts2, "requests", 3),
	}
	sum, err := c.SendBatch(ctx(t), batch, apiclient.SendOptions{Gzip: true})
	if sum == nil {
		t.Fatalf("SendBatch returned no summary; error %v", err)
	}
	if sum.Accepted != 1 || sum.Rejected != 1 || len(sum.Errors) != 1 || sum.Errors[0].EventID != "e1" {
		t.Errorf("summary = %+v, want e2 accepted and e1 rejected", *sum)
	}
	if apiErr := apiError(t, err); apiErr.Status != http.StatusConflict || apiErr.Temporary() {
		t.Errorf("error = %v (status %d), want a 409 that is not temporary", err, apiErr.Status)
	}
	if !errors.Is(err, event.ErrConflict) {
		t.Errorf("errors.Is(%v, event.ErrConflict) = false, want true", err)
	}
}

func TestSendBatchRefusesBeforeSending(t *testing.T) {
	var hits atomic.Int64
	h := realHandler(t)
	c := newClient(t, startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h.ServeHTTP(w, r)
	})).URL)
	tests := []struct {
		name    string
		events  []event.Event
		wantErr error // nil: any error that is not a *apiclient.Error
	}{
		{"no events", nil, nil},
		{"an event without id", []event.Event{gauge("c1", "e1", ts1, "cpu", 1), gauge("c1", "", ts1, "cpu", 1)}, event.ErrInvalid},
	}
	for _, tt := range tests {
		for _, gz := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, gzip %v", tt.name, gz), func(t *testing.T) {
				sum, err := c.SendBatch(ctx(t), tt.events, apiclient.SendOptions{Gzip: gz})
				if err == nil {
					t.Fatal("SendBatch succeeded; want an error")
				}
				if sum != nil {
					t.Errorf("summary = %+v, want nil", *sum)
				}
				var apiErr *apiclient.Error
				if errors.As(err, &apiErr) {
					t.Errorf("error %v is a *apiclient.Error; want a local error", err)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("errors.Is(%v, %v) = false, want true", err, tt.wantErr)
				}
			})
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
	// A failed encoding leaves nothing behind: the next gzip batch goes through.
	sum, err := c.SendBatch(ctx(t), manyEvents(3), apiclient.SendOptions{Gzip: true})
	if err != nil || sum.Accepted != 3 {
		t.Errorf("SendBatch after the failures = %+v, %v; want 3 accepted", sum, err)
	}
}

// TestSendBatchGzipFollowsRedirect checks that a gzip body can be sent a
// second time by the HTTP client itself: a 307 makes it repeat the POST.
func TestSendBatchGzipFollowsRedirect(t *testing.T) {
	h := realHandler(t)
	rec := &recorder{next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/moved/") {
			http.Redirect(w, r, "/moved"+r.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		http.StripPrefix("/moved", h).ServeHTTP(w, r)
	})}
	c := newClient(t, startServer(t, rec).URL)
	sum, err := c.SendBatch(ctx(t), manyEvents(5), apiclient.SendOptions{Gzip: true})
	if err != nil || sum.Accepted != 5 {
		t.Fatalf("SendBatch = %+v, %v; want 5 accepted", sum, err)
	}
	reqs := rec.requests()
	if len(reqs) != 2 {
		t.Fatalf("server saw %d requests, want the POST and its repeat", len(reqs))
	}
	if reqs[1].ContentEncoding != "gzip" || !bytes.Equal(reqs[1].Body, reqs[0].Body) {
		t.Errorf("the repeated POST has Content-Encoding %q and another body; want the same gzip body", reqs[1].ContentEncoding)
	}
}

func TestSendBatchGzipConcurrently(t *testing.T) {
	const workers, perWorker, size = 8, 10, 3
	c := newRealClient(t)
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				batch := make([]event.Event, size)
				for j := range batch {
					batch[j] = cumulative(fmt.Sprintf("w%d", w), fmt.Sprintf("e%d-%d", i, j), ts1, "requests", 1)
				}
				sum, err := c.SendBatch(ctx(t), batch, apiclient.SendOptions{Gzip: true})
				if err == nil && sum.Accepted != size {
					err = fmt.Errorf("accepted %d of %d", sum.Accepted, size)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("SendBatch: %v", err)
	}
	infos, err := c.Clients(ctx(t))
	if err != nil {
		t.Fatalf("Clients: %v", err)
	}
	if len(infos) != workers {
		t.Fatalf("Clients = %+v, want %d clients", infos, workers)
	}
	for _, info := range infos {
		if info.Events != perWorker*size {
			t.Errorf("client %q holds %d events, want %d", info.ClientID, info.Events, perWorker*size)
		}
	}
}
