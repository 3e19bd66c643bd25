package cmd

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDumpCutShort runs montool dump against a server whose answer ends
// before its end: the command says the answer was cut short, and after how
// many bytes, not that the server cannot be reached.
func TestDumpCutShort(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"client_id":"c1"`)) // 17 bytes
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // drops the connection mid-body
	}))
	t.Cleanup(ts.Close)
	for _, output := range []string{"json", "table", "ndjson", "csv"} {
		t.Run(output, func(t *testing.T) {
			isolate(t)
			_, _, err := execute(t, runners{}, "dump", "c1", "-o", output, "--server", ts.URL)
			checkErr(t, err, "the server's answer was cut short after 17 bytes")
			if err != nil && strings.Contains(err.Error(), "cannot reach") {
				t.Errorf("error %q says the server cannot be reached; it answered", err)
			}
		})
	}
}
