package cmd

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/montool/montool/internal/configkey"
)

// reloadableKeys are the settings of serve that a reload changes at once;
// the other serve.* settings take a restart. The tokens change too.
var reloadableKeys = []string{
	"serve.max_clients", "serve.max_keys_per_client", "serve.max_memory",
	"serve.rate_limit", "serve.rate_burst", "serve.retention", "serve.client_ttl",
}

// commandLine returns the arguments that make cmd again as the user gave
// it: its path below the root and the flags the user set.
func commandLine(cmd *cobra.Command) []string {
	var args []string
	for c := cmd; c.HasParent(); c = c.Parent() {
		args = append([]string{c.Name()}, args...)
	}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		args = append(args, "--"+f.Name+"="+f.Value.String())
	})
	return args
}

// resolveServe resolves serve's options again from args, the environment
// and the config file as they are now, checking them as a start does,
// without running anything.
func resolveServe(ctx context.Context, args []string) (*serveOptions, error) {
	var got *serveOptions
	root := newRootCmd(runners{serve: func(_ context.Context, opts *serveOptions) error {
		got = opts
		return nil
	}})
	root.SetArgs(args)
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	if err := root.ExecuteContext(ctx); err != nil {
		return nil, err
	}
	if got == nil {
		return nil, errors.New("the command line did not resolve to serve")
	}
	return got, nil
}

// reloader reads serve's configuration again and applies what may change.
type reloader struct {
	args []string
	// store takes the policy, and apply the server's settings.
	store servedStore
	apply func(*serveOptions) error
	log   *slog.Logger
	// started are the options the server started with: those a reload
	// does not change stay as they were.
	started *serveOptions

	mu sync.Mutex // one reload at a time
}

// reload resolves the options again and applies the tokens, limits, rate
// limit, retention and client TTL; it logs the other settings that changed,
// which take a restart. Options that do not validate change nothing.
func (r *reloader) reload(ctx context.Context) error {
	next, err := resolveServe(ctx, r.args)
	if err != nil {
		return err
	}
	if err := next.Server.Settings.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.apply(next); err != nil {
		return err
	}
	if err := r.store.SetPolicy(next.Policy); err != nil {
		return err
	}
	for _, key := range restartOnly(r.started.flags, next.flags) {
		r.log.Warn("a setting changed that takes a restart; the running server keeps the one it started with", "key", key)
	}
	p := next.Policy
	r.log.Info("the settings in force", "tokens", next.Server.Tokens.Len(), "max_clients", p.Limits.MaxClients,
		"max_keys_per_client", p.Limits.MaxKeysPerClient, "max_memory", p.Limits.MaxBytes, "rate_limit", next.Server.RateLimit,
		"rate_burst", next.Server.RateBurst, "retention", p.Retention, "client_ttl", p.ClientTTL)
	return nil
}

// restartOnly returns the config keys of the settings of serve that differ
// between before and after and that a reload does not change.
func restartOnly(before, after *pflag.FlagSet) []string {
	var keys []string
	before.VisitAll(func(f *pflag.Flag) {
		key := f.Annotations[configkey.Annotation]
		if len(key) == 0 || slices.Contains(reloadableKeys, key[0]) || !serveSetting(key[0]) {
			return
		}
		if g := after.Lookup(f.Name); g != nil && g.Value.String() != f.Value.String() {
			keys = append(keys, key[0])
		}
	})
	return keys
}

// serveSetting reports whether a config key is a setting of the server (a
// client's, such as server or token, is not).
func serveSetting(key string) bool {
	return strings.HasPrefix(key, "serve.") || key == "log_level" || key == "log_format"
}

// reloadOnHangup calls reload on each SIGHUP until ctx ends.
func reloadOnHangup(ctx context.Context, reload func(context.Context) error) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			reload(ctx) // it logs and counts what became of it
		}
	}
}
