// Package cmd holds montool's commands: cobra for the command line, viper
// for the configuration, and nothing else. The work itself is done by the
// packages under internal/.
package cmd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/montool/montool/internal/apiclient"
	"github.com/montool/montool/internal/cmdline"
	"github.com/montool/montool/internal/configkey"
)

// defaultServer is the server the client commands talk to when none is set.
const defaultServer = "http://127.0.0.1:8080"

// rootOptions holds the global flags and what is built from them before any
// command runs.
type rootOptions struct {
	ConfigFile string
	Server     string
	// Token is the bearer token the client commands send; "" sends none.
	Token string
	// CACert is a PEM file of the certificate authorities the client
	// commands trust for https:// servers, besides the system's;
	// InsecureSkipVerify trusts any certificate.
	CACert             string
	InsecureSkipVerify bool
	LogLevel           string
	LogFormat          string

	// Config is the configuration of this run: file, environment and
	// defaults. Flags are set from it before a command runs.
	Config *viper.Viper
	// Log writes to the command's standard error.
	Log *slog.Logger
}

// NewRootCmd returns the montool command with all its subcommands.
func NewRootCmd() *cobra.Command { return newRootCmd(runners{}) }

// runners replaces what commands run, so that tests can check the options a
// command line resolves to without running anything. A nil field runs the
// real command.
type runners struct {
	serve    func(context.Context, *serveOptions) error
	agents   func(context.Context, *agentsOptions) error
	send     func(context.Context, *sendOptions) error
	dump     func(context.Context, *dumpOptions) error
	bench    func(context.Context, *benchOptions) error
	tokenNew func(context.Context, *tokenNewOptions) error
	clients  func(context.Context, *clientsOptions) error
}

func newRootCmd(run runners) *cobra.Command {
	opts := &rootOptions{}
	cmd := &cobra.Command{
		Use:   "montool",
		Short: "A push-based monitoring server, its simulated agents and its clients",
		Long: `montool is the central server of a small monitoring system. Agents push
events over HTTP; the server keeps them in memory, never counts an event twice,
and dumps one client's data as JSON grouped by key.

Settings come from flags, then MONTOOL_* environment variables, then the
config file, then defaults.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return opts.init(cmd)
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&opts.ConfigFile, "config", "", "config file (default ./montool.yaml, else montool/montool.yaml in the user config dir)")
	pf.StringVar(&opts.Server, "server", defaultServer, "URL of the montool server, for the client commands")
	pf.StringVar(&opts.Token, "token", "", "bearer token the client commands send, from montool token new (for a server with tokens)")
	pf.StringVar(&opts.CACert, "ca-cert", "", "PEM file of certificate authorities to trust for an https:// server, besides the system's (client commands)")
	pf.BoolVar(&opts.InsecureSkipVerify, "insecure-skip-verify", false, "trust any certificate of an https:// server: for tests only, it lets anyone in the middle read and change the traffic (client commands)")
	pf.StringVar(&opts.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	pf.StringVar(&opts.LogFormat, "log-format", "text", "log format: text or json")
	configkey.Bind(pf, "")

	cmd.SetFlagErrorFunc(cmdline.FlagError)
	cmd.AddCommand(
		newServeCmd(opts, run.serve),
		newAgentsCmd(opts, run.agents),
		newSendCmd(opts, run.send),
		newDumpCmd(opts, run.dump),
		newBenchCmd(opts, run.bench),
		newTokenCmd(run.tokenNew),
		newVersionCmd(),
		newClientsCmd(opts, run.clients),
		newDocsCmd(),
	)
	cmdline.AddCompletionCmd(cmd)
	cmdline.WordArgs(cmd)
	return cmd
}

// init reads the configuration and sets each flag the user did not set from
// it, so that the order of precedence is flag > environment > file >
// default; then it builds the logger.
func (o *rootOptions) init(cmd *cobra.Command) error {
	v, err := loadConfig(o.ConfigFile)
	if err != nil {
		return err
	}
	if v.ConfigFileUsed() != "" {
		if err := checkConfigKeys(v, configKeys(cmd.Root())); err != nil {
			return err
		}
	}
	if err := setFromConfig(v, cmd.Flags()); err != nil {
		return err
	}
	o.Config = v

	log, err := newLogger(cmd.ErrOrStderr(), o.LogLevel, o.LogFormat)
	if err != nil {
		return err
	}
	o.Log = log
	return nil
}

// loadConfig returns the configuration of this run: the MONTOOL_*
// environment, and the config file, which is file, else MONTOOL_CONFIG's,
// else a montool.yaml of the working directory or the user config
// directory; only a file not named may be missing.
func loadConfig(file string) (*viper.Viper, error) {
	v := viper.New()
	v.SetEnvPrefix("MONTOOL")
	v.SetEnvKeyReplacer(envKeyReplacer())
	v.AutomaticEnv()

	if file == "" {
		file = os.Getenv("MONTOOL_CONFIG")
	}
	if file != "" {
		v.SetConfigFile(file)
	} else {
		v.SetConfigName("montool")
		v.AddConfigPath(".")
		if dir, err := os.UserConfigDir(); err == nil {
			v.AddConfigPath(filepath.Join(dir, "montool"))
		}
	}
	if err := v.ReadInConfig(); err != nil {
		var notFound viper.ConfigFileNotFoundError
		if file != "" || !errors.As(err, &notFound) {
			return nil, fmt.Errorf("read config %s: %w", v.ConfigFileUsed(), err)
		}
	}
	return v, nil
}

// setFromConfig sets each flag of fs that the user did not set and that
// the configuration v holds a value of its key for, refusing a value it
// cannot take.
func setFromConfig(v *viper.Viper, fs *pflag.FlagSet) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		key := configkey.Of(f)
		if f.Changed || key == "" || !v.IsSet(key) {
			return
		}
		what := configSource(v, key)
		val := v.Get(key)
		switch val.(type) {
		case []any, map[string]any:
			errs = append(errs, fmt.Errorf("%s takes one value, not a list or a section: %s", what, cmdline.Takes(f)))
			return
		}
		if err := f.Value.Set(fmt.Sprint(val)); err != nil {
			errs = append(errs, cmdline.ValueError(what, f, fmt.Sprint(val), err))
		}
	})
	return errors.Join(errs...)
}

// envKeyReplacer returns the replacer that turns a config key into the
// end of its environment variable's name.
func envKeyReplacer() *strings.Replacer { return strings.NewReplacer(".", "_", "-", "_") }

// configSource names where the configuration's value of key comes from:
// its environment variable when that is set, else the key in the config
// file.
func configSource(v *viper.Viper, key string) string {
	env := "MONTOOL_" + strings.ToUpper(envKeyReplacer().Replace(key))
	if os.Getenv(env) != "" {
		return env + " (" + key + ")"
	}
	return "config " + v.ConfigFileUsed() + ": " + key
}

// newLogger returns a slog logger writing to w at level in format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: must be debug, info, warn or error", level)
	}
	hopts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	}
	return nil, fmt.Errorf("log format %q: must be text or json", format)
}

// clientOptions are what a client command reaches the server with.
type clientOptions struct {
	Server string
	Token  string      // "" sends none
	TLS    *tls.Config // nil for the defaults
}

// clientOptions returns what the client commands reach the server with,
// from the global flags.
func (o *rootOptions) clientOptions() (clientOptions, error) {
	tlsCfg, err := apiclient.TLSConfig(o.CACert, o.InsecureSkipVerify)
	return clientOptions{Server: o.Server, Token: o.Token, TLS: tlsCfg}, err
}

// client returns a client of the server that keeps up to conns idle
// connections (0: the default).
func (o clientOptions) client(conns int) (*apiclient.Client, error) {
	c, err := apiclient.New(o.Server, apiclient.HTTPClient(o.TLS, conns))
	if err != nil {
		return nil, err
	}
	c.SetToken(o.Token)
	return c, nil
}
