package agent

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/montool/montool/internal/event"
)

// KeySpec describes one key that agents report and how its values move.
type KeySpec struct {
	// Name is the event key.
	Name string
	// Type is how the server treats the key's values.
	Type event.Type
	// Min and Max bound the values: for a TIME-SERIES key the range its
	// value wanders in, for a CUMULATIVE key the range of each increment.
	Min, Max float64
	// Integer makes every value a whole number.
	Integer bool
}

// DefaultKeys returns the key set agents report when none is configured:
// gauges that wander and counters that grow.
func DefaultKeys() []KeySpec {
	return []KeySpec{
		{Name: "cpu_usage_percent", Type: event.TimeSeries, Min: 0, Max: 100},
		{Name: "memory_used_bytes", Type: event.TimeSeries, Min: 256 << 20, Max: 8 << 30, Integer: true},
		{Name: "request_latency_ms", Type: event.TimeSeries, Min: 0.5, Max: 800},
		{Name: "http_requests_total", Type: event.Cumulative, Min: 1, Max: 50, Integer: true},
		{Name: "errors_total", Type: event.Cumulative, Min: 0, Max: 2, Integer: true},
		{Name: "bytes_sent_total", Type: event.Cumulative, Min: 512, Max: 256 << 10, Integer: true},
	}
}

// Validate reports the first setting of k that cannot work.
func (k KeySpec) Validate() error {
	probe := event.Event{ClientID: "c", ID: "e", Type: k.Type, Key: k.Name, Value: k.Min}
	if err := probe.Validate(); err != nil {
		return fmt.Errorf("key %q: %w", k.Name, err)
	}
	if math.IsNaN(k.Max) || math.IsInf(k.Max, 0) || k.Max < k.Min {
		return fmt.Errorf("key %q: max (%g) must be a finite number no less than min (%g)", k.Name, k.Max, k.Min)
	}
	if k.Integer && math.Ceil(k.Min) > math.Floor(k.Max) {
		return fmt.Errorf("key %q: integer values need a whole number between min (%g) and max (%g)", k.Name, k.Min, k.Max)
	}
	return nil
}

// generator produces the values of one key for one agent.
type generator struct {
	spec  KeySpec
	value float64 // the current value of a TIME-SERIES key
}

func newGenerator(spec KeySpec, rng *rand.Rand) *generator {
	g := &generator{spec: spec}
	g.value = spec.Min + rng.Float64()*(spec.Max-spec.Min)
	return g
}

// next returns the key's next value: a step of a random walk for a
// TIME-SERIES key, a random increment for a CUMULATIVE one.
func (g *generator) next(rng *rand.Rand) float64 {
	span := g.spec.Max - g.spec.Min
	var v float64
	if g.spec.Type == event.Cumulative {
		v = g.spec.Min + rng.Float64()*span
	} else {
		g.value += rng.NormFloat64() * span * 0.05
		// Reflect off the bounds so the walk stays in range without sticking to an edge.
		if g.value > g.spec.Max {
			g.value = 2*g.spec.Max - g.value
		}
		if g.value < g.spec.Min {
			g.value = 2*g.spec.Min - g.value
		}
		g.value = min(max(g.value, g.spec.Min), g.spec.Max)
		v = g.value
	}
	return g.round(v)
}

// round rounds v to a precision that suits the key's range, about four
// significant digits of it, or to a whole number for an Integer key, and
// keeps it within [Min, Max].
func (g *generator) round(v float64) float64 {
	lo, hi := g.spec.Min, g.spec.Max
	if g.spec.Integer {
		lo, hi, v = math.Ceil(lo), math.Floor(hi), math.Round(v)
	} else if span := hi - lo; span > 0 {
		decimals := max(0, 3-int(math.Floor(math.Log10(span))))
		// Through decimal text, so that 37.5 stays 37.5 with no binary noise.
		v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'f', decimals, 64), 64)
	}
	return min(max(v, lo), hi)
}
