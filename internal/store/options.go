package store

import (
	"log/slog"
	"strconv"
	"time"
)

// Options are what a Memory is built with.
type Options struct {
	// Policy is what the store keeps and takes in; SetPolicy changes it
	// while the store runs.
	Policy Policy
	// Journal, when not nil, records every event the store accepts and
	// every client it deletes (see Journal).
	Journal Journal
	// Log gets what the upkeep of Run did; nil for nowhere.
	Log *slog.Logger
}

// Validate reports the first option that cannot work.
func (o Options) Validate() error { return o.Policy.Validate() }

// Policy is what a store keeps and takes in. The zero Policy keeps
// everything for ever and takes in anything.
type Policy struct {
	// Limits bound what the store takes in.
	Limits Limits
	// Retention is how long events are kept, by their timestamps: older
	// ones are refused as event.ErrTooOld, left out of views and dropped
	// by Prune. 0 keeps them for ever.
	Retention time.Duration
	// ClientTTL is how long a client may send nothing before the upkeep of
	// Run forgets it (see ExpireIdle); 0 never.
	ClientTTL time.Duration
}

// Validate reports the first part of p that cannot work, as a
// *SettingError.
func (p Policy) Validate() error {
	switch l := p.Limits; {
	case l.MaxClients < 0:
		return &SettingError{"max_clients", strconv.Itoa(l.MaxClients), "must not be negative"}
	case l.MaxKeysPerClient < 0 || l.MaxKeysPerClient > MaxKeysPerClient:
		return &SettingError{"max_keys_per_client", strconv.Itoa(l.MaxKeysPerClient), "must be from 0 to " + strconv.Itoa(MaxKeysPerClient)}
	case l.MaxBytes < 0:
		return &SettingError{"max_memory", strconv.FormatInt(l.MaxBytes, 10), "must not be negative"}
	case p.Retention < 0:
		return &SettingError{"retention", p.Retention.String(), "must not be negative"}
	case p.ClientTTL < 0:
		return &SettingError{"client_ttl", p.ClientTTL.String(), "must not be negative"}
	}
	return nil
}

// SettingError is a setting of a store that cannot work. Setting is its
// name as the configuration says it, such as max_clients, so that a
// command can word the error with the flag or key the user gave.
type SettingError struct {
	Setting string
	Value   string
	Message string // such as "must not be negative"
}

func (e *SettingError) Error() string { return e.Setting + " " + e.Message + ", not " + e.Value }

// Limits bound what a Memory takes in; 0 is no limit. Past a limit, new
// events are refused with an *event.Error of kind event.ErrLimit (clients,
// keys) or event.ErrStorageFull (bytes); what is stored stays, and
// duplicates of it are still found.
type Limits struct {
	MaxClients       int
	MaxKeysPerClient int
	// MaxBytes bounds the memory the stored events take, dedupe index
	// included, as the store reckons it (about 48 bytes an event).
	MaxBytes int64
}

// MaxKeysPerClient is the most keys a client may have, whatever the
// limits say: the most a client's rows can tell apart.
const MaxKeysPerClient = 1 << 16
