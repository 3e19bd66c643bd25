// Package loadgen drives a montool server, or any server that takes montool
// events, as hard as it can or at a set rate, and measures what it gets:
// events and requests per second, the latency of every request, the status
// of every answer and the server's memory before and after. Template
// bodies are made before the clock starts and the senders only patch the
// ids and timestamps of each body's events in place, so that making bodies
// stays out of the figures. It also holds Floor, a bare net/http server
// that does as little as a server taking events can do, the floor that
// montool's figures are compared with.
package loadgen

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Format is how a request body holds its events.
type Format string

// The body formats.
const (
	// JSON is a JSON array of event objects, or one event object for a
	// batch of 1.
	JSON Format = "json"
	// NDJSON is one event object per line.
	NDJSON Format = "ndjson"
)

// Limits on a Config.
const (
	// MaxBatch is the largest Batch. A default montool server takes at most
	// 10,000 events in one request and answers 413 to more, which Run
	// counts like any other failure.
	MaxBatch = 100_000
	// MaxConnections is the largest Connections.
	MaxConnections = 1024
	// MaxClients and MaxKeys bound the number of series.
	MaxClients = 1_000_000
	MaxKeys    = 10_000
	// MaxRate is the largest Rate, in requests per second.
	MaxRate = 10_000_000
)

// Config describes one run of load.
type Config struct {
	// Token is a bearer token sent with every request; "" sends none.
	Token string
	// Clients is the number of client ids the events are spread over.
	Clients int
	// Keys is the number of keys each client reports.
	Keys int
	// Batch is the number of events in one request; 1 sends each event as
	// one JSON object of its own.
	Batch int
	// Connections is the number of senders, each with its own keep-alive
	// connection and one request in flight at a time.
	Connections int
	// Cumulative is the fraction of each client's keys that are CUMULATIVE;
	// the others are TIME-SERIES. Events are spread evenly over the keys, so
	// it is also the fraction of the events.
	Cumulative float64
	// Duration is the longest a run takes; 0 for no limit in time (Events
	// must then be set).
	Duration time.Duration
	// Events is the number of events after which a run stops; 0 for no
	// limit in count (Duration must then be set). Whichever of the two comes
	// first ends the run.
	Events int64
	// Duplicates is the fraction of the events that repeat an earlier event
	// of the run exactly, in [0, 1).
	Duplicates float64
	// Format is how bodies hold their events.
	Format Format
	// Gzip compresses every body (at gzip.BestSpeed, so that making bodies
	// stays cheap; the server's cost of inflating hardly depends on the
	// level).
	Gzip bool
	// Rate is the offered load in requests per second across all the
	// connections: body k is due k/Rate seconds after the clock starts,
	// whenever the answers to the bodies before it come (open loop), and
	// one sent more than LateAfter after it was due counts as late. 0
	// sends each body as soon as a connection is free.
	Rate float64
	// Preload is the number of events sent before the clock starts, so
	// that the run measures ingest into a store that holds them: with the
	// run's clients and keys, in batches of 1,000, and counted in no
	// figure.
	Preload int64
	// PregenerateBytes bounds the size of the gzip bodies, which are all
	// made before the clock starts because compressed bodies cannot be
	// patched. A run of more ends when they have all been sent, with
	// StoppedBy "bodies".
	PregenerateBytes int64
	// RequestTimeout bounds each request.
	RequestTimeout time.Duration

	// Progress, when not nil, is called about once a second while a run is
	// timed, from a goroutine of the run. It is a hook, not a setting.
	Progress func(Progress)
}

// Progress is how far a run has got.
type Progress struct {
	Target  string
	Round   int
	Elapsed time.Duration
	Events  int64 // events in requests answered so far, whatever the status
	// Preload says the events are those of the preload, before the clock.
	Preload bool
}

// DefaultConfig returns the load `montool bench` sends when no flag says
// otherwise.
func DefaultConfig() Config {
	return Config{
		Clients:          100,
		Keys:             5,
		Batch:            1000,
		Connections:      DefaultConnections(1000),
		Cumulative:       0.2,
		Duration:         10 * time.Second,
		Format:           JSON,
		PregenerateBytes: 256 << 20,
		RequestTimeout:   30 * time.Second,
	}
}

// DefaultConnections returns the number of connections that saturates a
// server on a small machine with batches of batch events. A batch of
// hundreds of events keeps a server core busy for milliseconds, so a few
// requests in flight (one being decoded per core while the next ones are
// on the wire) are enough, and more only make each request wait longer. A
// single event costs the server a few microseconds, less than the round
// trip, so it takes many requests in flight to keep the server busy.
func DefaultConnections(batch int) int {
	if batch == 1 {
		return 32
	}
	return 4
}

// FieldError is a setting of a Config that cannot work. Field is the
// setting's name as `montool bench` spells its flag.
type FieldError struct {
	Field   string
	Value   string
	Message string
}

// Error returns the setting, its value and what is wrong with it.
func (e *FieldError) Error() string {
	return e.Field + " " + e.Value + ": " + e.Message
}

// Validate reports the first setting of c that cannot work, as a
// *FieldError.
func (c Config) Validate() error {
	bad := func(field, value, format string, args ...any) error {
		return &FieldError{Field: field, Value: value, Message: fmt.Sprintf(format, args...)}
	}
	itoa := strconv.Itoa
	switch {
	case c.Clients < 1 || c.Clients > MaxClients:
		return bad("clients", itoa(c.Clients), "must be between 1 and %d", MaxClients)
	case c.Keys < 1 || c.Keys > MaxKeys:
		return bad("keys", itoa(c.Keys), "must be between 1 and %d", MaxKeys)
	case c.Batch < 1 || c.Batch > MaxBatch:
		return bad("batch", itoa(c.Batch), "must be between 1 and %d events per request", MaxBatch)
	case c.Connections < 1 || c.Connections > MaxConnections:
		return bad("connections", itoa(c.Connections), "must be between 1 and %d", MaxConnections)
	case !(c.Cumulative >= 0 && c.Cumulative <= 1):
		return bad("cumulative", formatFloat(c.Cumulative), "must be a fraction between 0 and 1")
	case c.Duration < 0:
		return bad("duration", c.Duration.String(), "must not be negative")
	case c.Events < 0:
		return bad("events", strconv.FormatInt(c.Events, 10), "must not be negative")
	case c.Duration == 0 && c.Events == 0:
		return bad("duration", "0", "a run needs an end: set a duration, an event count, or both")
	case !(c.Duplicates >= 0 && c.Duplicates < 1):
		return bad("duplicates", formatFloat(c.Duplicates), "must be a fraction of at least 0 and less than 1 (a duplicate repeats an earlier event, so the first one is new)")
	case c.Format != JSON && c.Format != NDJSON:
		return bad("format", strconv.Quote(string(c.Format)), "must be json or ndjson")
	case !(c.Rate >= 0 && c.Rate <= MaxRate):
		return bad("rate", formatFloat(c.Rate), "must be a number of requests per second from 0 (as fast as the server answers) to %d", MaxRate)
	case c.Preload < 0:
		return bad("preload", strconv.FormatInt(c.Preload, 10), "must not be negative")
	case c.PregenerateBytes < 0:
		return bad("pregenerate-bytes", strconv.FormatInt(c.PregenerateBytes, 10), "must not be negative")
	case c.RequestTimeout <= 0:
		return bad("request-timeout", c.RequestTimeout.String(), "must be positive")
	}
	return nil
}

// cumulativeKeys returns how many of each client's keys are CUMULATIVE.
func (c Config) cumulativeKeys() int {
	return int(math.Round(float64(c.Keys) * c.Cumulative))
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
