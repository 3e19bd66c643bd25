// Package cmd holds montool's commands: cobra for the command line, viper
// for the configuration, and nothing else. The work itself is done by the
// packages under internal/.
package cmd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/montool/montool/internal/apiclient"
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
	bindConfig(pf, "")

	cmd.SetFlagErrorFunc(flagError)
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
	addCompletionCmd(cmd)
	wordArgs(cmd)
	return cmd
}

// init reads the configuration and sets each flag the user did not set from
// it, so that the order of precedence is flag > environment > file >
// default; then it builds the logger.
func (o *rootOptions) init(cmd *cobra.Command) error {
	v := viper.New()
	v.SetEnvPrefix("MONTOOL")
	v.SetEnvKeyReplacer(envKeyReplacer)
	v.AutomaticEnv()

	file := o.ConfigFile
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
			return fmt.Errorf("read config %s: %w", v.ConfigFileUsed(), err)
		}
	}
	if v.ConfigFileUsed() != "" {
		if err := checkConfigKeys(v, configKeys(cmd.Root())); err != nil {
			return err
		}
	}

	var errs []error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		keys := f.Annotations[configKeyAnnotation]
		if f.Changed || len(keys) == 0 || !v.IsSet(keys[0]) {
			return
		}
		what := configSource(v, keys[0])
		val := v.Get(keys[0])
		switch val.(type) {
		case []any, map[string]any:
			errs = append(errs, fmt.Errorf("%s takes one value, not a list or a section: %s", what, flagTakes(f)))
			return
		}
		if err := f.Value.Set(fmt.Sprint(val)); err != nil {
			errs = append(errs, valueError(what, f, fmt.Sprint(val), err))
		}
	})
	if err := errors.Join(errs...); err != nil {
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

// envKeyReplacer turns a config key into the end of its environment
// variable's name. It is never changed.
var envKeyReplacer = strings.NewReplacer(".", "_", "-", "_")

// configSource names where the configuration's value of key comes from:
// its environment variable when that is set, else the key in the config
// file.
func configSource(v *viper.Viper, key string) string {
	env := "MONTOOL_" + strings.ToUpper(envKeyReplacer.Replace(key))
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

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// tlsConfig returns the TLS settings of the client commands, or nil for the
// defaults (the system's certificate authorities).
func (o *rootOptions) tlsConfig() (*tls.Config, error) {
	if o.CACert == "" && !o.InsecureSkipVerify {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipVerify}
	if o.CACert != "" {
		pem, err := os.ReadFile(o.CACert)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-cert %s: no PEM certificate in it", o.CACert)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// httpClient returns the HTTP client of a client command that sends with
// tlsCfg: nil, for the client package's default, when tlsCfg is nil. It
// has no timeout of its own: the client package's bounds how long nothing
// comes, so that a long dump that keeps coming is read whole.
func httpClient(tlsCfg *tls.Config) *http.Client {
	if tlsCfg == nil {
		return nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = tlsCfg
	return &http.Client{Transport: t}
}

// newAPIClient returns a client of the server at url that sends token
// ("" for none), over hc (nil for the client package's default).
func newAPIClient(url, token string, hc *http.Client) (*apiclient.Client, error) {
	c, err := apiclient.New(url, hc)
	if err != nil {
		return nil, err
	}
	c.SetToken(token)
	return c, nil
}

// reachError words an error of c that is not an answer of the server as
// the server being out of reach, or, when the server answered plain HTTP
// as an HTTPS server or its certificate is not trusted, says which flag to
// change; the server's answers, whole or cut short, pass as they are.
func reachError(c *apiclient.Client, err error) error {
	var apiErr *apiclient.Error
	var cut *apiclient.CutError
	if err == nil || errors.As(err, &apiErr) || errors.As(err, &cut) {
		return err
	}
	var https *apiclient.HTTPSError
	if errors.As(err, &https) {
		return fmt.Errorf("the montool server at %s speaks HTTPS: give --server %s", c.URL(), https.URL)
	}
	if msg := certificateError(err); msg != "" {
		return fmt.Errorf("the certificate of the montool server at %s %s", c.URL(), msg)
	}
	return fmt.Errorf("cannot reach the montool server at %s: %w", c.URL(), err)
}

// certificateError words why the server's certificate was refused, with
// what to pass instead, or returns "" when err is not about it.
func certificateError(err error) string {
	var verify *tls.CertificateVerificationError
	if !errors.As(err, &verify) {
		return ""
	}
	const skip = "or --insecure-skip-verify to not check it"
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return "is not trusted (it is signed by an authority this machine does not know): pass --ca-cert FILE, a PEM file of the authority that signed it, " + skip
	case errors.As(err, &host):
		names := host.Certificate.DNSNames
		for _, ip := range host.Certificate.IPAddresses {
			names = append(names, ip.String())
		}
		return fmt.Sprintf("is not trusted: it is for %s, not %s; give --server with a name it is for, %s", strings.Join(names, ", "), host.Host, skip)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return fmt.Sprintf("is not trusted: it is valid from %s to %s only; renew it, %s",
			invalid.Cert.NotBefore.UTC().Format(time.RFC3339), invalid.Cert.NotAfter.UTC().Format(time.RFC3339), skip)
	}
	return "is not trusted: pass --ca-cert FILE, a PEM file of the authority that signed it, " + skip
}
