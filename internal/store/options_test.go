package store_test

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/outputtest"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// TestPolicyValidate refuses each setting that cannot work, naming it as
// the configuration does, in New and in SetPolicy alike.
func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		policy  store.Policy
		setting string // "" for valid
		want    string
	}{
		{name: "zero", policy: store.Policy{}},
		{name: "every limit", policy: store.Policy{Limits: store.Limits{MaxClients: 10, MaxKeysPerClient: store.MaxKeysPerClient, MaxBytes: 1 << 30}, Retention: time.Hour, ClientTTL: time.Minute}},
		{name: "negative max clients", policy: store.Policy{Limits: store.Limits{MaxClients: -1}}, setting: "max_clients", want: "max_clients must not be negative, not -1"},
		{name: "negative max keys", policy: store.Policy{Limits: store.Limits{MaxKeysPerClient: -1}}, setting: "max_keys_per_client", want: "max_keys_per_client must be from 0 to 65536, not -1"},
		{name: "max keys past the most", policy: store.Policy{Limits: store.Limits{MaxKeysPerClient: store.MaxKeysPerClient + 1}}, setting: "max_keys_per_client", want: "must be from 0 to 65536, not 65537"},
		{name: "negative max memory", policy: store.Policy{Limits: store.Limits{MaxBytes: -5}}, setting: "max_memory", want: "max_memory must not be negative, not -5"},
		{name: "negative retention", policy: store.Policy{Retention: -time.Hour}, setting: "retention", want: "retention must not be negative, not -1h0m0s"},
		{name: "negative client ttl", policy: store.Policy{ClientTTL: -time.Second}, setting: "client_ttl", want: "client_ttl must not be negative, not -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, newErr := store.New(store.Options{Policy: tt.policy})
			m := storetest.NewMemory(t, store.Policy{Retention: 24 * time.Hour})
			setErr := m.SetPolicy(tt.policy)
			for what, err := range map[string]error{"New": newErr, "SetPolicy": setErr} {
				if tt.setting == "" {
					if err != nil {
						t.Errorf("%s: unexpected error %v", what, err)
					}
					continue
				}
				var bad *store.SettingError
				if !errors.As(err, &bad) || bad.Setting != tt.setting || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s: error %v, want a *SettingError of %s saying %q", what, err, tt.setting, tt.want)
				}
			}
			if tt.setting != "" && m.Policy().Retention != 24*time.Hour {
				t.Errorf("a refused SetPolicy changed the policy to %+v", m.Policy())
			}
			if tt.setting == "" && m.Policy() != tt.policy {
				t.Errorf("Policy() after SetPolicy = %+v, want %+v", m.Policy(), tt.policy)
			}
		})
	}
}

// TestRunForgetsIdleClients runs a store whose policy gives idle clients a
// second: Run forgets a client that went quiet, logs it, keeps one that
// goes on sending, and returns nil once its context ends.
func TestRunForgetsIdleClients(t *testing.T) {
	log := outputtest.New()
	m, err := store.New(store.Options{Policy: store.Policy{ClientTTL: time.Second}, Log: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	now := event.FromTime(time.Now())
	applyOK(t, m, cumulative("quiet", "e1", "n", now, 1), cumulative("busy", "e1", "n", now, 1))
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- m.Run(ctx) }()
	busy := time.NewTicker(200 * time.Millisecond)
	defer busy.Stop()
	deadline := time.After(10 * time.Second)
	for i := 0; ; i++ {
		if _, err := m.Dump(ctx, "quiet"); errors.Is(err, event.ErrNotFound) {
			break
		}
		select {
		case <-busy.C:
			apply(t, m, cumulative("busy", "e-"+string(rune('a'+i%26)), "n", now, 1))
		case <-deadline:
			t.Fatal("Run did not forget the quiet client within 10s")
		}
	}
	if _, err := m.Dump(ctx, "busy"); err != nil {
		t.Errorf("the client that kept sending was forgotten too: %v", err)
	}
	log.WaitFor(t, regexp.MustCompile(`forgot an idle client.*client_id=quiet`), 5*time.Second, nil)
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run = %v, want nil once its context ended", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run went on 5s after its context ended")
	}
	if err := m.Close(context.Background()); err != nil {
		t.Errorf("Close = %v", err)
	}
}

// TestRunDropsEventsPastRetention: Run drops the events older than the
// retention and logs how many.
func TestRunDropsEventsPastRetention(t *testing.T) {
	log := outputtest.New()
	m, err := store.New(store.Options{Log: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2500 // two full chunks of 1,024 and a part of one
	fillOld(t, m, "c", n)
	setPolicy(t, m, store.Policy{Retention: 10 * time.Second}) // a round a second
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- m.Run(ctx) }()
	log.WaitFor(t, regexp.MustCompile(`dropped events past retention" events=[1-9]`), 30*time.Second, nil)
	cancel()
	if err := <-ran; err != nil {
		t.Errorf("Run = %v, want nil once its context ended", err)
	}
}
