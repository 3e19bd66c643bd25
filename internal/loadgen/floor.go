package loadgen

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"time"
)

// FloorMode is what the floor server does with a body.
type FloorMode int

const (
	// FloorDecode decodes the body with encoding/json: a batch into
	// []map[string]any, a single event into map[string]any, NDJSON one
	// map[string]any per line. It is the least a server that reads the
	// events can do.
	FloorDecode FloorMode = iota
	// FloorDrop reads the body and drops it: the cost of HTTP alone.
	FloorDrop
)

// FloorModeFor returns the mode that montool is compared with for batches
// of batch events: decoding for batches, where the work on the events
// dominates; dropping for single events, where HTTP does.
func FloorModeFor(batch int) FloorMode {
	if batch == 1 {
		return FloorDrop
	}
	return FloorDecode
}

// String describes the mode, for people.
func (m FloorMode) String() string {
	if m == FloorDrop {
		return "reads and drops each body, answers 202"
	}
	return "decodes each body with encoding/json into []map[string]any (map[string]any for one event), answers 202"
}

// floorMaxBody is the largest body the floor takes, as a default montool.
const floorMaxBody = 8 << 20

// Floor is a bare net/http server on a loopback port that takes POST
// /api/v1/events and does as little as a server can: the floor that
// montool's figures are compared with. It answers GET /healthz too.
type Floor struct {
	mode   FloorMode
	srv    *http.Server
	url    string
	served chan error // gets what Serve returned
}

// NewFloor returns a floor server that treats bodies as mode says. Start
// starts it.
func NewFloor(mode FloorMode) *Floor { return &Floor{mode: mode} }

// Start listens on a free port of 127.0.0.1 and serves in a goroutine of
// its own until Close.
func (f *Floor) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("floor server: listen 127.0.0.1:0: %w", err)
	}
	mux := http.NewServeMux()
	h := DecodeHandler()
	if f.mode == FloorDrop {
		h = DropHandler()
	}
	mux.Handle("POST "+EventsPath, h)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeFloorJSON(w, http.StatusOK, []byte(`{"status":"ok"}`))
	})
	// The same timeouts as a default montool server.
	f.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	f.url = "http://" + ln.Addr().String()
	f.served = make(chan error, 1)
	go func() { f.served <- f.srv.Serve(ln) }()
	return nil
}

// URL returns the server's base URL, once started.
func (f *Floor) URL() string { return f.url }

// Mode returns what the server does with a body.
func (f *Floor) Mode() FloorMode { return f.mode }

// Close stops the server: it stops accepting, waits up to 5 s for the
// requests in flight, then closes every connection. Closing again does
// nothing.
func (f *Floor) Close() error {
	if f.srv == nil {
		return nil
	}
	srv := f.srv
	f.srv = nil
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		srv.Close()
	}
	if serr := <-f.served; !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("floor server: %w", serr)
	}
	if err != nil {
		return fmt.Errorf("floor server: shutdown: %w", err)
	}
	return nil
}

// DropHandler reads each body to its end, drops it, and answers 202 with a
// tiny JSON body as if the body held one event.
func DropHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, floorMaxBody)); err != nil {
			writeFloorError(w, err)
			return
		}
		writeFloorJSON(w, http.StatusAccepted, []byte(`{"accepted":1,"duplicates":0,"rejected":0,"errors":[]}`))
	})
}

// DecodeHandler reads each body, inflating it when it is gzip, decodes it
// with encoding/json (a JSON array into []map[string]any, an object into
// map[string]any, NDJSON one map[string]any per line) and answers 202 with
// the number of events, or 400 when the body is not JSON.
func DecodeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = http.MaxBytesReader(w, r.Body, floorMaxBody)
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(body)
			if err != nil {
				writeFloorError(w, err)
				return
			}
			body = io.LimitReader(zr, floorMaxBody)
		}
		raw, err := io.ReadAll(body)
		if err != nil {
			writeFloorError(w, err)
			return
		}
		n, err := decodeEvents(raw, isNDJSON(r.Header.Get("Content-Type")))
		if err != nil {
			writeFloorError(w, err)
			return
		}
		writeFloorJSON(w, http.StatusAccepted, []byte(`{"accepted":`+strconv.Itoa(n)+`,"duplicates":0,"rejected":0,"errors":[]}`))
	})
}

// decodeEvents decodes raw as the floor does and returns the number of
// events it holds.
func decodeEvents(raw []byte, ndjson bool) (int, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case ndjson:
		n := 0
		for line := range bytes.SplitSeq(raw, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var ev map[string]any
			if err := json.Unmarshal(line, &ev); err != nil {
				return 0, err
			}
			n++
		}
		return n, nil
	case len(raw) > 0 && raw[0] == '[':
		var events []map[string]any
		if err := json.Unmarshal(raw, &events); err != nil {
			return 0, err
		}
		return len(events), nil
	default:
		var ev map[string]any
		if err := json.Unmarshal(raw, &ev); err != nil {
			return 0, err
		}
		return 1, nil
	}
}

func isNDJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-ndjson"
}

func writeFloorJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func writeFloorError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		status = http.StatusRequestEntityTooLarge
	}
	msg, _ := json.Marshal(err.Error())
	writeFloorJSON(w, status, []byte(`{"error":{"code":"invalid","message":`+string(msg)+`}}`))
}
