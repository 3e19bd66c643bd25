package apiclient_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/apiclient"
)

// dumpHead is the start of a dump, 17 bytes.
const dumpHead = `{"client_id":"c1"`

// TestDumpCutShort reads an answer whose status and first bytes come and
// whose connection then fails: the error says the answer was cut short and
// after how many bytes, not that the server could not be reached.
func TestDumpCutShort(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(dumpHead))
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // drops the connection mid-body
	}))
	_, err := newClient(t, ts.URL).DumpRaw(ctx(t), "c1")
	if err == nil {
		t.Fatal("a cut answer read without error")
	}
	if want := "the server's answer was cut short after 17 bytes"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

// trickle answers with a dump in pieces, one every gap.
func trickle(pieces int, gap time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"client_id":"c1","events":{"k":[`))
		rc := http.NewResponseController(w)
		rc.Flush()
		tick := time.NewTicker(gap)
		defer tick.Stop()
		for i := range pieces {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
			if i > 0 {
				w.Write([]byte{','})
			}
			w.Write([]byte(`{"client_id":"c1","event_id":"e","event_timestamp":1763850000,"event_type":"TIME-SERIES","event_key":"k","event_value":1}`))
			rc.Flush()
		}
		w.Write([]byte("]}}\n"))
	})
}

// TestTimeoutIsOfProgress gives the client a timeout of 200 ms: an answer
// that keeps coming for longer arrives whole; one that stops coming is cut
// 200 ms after its last bytes; one that never starts fails after 200 ms.
func TestTimeoutIsOfProgress(t *testing.T) {
	const timeout = 200 * time.Millisecond
	newTimed := func(url string) *apiclient.Client {
		c, err := apiclient.New(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.SetTimeout(timeout)
		return c
	}

	t.Run("an answer that keeps coming", func(t *testing.T) {
		ts := startServer(t, trickle(20, 40*time.Millisecond)) // 800 ms in all
		start := time.Now()
		d, err := newTimed(ts.URL).Dump(ctx(t), "c1")
		if err != nil {
			t.Fatalf("a dump that kept coming for %s: %v", time.Since(start).Round(time.Millisecond), err)
		}
		if took := time.Since(start); took < 2*timeout {
			t.Fatalf("the dump came in %s, not slowly enough to outlast the timeout of %s", took, timeout)
		}
		if len(d.Series) != 1 || len(d.Series[0].Samples) != 20 {
			t.Errorf("dump = %+v, want one key of 20 events", d)
		}
	})

	t.Run("an answer that stops coming", func(t *testing.T) {
		ts := startServer(t, trickle(2, 10*time.Second))
		start := time.Now()
		_, err := newTimed(ts.URL).DumpRaw(ctx(t), "c1")
		took := time.Since(start)
		if err == nil {
			t.Fatal("a dump that stopped coming read without error")
		}
		for _, want := range []string{"the server's answer was cut short after", "nothing came for 200ms"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if took < timeout || took > 5*time.Second {
			t.Errorf("the stalled dump failed after %s, want about %s", took, timeout)
		}
	})

	t.Run("an answer that never starts", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		ts := startServer(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		_, err := newTimed(ts.URL).DumpRaw(ctx(t), "c1")
		if err == nil || !strings.Contains(err.Error(), "nothing came for 200ms") {
			t.Errorf("error %v, want one saying nothing came for 200ms", err)
		}
	})
}
