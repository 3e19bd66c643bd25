package cmd

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"

	"github.com/montool/montool/internal/auth"
)

// captureTokenNew returns runners that record the options of `token new`
// instead of making a token.
func captureTokenNew(got **tokenNewOptions, calls *int) runners {
	return runners{tokenNew: func(_ context.Context, o *tokenNewOptions) error {
		*got = o
		*calls++
		return nil
	}}
}

func TestTokenNewFlags(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantName    string
		wantRole    auth.Role
		wantClients []string
		wantErr     string
	}{
		{
			name:     "one client",
			args:     []string{"token", "new", "--role", "ingest", "--client", "web-01"},
			wantRole: auth.RoleIngest, wantClients: []string{"web-01"},
		},
		{
			name:     "several clients and a name",
			args:     []string{"token", "new", "--role=read", "--client", "web-*", "--client=db-01", "--name", "dashboards"},
			wantName: "dashboards", wantRole: auth.RoleRead, wantClients: []string{"web-*", "db-01"},
		},
		{
			name:     "all clients",
			args:     []string{"token", "new", "--role", "admin", "--client", "*"},
			wantRole: auth.RoleAdmin, wantClients: []string{"*"},
		},
		{
			name:     "a comma is part of the id, not a separator",
			args:     []string{"token", "new", "--role", "ingest", "--client", "a,b"},
			wantRole: auth.RoleIngest, wantClients: []string{"a,b"},
		},
		{name: "no role", args: []string{"token", "new", "--client", "web-01"}, wantErr: `--role|role ""|want ingest, read or admin`},
		{name: "bad role", args: []string{"token", "new", "--role", "writer", "--client", "web-01"}, wantErr: `--role|role "writer"|want ingest, read or admin`},
		{name: "role in capitals", args: []string{"token", "new", "--role", "ADMIN", "--client", "*"}, wantErr: `--role|role "ADMIN"`},
		{name: "no client", args: []string{"token", "new", "--role", "ingest"}, wantErr: "--client|give the client ids the token may act for"},
		{name: "no flags at all", args: []string{"token", "new"}, wantErr: "--role"},
		{name: "unknown flag", args: []string{"token", "new", "--role", "ingest", "--client", "x", "--clients", "y"}, wantErr: "unknown flag --clients|montool token new --help"},
		{name: "unexpected argument", args: []string{"token", "new", "--role", "ingest", "--client", "x", "extra"}, wantErr: `takes no arguments, got "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			var got *tokenNewOptions
			var calls int
			stdout, _, err := execute(t, captureTokenNew(&got, &calls), tt.args...)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				if calls != 0 {
					t.Errorf("token new ran %d times after a bad command line, want 0", calls)
				}
				if strings.Contains(stdout, "mt_") {
					t.Errorf("a token was printed after a bad command line:\n%s", stdout)
				}
				return
			}
			if got == nil {
				t.Fatal("token new did not run")
			}
			if got.Name != tt.wantName {
				t.Errorf("Name = %q, want %q", got.Name, tt.wantName)
			}
			if got.Role != tt.wantRole {
				t.Errorf("Role = %q, want %q", got.Role, tt.wantRole)
			}
			if strings.Join(got.Clients, "\n") != strings.Join(tt.wantClients, "\n") || len(got.Clients) != len(tt.wantClients) {
				t.Errorf("Clients = %q, want %q", got.Clients, tt.wantClients)
			}
			if got.Out == nil {
				t.Error("Out is nil")
			}
		})
	}
}

var (
	// tokenLineRE finds the token that `token new` prints.
	tokenLineRE = regexp.MustCompile(`(?m)^token: (\S+)$`)
	// sha256LineRE finds the hash of its config entry.
	sha256LineRE = regexp.MustCompile(`(?m)^\s+sha256: (\S+)$`)
)

// writeConfig writes a config file into a new temporary directory and
// returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "montool.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// readConfig reads a config file with viper, as the commands do.
func readConfig(t *testing.T, path string) *viper.Viper {
	t.Helper()
	v := viper.New()
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return v
}

// printedToken runs the real `token new` with args and returns the token
// it printed and a config file holding the entry it printed.
func printedToken(t *testing.T, args ...string) (secret, configFile, stdout string) {
	t.Helper()
	stdout, stderr, err := execute(t, runners{}, append([]string{"token", "new"}, args...)...)
	if err != nil {
		t.Fatalf("token new %q: %v", args, err)
	}
	m := tokenLineRE.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no token line in:\n%s", stdout)
	}
	secret = m[1]
	if strings.Contains(stderr, secret) {
		t.Errorf("the token was written to standard error:\n%s", stderr)
	}
	_, entry, ok := strings.Cut(stdout, "under tokens:\n")
	if !ok {
		t.Fatalf("no config entry in:\n%s", stdout)
	}
	return secret, writeConfig(t, "tokens:\n"+entry), stdout
}

func TestTokenNewPrintsAWorkingEntry(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantName    string // "" for the default name
		wantRole    auth.Role
		wantClients []string
	}{
		{
			name:     "one client, default name",
			args:     []string{"--role", "ingest", "--client", "web-01"},
			wantRole: auth.RoleIngest, wantClients: []string{"web-01"},
		},
		{
			name:     "pattern and id with a name",
			args:     []string{"--role", "read", "--client", "web-*", "--client", "db-01", "--name", "web readers"},
			wantName: "web readers", wantRole: auth.RoleRead, wantClients: []string{"web-*", "db-01"},
		},
		{
			// Unquoted, * would be a YAML alias.
			name:     "all clients",
			args:     []string{"--role", "admin", "--client", "*", "--name", "ops"},
			wantName: "ops", wantRole: auth.RoleAdmin, wantClients: []string{"*"},
		},
		{
			name:     "ids and a name that YAML would misread unquoted",
			args:     []string{"--role", "ingest", "--client", `we"ird`, "--client", "a, b", "--client", "#x", "--client", "yes", "--client", "012", "--client", "ünï", "--name", `"quoted": #name`},
			wantName: `"quoted": #name`, wantRole: auth.RoleIngest, wantClients: []string{`we"ird`, "a, b", "#x", "yes", "012", "ünï"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			secret, file, stdout := printedToken(t, tt.args...)
			if !strings.HasPrefix(secret, "mt_") {
				t.Errorf("token %q, want the prefix mt_", secret)
			}
			if n := strings.Count(stdout, secret); n != 1 {
				t.Errorf("the token is printed %d times, want once:\n%s", n, stdout)
			}
			h := auth.Hash(secret)
			m := sha256LineRE.FindStringSubmatch(stdout)
			if m == nil {
				t.Fatalf("no sha256 in:\n%s", stdout)
			}
			if want := hex.EncodeToString(h[:]); m[1] != want {
				t.Errorf("sha256 = %s, want auth.Hash of the token %s", m[1], want)
			}
			wantName := tt.wantName
			if wantName == "" {
				wantName = string(tt.wantRole) + "-" + hex.EncodeToString(h[:4])
			}

			set, err := tokenSet(readConfig(t, file))
			if err != nil {
				t.Fatalf("tokenSet of the printed entry: %v\n%s", err, stdout)
			}
			if set.Len() != 1 {
				t.Errorf("the printed entry makes %d tokens, want 1", set.Len())
			}
			tok := set.Authenticate(secret)
			if tok == nil {
				t.Fatalf("the printed entry does not take the printed token:\n%s", stdout)
			}
			if tok.Name != wantName {
				t.Errorf("Name = %q, want %q", tok.Name, wantName)
			}
			if tok.Role != tt.wantRole {
				t.Errorf("Role = %q, want %q", tok.Role, tt.wantRole)
			}
			if strings.Join(tok.Clients, "\n") != strings.Join(tt.wantClients, "\n") || len(tok.Clients) != len(tt.wantClients) {
				t.Errorf("Clients = %q, want %q", tok.Clients, tt.wantClients)
			}

			// And serve takes it from that file.
			c, err := resolve(t, "serve", "--config", file)
			if err != nil {
				t.Fatalf("serve --config with the printed entry: %v", err)
			}
			if c.serve.Server.Tokens.Authenticate(secret) == nil {
				t.Error("serve with the printed entry does not take the printed token")
			}
		})
	}
}

func TestTokenNewMakesANewTokenEachRun(t *testing.T) {
	isolate(t)
	first, _, _ := printedToken(t, "--role", "ingest", "--client", "web-01")
	second, _, _ := printedToken(t, "--role", "ingest", "--client", "web-01")
	if first == second {
		t.Errorf("two runs printed the same token %q", first)
	}
}

// hashOf returns the hex SHA-256 of secret, as a config file holds it.
func hashOf(secret string) string {
	h := auth.Hash(secret)
	return hex.EncodeToString(h[:])
}

func TestTokenSet(t *testing.T) {
	s1, s2 := auth.NewSecret(), auth.NewSecret()
	h1, h2 := hashOf(s1), hashOf(s2)
	tests := []struct {
		name    string
		config  string
		wantLen int
		wantErr string
	}{
		{name: "no tokens key", config: "server: http://127.0.0.1:9000\n", wantLen: 0},
		{name: "an empty list", config: "tokens: []\n", wantLen: 0},
		{
			name:    "two tokens",
			config:  fmt.Sprintf("tokens:\n  - {name: a, sha256: %s, role: ingest, clients: [web-01]}\n  - {name: b, sha256: %s, role: admin, clients: ['*']}\n", h1, h2),
			wantLen: 2,
		},
		{
			name:    "hash in capitals",
			config:  fmt.Sprintf("tokens:\n  - {name: a, sha256: %s, role: read, clients: [web-01]}\n", strings.ToUpper(h1)),
			wantLen: 1,
		},
		{
			name:    "bad sha256",
			config:  "tokens:\n  - {name: a, sha256: abc, role: ingest, clients: [web-01]}\n",
			wantErr: `config tokens[0] (a)|sha256 "abc"|want 64 hex digits`,
		},
		{
			name:    "sha256 not hex",
			config:  fmt.Sprintf("tokens:\n  - {name: a, sha256: %s, role: ingest, clients: [web-01]}\n", strings.Repeat("zz", 32)),
			wantErr: `config tokens[0] (a)|want 64 hex digits`,
		},
		{
			name:    "no sha256",
			config:  "tokens:\n  - {name: a, role: ingest, clients: [web-01]}\n",
			wantErr: `config tokens[0] (a)|sha256 ""`,
		},
		{
			name:    "the token itself instead of its hash",
			config:  fmt.Sprintf("tokens:\n  - {name: a, sha256: %s, role: ingest, clients: [web-01]}\n", s1),
			wantErr: `config tokens[0] (a)|want 64 hex digits`,
		},
		{
			name:    "bad sha256 in the second entry",
			config:  fmt.Sprintf("tokens:\n  - {name: a, sha256: %s, role: ingest, clients: [web-01]}\n  - {name: b, sha256: %s, role: ingest, clients: [web-01]}\n", h1, h2[:60]),
			wantErr: `config tokens[1] (b)|want 64 hex digits`,
		},
		{
			name:    "bad role",
			config:  fmt.Sprintf("tokens:\n  - {name: a, sha256: %s, role: writer, clients: [web-01]}\n", h1),
			wantErr: `config tokens|token 0 (a)|role "writer"|want ingest, read or admin`,
		},
		{
			name:    "no role",
			config:  fmt.Sprintf("tokens:\n  - {name: a, sha256: %s, clients: [web-01]}\n", h1),
			wantErr: `config tokens|token 0 (a)|role ""`,
		},
		{
			name:    "no clients",
			config:  fmt.Sprintf("tokens:\n  - {name: a, sha256: %s, role: read}\n", h1),
			wantErr: `config tokens|token 0 (a)|no clients`,
		},
		{
			name:    "an empty list of clients",
			config:  fmt.Sprintf("tokens:\n  - {name: a, sha256: %s, role: read, clients: []}\n", h1),
			wantErr: `config tokens|token 0 (a)|no clients`,
		},
		{
			name:    "an empty client id",
			config:  fmt.Sprintf("tokens:\n  - {name: a, sha256: %s, role: read, clients: [web-01, '']}\n", h1),
			wantErr: `config tokens|token 0 (a)|an empty client id`,
		},
		{
			name:    "the same hash twice",
			config:  fmt.Sprintf("tokens:\n  - {name: a, sha256: %s, role: read, clients: [web-01]}\n  - {name: b, sha256: %s, role: admin, clients: ['*']}\n", h1, h1),
			wantErr: `config tokens|token 1 (b)|the same hash as token 0 (a)`,
		},
		{
			name:    "tokens not a list of entries",
			config:  "tokens: secret\n",
			wantErr: "config tokens",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			file := writeConfig(t, tt.config)
			set, err := tokenSet(readConfig(t, file))
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				if set != nil {
					t.Errorf("tokenSet returned a set of %d with its error", set.Len())
				}
				// serve refuses to start with it, with the same error.
				c, err := resolve(t, "serve", "--config", file)
				checkErr(t, err, tt.wantErr)
				if c.calls != 0 {
					t.Errorf("serve ran %d times with bad tokens, want 0", c.calls)
				}
				return
			}
			if set.Len() != tt.wantLen {
				t.Errorf("Len = %d, want %d", set.Len(), tt.wantLen)
			}
		})
	}

	t.Run("nil config", func(t *testing.T) {
		set, err := tokenSet(nil)
		if err != nil {
			t.Fatal(err)
		}
		if set.Len() != 0 {
			t.Errorf("Len = %d, want 0", set.Len())
		}
	})
}

func TestServeTokensFromConfig(t *testing.T) {
	ingest, admin := auth.NewSecret(), auth.NewSecret()
	withTokens := fmt.Sprintf("tokens:\n  - {name: agents, sha256: %s, role: ingest, clients: ['web-*']}\n  - {name: ops, sha256: %s, role: admin, clients: ['*']}\n",
		hashOf(ingest), hashOf(admin))
	tests := []struct {
		name         string
		config       string // "" for no config file
		args         []string
		env          map[string]string
		wantTokens   int
		wantInsecure bool
	}{
		{name: "no config", wantTokens: 0},
		{name: "config with tokens", config: withTokens, wantTokens: 2},
		{name: "config without tokens", config: "serve:\n  addr: 127.0.0.1:9100\n", wantTokens: 0},
		{name: "--insecure-open", args: []string{"--insecure-open"}, wantInsecure: true},
		{name: "insecure_open in the config", config: "serve:\n  insecure_open: true\n", wantInsecure: true},
		{name: "MONTOOL_SERVE_INSECURE_OPEN", env: map[string]string{"MONTOOL_SERVE_INSECURE_OPEN": "true"}, wantInsecure: true},
		{name: "--insecure-open=false over the config", config: "serve:\n  insecure_open: true\n", args: []string{"--insecure-open=false"}, wantInsecure: false},
		{name: "tokens and --insecure-open", config: withTokens, args: []string{"--insecure-open"}, wantTokens: 2, wantInsecure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := append([]string{"serve"}, tt.args...)
			if tt.config != "" {
				args = append(args, "--config", writeConfig(t, tt.config))
			}
			c, err := resolve(t, args...)
			if err != nil {
				t.Fatalf("%q: %v", args, err)
			}
			o := c.serve
			if o == nil {
				t.Fatal("serve did not run")
			}
			if got := o.Server.Tokens.Len(); got != tt.wantTokens {
				t.Errorf("Tokens.Len() = %d, want %d", got, tt.wantTokens)
			}
			if o.Server.InsecureOpen != tt.wantInsecure {
				t.Errorf("InsecureOpen = %v, want %v", o.Server.InsecureOpen, tt.wantInsecure)
			}
			if tt.wantTokens == 0 {
				return
			}
			for secret, want := range map[string]string{ingest: "agents", admin: "ops"} {
				tok := o.Server.Tokens.Authenticate(secret)
				if tok == nil || tok.Name != want {
					t.Errorf("Authenticate(secret of %s) = %v, want the token %s", want, tok, want)
				}
			}
			if tok := o.Server.Tokens.Authenticate(auth.NewSecret()); tok != nil {
				t.Errorf("an unknown secret authenticates as %q", tok.Name)
			}
		})
	}
}

// TestClientToken proves flag > environment > file > default for the
// token the client commands send.
func TestClientToken(t *testing.T) {
	commands := []struct {
		name string
		args []string
		get  func(*captured) string
	}{
		{"send", []string{"send", "--key", "k", "--value", "1"}, func(c *captured) string { return c.send.Token }},
		{"dump", []string{"dump", "c1"}, func(c *captured) string { return c.dump.Token }},
	}
	layers := []struct {
		name             string
		file, env, flags bool
		flagFirst        bool // the flag before the command
		want             string
	}{
		{name: "none", want: ""},
		{name: "file", file: true, want: "mt_file"},
		{name: "env", env: true, want: "mt_env"},
		{name: "flag", flags: true, want: "mt_flag"},
		{name: "flag before the command", flags: true, flagFirst: true, want: "mt_flag"},
		{name: "file and env", file: true, env: true, want: "mt_env"},
		{name: "file and flag", file: true, flags: true, want: "mt_flag"},
		{name: "env and flag", env: true, flags: true, want: "mt_flag"},
		{name: "file env and flag", file: true, env: true, flags: true, want: "mt_flag"},
	}
	for _, cmd := range commands {
		for _, l := range layers {
			t.Run(cmd.name+"/"+l.name, func(t *testing.T) {
				isolate(t)
				args := append([]string(nil), cmd.args...)
				if l.file {
					args = append(args, "--config", writeConfig(t, "token: mt_file\n"))
				}
				if l.env {
					t.Setenv("MONTOOL_TOKEN", "mt_env")
				}
				if l.flags {
					if l.flagFirst {
						args = append([]string{"--token", "mt_flag"}, args...)
					} else {
						args = append(args, "--token", "mt_flag")
					}
				}
				c, err := resolve(t, args...)
				if err != nil {
					t.Fatalf("%q: %v", args, err)
				}
				if got := cmd.get(c); got != l.want {
					t.Errorf("Token = %q, want %q", got, l.want)
				}
			})
		}
	}
}

// TestServeStartUpLog runs the real serve and checks what it says of its
// tokens, and that it takes them.
func TestServeStartUpLog(t *testing.T) {
	secret := auth.NewSecret()
	withTokens := fmt.Sprintf("tokens:\n  - {name: ops, sha256: %s, role: admin, clients: ['*']}\n", hashOf(secret))
	tests := []struct {
		name       string
		config     string
		args       []string
		want       string
		wantStatus int // GET /api/v1/clients over loopback without a token
	}{
		{name: "tokens", config: withTokens, want: "taking requests with a token", wantStatus: http.StatusUnauthorized},
		{name: "no tokens", want: "no tokens configured: taking requests only from this machine", wantStatus: http.StatusOK},
		{name: "no tokens and --insecure-open", args: []string{"--insecure-open"}, want: "no tokens configured and --insecure-open", wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			args := append([]string{"--addr", "127.0.0.1:0"}, tt.args...)
			if tt.config != "" {
				args = append(args, "--config", writeConfig(t, tt.config))
			}
			stderr, _, _ := startServe(t, args...)
			addr := stderr.WaitFor(t, listeningRE, 10*time.Second, nil)[1]
			log := stderr.String()
			if !strings.Contains(log, tt.want) {
				t.Errorf("the log does not say %q:\n%s", tt.want, log)
			}
			if strings.Contains(log, secret) {
				t.Errorf("the log holds the token:\n%s", log)
			}

			client := &http.Client{Timeout: 5 * time.Second}
			get := func(token string) int {
				t.Helper()
				req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/clients", nil)
				if err != nil {
					t.Fatal(err)
				}
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if got := get(""); got != tt.wantStatus {
				t.Errorf("GET /api/v1/clients without a token: status %d, want %d", got, tt.wantStatus)
			}
			if tt.config != "" {
				if got := get(secret); got != http.StatusOK {
					t.Errorf("GET /api/v1/clients with the configured token: status %d, want 200", got)
				}
			}
		})
	}
}
