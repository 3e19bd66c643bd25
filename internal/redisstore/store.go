// Package redisstore is montool's store on Redis: a Redis Cluster, or a
// single Redis, shared by any number of montool servers, which then give
// the same answers as one in-memory server.
//
// All the keys of one client carry the same hash tag, so that they live in
// one hash slot: the dedupe check, the record of the ids and the change
// the events make are one call of a Redis Function (montool.lua), which
// Redis runs atomically. Everything that can refuse an event is checked in
// Go first, or in the function before it changes anything, so that no call
// fails half way (Redis does not roll a function back).
package redisstore

import (
	"context"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
)

//go:embed montool.lua
var library string

// clientsKey is the set of the ids of every client that holds events.
const clientsKey = "mt:clients"

// Options are the Redis a Store uses and what it keeps there.
type Options struct {
	// Addrs are host:port addresses of the cluster's nodes (any of them),
	// or of one Redis that is not a cluster.
	Addrs []string
	// Username and Password authenticate to Redis (ACL user, or the
	// password of requirepass with no user); empty for none.
	Username, Password string
	// Policy is what the store keeps and takes in; its MaxBytes must be
	// 0: bound the memory of Redis with its maxmemory.
	Policy store.Policy
	Log    *slog.Logger
}

// Validate reports the first option that cannot work.
func (o Options) Validate() error {
	if len(o.Addrs) == 0 {
		return errors.New("no Redis address")
	}
	return validatePolicy(o.Policy)
}

// validatePolicy reports the first part of p that cannot work on Redis.
func validatePolicy(p store.Policy) error {
	if p.Limits.MaxBytes != 0 {
		return &store.SettingError{Setting: "max_memory", Value: strconv.FormatInt(p.Limits.MaxBytes, 10),
			Message: "must be 0 with the Redis store (bound Redis with its maxmemory)"}
	}
	return p.Validate()
}

// Store is an event store on Redis. It is safe for concurrent use.
type Store struct {
	rdb    rueidis.Client
	policy atomic.Pointer[store.Policy] // never nil
	log    *slog.Logger
}

// New connects to Redis and loads the store's functions on every master.
func New(ctx context.Context, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	rdb, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: opts.Addrs, Username: opts.Username, Password: opts.Password, DisableCache: true})
	if err != nil {
		return nil, fmt.Errorf("redis %s: %w", strings.Join(opts.Addrs, ","), err)
	}
	s := &Store{rdb: rdb, log: opts.Log}
	s.policy.Store(&opts.Policy)
	if err := s.loadFunctions(ctx); err != nil {
		rdb.Close()
		return nil, err
	}
	return s, nil
}

// loadFunctions loads montool.lua on every node that takes writes.
func (s *Store) loadFunctions(ctx context.Context) error {
	for addr, node := range s.rdb.Nodes() {
		err := node.Do(ctx, node.B().FunctionLoad().Replace().FunctionCode(library).Build()).Error()
		if err != nil && !isReadonly(err) { // a replica gets them from its master
			return fmt.Errorf("redis %s: load the functions: %w", addr, err)
		}
	}
	return nil
}

// isReadonly reports whether err is a replica's refusal of a write.
func isReadonly(err error) bool { return strings.HasPrefix(err.Error(), "READONLY") }

// SetPolicy makes p the policy of the store, once it validates.
func (s *Store) SetPolicy(p store.Policy) error {
	if err := validatePolicy(p); err != nil {
		return err
	}
	s.policy.Store(&p)
	return nil
}

// Run returns once ctx ends.
func (s *Store) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Close closes the connections to Redis.
func (s *Store) Close(context.Context) error {
	s.rdb.Close()
	return nil
}

// prefix returns the start of the names of the keys of client: the hex of
// its id as the hash tag, which has no brace in it.
func prefix(client string) string { return "mt:{" + hex.EncodeToString([]byte(client)) + "}:" }

// fingerprint returns 8 bytes that tell an event's content from another's.
func fingerprint(e *event.Event) string {
	h := fnv.New64a()
	var b [17]byte
	b[0] = byte(e.Type)
	binary.LittleEndian.PutUint64(b[1:], uint64(e.Timestamp))
	binary.LittleEndian.PutUint64(b[9:], math.Float64bits(e.Value))
	h.Write(b[:])
	h.Write([]byte(e.Key))
	return string(h.Sum(nil))
}

// run is the events of one client in a request, and where they are in it.
type run struct {
	client string
	index  []int
}

// Apply applies each event on its own, one call of the function a client,
// pipelined, and returns one result per event, in order.
func (s *Store) Apply(ctx context.Context, events []event.Event) ([]event.Result, error) {
	results := make([]event.Result, len(events))
	policy := s.policy.Load()
	now := time.Now()
	var cutoff event.Timestamp
	if policy.Retention > 0 {
		cutoff = event.FromTime(now.Add(-policy.Retention))
	}
	runs := map[string]*run{}
	var order []*run
	for i := range events {
		if events[i].Timestamp < cutoff {
			results[i] = event.Result{Err: tooOld(policy.Retention, cutoff)}
			continue
		}
		r := runs[events[i].ClientID]
		if r == nil {
			r = &run{client: events[i].ClientID}
			runs[r.client] = r
			order = append(order, r)
		}
		r.index = append(r.index, i)
	}
	if len(order) == 0 {
		return results, nil
	}
	mayCreate, err := s.mayCreate(ctx, order, policy.Limits.MaxClients)
	if err != nil {
		return nil, err
	}
	cmds := make(rueidis.Commands, len(order))
	for j, r := range order {
		args := make([]string, 0, 3+6*len(r.index))
		args = append(args, strconv.FormatInt(now.UnixNano(), 10), mayCreate[j], strconv.Itoa(policy.Limits.MaxKeysPerClient))
		for _, i := range r.index {
			e := &events[i]
			typ := "T"
			if e.Type == event.Cumulative {
				typ = "C"
			}
			args = append(args, e.ID, fingerprint(e), typ, e.Key, strconv.FormatInt(int64(e.Timestamp), 10), strconv.FormatFloat(e.Value, 'f', -1, 64))
		}
		cmds[j] = s.rdb.B().Fcall().Function("montool_apply").Numkeys(1).Key(prefix(r.client)).Arg(args...).Build()
	}
	var made []string
	for j, resp := range s.rdb.DoMulti(ctx, cmds...) {
		codes, err := resp.AsIntSlice()
		if err != nil {
			return nil, s.failure(err)
		}
		r := order[j]
		for k, i := range r.index {
			results[i] = resultOf(codes[k], &events[i], policy)
		}
		if codes[len(codes)-1] == 1 {
			made = append(made, r.client)
		}
	}
	if len(made) > 0 {
		if err := s.rdb.Do(ctx, s.rdb.B().Sadd().Key(clientsKey).Member(made...).Build()).Error(); err != nil {
			return nil, s.failure(err)
		}
	}
	return results, nil
}

// mayCreate says of each run whether its client may be made, "1" or "0":
// with a limit of clients, as many of those not stored yet as the limit
// leaves room for, in order. Between servers the limit is not exact: two
// that take a new client each at once may both make it.
func (s *Store) mayCreate(ctx context.Context, runs []*run, limit int) ([]string, error) {
	may := make([]string, len(runs))
	for i := range may {
		may[i] = "1"
	}
	if limit <= 0 {
		return may, nil
	}
	cmds := make(rueidis.Commands, 0, len(runs)+1)
	cmds = append(cmds, s.rdb.B().Scard().Key(clientsKey).Build())
	for _, r := range runs {
		cmds = append(cmds, s.rdb.B().Exists().Key(prefix(r.client)+"info").Build())
	}
	resps := s.rdb.DoMulti(ctx, cmds...)
	stored, err := resps[0].AsInt64()
	if err != nil {
		return nil, s.failure(err)
	}
	room := int64(limit) - stored
	for i, resp := range resps[1:] {
		n, err := resp.AsInt64()
		if err != nil {
			return nil, s.failure(err)
		}
		switch {
		case n == 1:
		case room > 0:
			room--
		default:
			may[i] = "0"
		}
	}
	return may, nil
}

// resultOf returns the result of e of the function's code.
func resultOf(code int64, e *event.Event, p *store.Policy) event.Result {
	switch code {
	case 0:
		return event.Result{}
	case 1:
		return event.Result{Duplicate: true}
	case 2:
		return event.Result{Err: &event.Error{Kind: event.ErrConflict, Field: event.FieldEventID,
			Message: "already used by this client for an event with other content"}}
	case 3:
		return event.Result{Err: &event.Error{Kind: event.ErrConflict, Field: event.FieldType,
			Message: "key " + strconv.Quote(e.Key) + " is of the other type for this client, not " + e.Type.String()}}
	case 4:
		return event.Result{Err: &event.Error{Kind: event.ErrLimit, Field: event.FieldKey,
			Message: "this client already has as many keys as max_keys_per_client lets it"}}
	}
	return event.Result{Err: &event.Error{Kind: event.ErrLimit, Field: event.FieldClientID,
		Message: "the server already holds " + strconv.Itoa(p.Limits.MaxClients) + " clients, the most its max_clients lets it"}}
}

// tooOld is the refusal of an event older than the retention keeps.
func tooOld(retention time.Duration, cutoff event.Timestamp) error {
	return &event.Error{Kind: event.ErrTooOld, Field: event.FieldTimestamp,
		Message: "older than the server keeps events (retention " + retention.String() + "): the oldest it takes now is " + cutoff.String() + " (" + cutoff.Time().Format(time.RFC3339) + ")"}
}

// failure is the error of a call to Redis that failed.
func (s *Store) failure(err error) error { return fmt.Errorf("redis: %w", err) }

// Delete forgets a client, its events and its ids, and returns how many
// events it held.
func (s *Store) Delete(ctx context.Context, clientID string) (int64, error) {
	n, err := s.rdb.Do(ctx, s.rdb.B().Fcall().Function("montool_delete").Numkeys(1).Key(prefix(clientID)).Build()).AsInt64()
	if err != nil {
		return 0, s.failure(err)
	}
	if err := s.rdb.Do(ctx, s.rdb.B().Srem().Key(clientsKey).Member(clientID).Build()).Error(); err != nil {
		return 0, s.failure(err)
	}
	if n < 0 {
		return 0, notFound(clientID)
	}
	return n, nil
}

func notFound(clientID string) error {
	return &event.Error{Kind: event.ErrNotFound, Message: "client " + strconv.Quote(clientID) + " has no events"}
}

// Clients lists every client that holds events, sorted by id.
func (s *Store) Clients(ctx context.Context) ([]event.ClientInfo, error) {
	ids, err := s.rdb.Do(ctx, s.rdb.B().Smembers().Key(clientsKey).Build()).AsStrSlice()
	if err != nil {
		return nil, s.failure(err)
	}
	slices.Sort(ids)
	cmds := make(rueidis.Commands, len(ids))
	for i, id := range ids {
		cmds[i] = s.rdb.B().Hget().Key(prefix(id) + "info").Field("events").Build()
	}
	infos := make([]event.ClientInfo, 0, len(ids))
	for i, resp := range s.rdb.DoMulti(ctx, cmds...) {
		n, err := resp.AsInt64()
		if rueidis.IsRedisNil(err) { // deleted meanwhile
			continue
		}
		if err != nil {
			return nil, s.failure(err)
		}
		infos = append(infos, event.ClientInfo{ClientID: ids[i], Events: n})
	}
	return infos, nil
}

// View returns what one client holds.
func (s *Store) View(ctx context.Context, clientID string) (*event.View, error) {
	p := prefix(clientID)
	resps := s.rdb.DoMulti(ctx, s.rdb.B().Hgetall().Key(p+"keys").Build(), s.rdb.B().Hgetall().Key(p+"cum").Build())
	types, err := resps[0].AsStrMap()
	if err != nil {
		return nil, s.failure(err)
	}
	if len(types) == 0 {
		return nil, notFound(clientID)
	}
	cum, err := resps[1].AsStrMap()
	if err != nil {
		return nil, s.failure(err)
	}
	var cutoff event.Timestamp
	if r := s.policy.Load().Retention; r > 0 {
		cutoff = event.FromTime(time.Now().Add(-r))
	}
	v := &event.View{ClientID: clientID}
	for key, typ := range types {
		sv := event.SeriesView{Key: key, Type: event.TimeSeries}
		if typ == "C" {
			sv.Type = event.Cumulative
			if err := parseTotal(&sv, cum[key]); err != nil {
				return nil, fmt.Errorf("client %q key %q: %w", clientID, key, err)
			}
		} else {
			rows, err := s.rdb.Do(ctx, s.rdb.B().Lrange().Key(p+"ts:"+key).Start(0).Stop(-1).Build()).AsStrSlice()
			if err != nil {
				return nil, s.failure(err)
			}
			samples, err := parseRows(rows, cutoff)
			if err != nil {
				return nil, fmt.Errorf("client %q key %q: %w", clientID, key, err)
			}
			sv.Samples, sv.Count = samples, int64(len(samples))
			if len(samples) > 0 {
				sv.Last = samples[len(samples)-1].Timestamp
			}
		}
		v.Series = append(v.Series, sv)
	}
	slices.SortFunc(v.Series, func(a, b event.SeriesView) int { return strings.Compare(a.Key, b.Key) })
	return v, nil
}

// parseTotal reads "total count last" of a CUMULATIVE key into sv.
func parseTotal(sv *event.SeriesView, s string) error {
	f := strings.Fields(s)
	if len(f) != 3 {
		return fmt.Errorf("total %q is not \"total count last\"", s)
	}
	total, err1 := strconv.ParseFloat(f[0], 64)
	count, err2 := strconv.ParseInt(f[1], 10, 64)
	last, err3 := strconv.ParseInt(f[2], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("total %q: %w", s, err)
	}
	sv.Total, sv.Count, sv.Last = total, count, event.Timestamp(last)
	return nil
}

// samples are the samples of one TIME-SERIES key.
type samples []event.Sample

func (s samples) Len() int              { return len(s) }
func (s samples) At(i int) event.Sample { return s[i] }

// parseRows reads the rows of a TIME-SERIES key, in arrival order, into
// its samples from cutoff on, by timestamp, ties in arrival order.
func parseRows(rows []string, cutoff event.Timestamp) (samples, error) {
	out := make(samples, 0, len(rows))
	for _, row := range rows {
		f := strings.SplitN(row, " ", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("row %q is not \"timestamp value id\"", row)
		}
		ts, err1 := strconv.ParseInt(f[0], 10, 64)
		v, err2 := strconv.ParseFloat(f[1], 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("row %q: %w", row, err)
		}
		if event.Timestamp(ts) >= cutoff {
			out = append(out, event.Sample{ID: f[2], Timestamp: event.Timestamp(ts), Value: v})
		}
	}
	slices.SortStableFunc(out, func(a, b event.Sample) int { return int(min(max(a.Timestamp-b.Timestamp, -1), 1)) })
	return out, nil
}
