package auth_test

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/montool/montool/internal/auth"
)

func TestAllows(t *testing.T) {
	tests := []struct {
		name     string
		clients  []string
		clientID string
		want     bool
	}{
		{name: "exact id", clients: []string{"web-01"}, clientID: "web-01", want: true},
		{name: "exact id is not a prefix", clients: []string{"web-01"}, clientID: "web-011", want: false},
		{name: "exact id is not matched by its prefix", clients: []string{"web-01"}, clientID: "web-0", want: false},
		{name: "prefix pattern", clients: []string{"web-*"}, clientID: "web-01", want: true},
		{name: "prefix pattern and a long id", clients: []string{"web-*"}, clientID: "web-01.eu-west.example", want: true},
		{name: "prefix pattern and the bare prefix", clients: []string{"web-*"}, clientID: "web-", want: true},
		{name: "prefix pattern and an id shorter than the prefix", clients: []string{"web-*"}, clientID: "web", want: false},
		{name: "prefix pattern is anchored at the start", clients: []string{"web-*"}, clientID: "db-web-01", want: false},
		{name: "prefix pattern and another client", clients: []string{"web-*"}, clientID: "db-01", want: false},
		{name: "star takes any id", clients: []string{"*"}, clientID: "anything-at-all", want: true},
		{name: "star takes a UUID", clients: []string{"*"}, clientID: "3f1c9d1e-7d4b-4c8a-9a53-0a0e1b7c2d11", want: true},
		{name: "star (empty prefix) takes the empty id", clients: []string{"*"}, clientID: "", want: true},
		{name: "no clients take nothing", clients: nil, clientID: "web-01", want: false},
		{name: "no clients take not even the empty id", clients: nil, clientID: "", want: false},
		{name: "exact id is case sensitive", clients: []string{"web-01"}, clientID: "WEB-01", want: false},
		{name: "prefix pattern is case sensitive", clients: []string{"WEB-*"}, clientID: "web-01", want: false},
		{name: "a star inside is no pattern", clients: []string{"web*01"}, clientID: "web-01", want: false},
		{name: "a star inside is matched literally", clients: []string{"web*01"}, clientID: "web*01", want: true},
		{name: "second of several patterns", clients: []string{"db-01", "web-*"}, clientID: "web-07", want: true},
		{name: "first of several patterns", clients: []string{"db-01", "web-*"}, clientID: "db-01", want: true},
		{name: "none of several patterns", clients: []string{"db-01", "web-*"}, clientID: "db-02", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := &auth.Token{Name: "t", Role: auth.RoleRead, Clients: tt.clients}
			if got := tok.Allows(tt.clientID); got != tt.want {
				t.Errorf("Token{Clients: %q}.Allows(%q) = %v, want %v", tt.clients, tt.clientID, got, tt.want)
			}
		})
	}
}

func TestMay(t *testing.T) {
	tests := []struct {
		have, want auth.Role
		may        bool
	}{
		{auth.RoleIngest, auth.RoleIngest, true},
		{auth.RoleIngest, auth.RoleRead, false},
		{auth.RoleIngest, auth.RoleAdmin, false},
		{auth.RoleRead, auth.RoleIngest, false},
		{auth.RoleRead, auth.RoleRead, true},
		{auth.RoleRead, auth.RoleAdmin, false},
		{auth.RoleAdmin, auth.RoleIngest, true},
		{auth.RoleAdmin, auth.RoleRead, true},
		{auth.RoleAdmin, auth.RoleAdmin, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.have)+" may "+string(tt.want), func(t *testing.T) {
			tok := &auth.Token{Role: tt.have, Clients: []string{"*"}}
			if got := tok.May(tt.want); got != tt.may {
				t.Errorf("a %s token May(%s) = %v, want %v", tt.have, tt.want, got, tt.may)
			}
		})
	}
}

func TestParseRole(t *testing.T) {
	good := []struct {
		in   string
		want auth.Role
	}{
		{"ingest", auth.RoleIngest},
		{"read", auth.RoleRead},
		{"admin", auth.RoleAdmin},
	}
	for _, tt := range good {
		t.Run(tt.in, func(t *testing.T) {
			got, err := auth.ParseRole(tt.in)
			if err != nil {
				t.Fatalf("ParseRole(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseRole(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	for _, in := range []string{"", "Admin", "READ", " ingest", "read ", "write", "root", "*"} {
		t.Run("bad "+in, func(t *testing.T) {
			got, err := auth.ParseRole(in)
			if err == nil {
				t.Fatalf("ParseRole(%q) = %q, want an error", in, got)
			}
			if got != "" {
				t.Errorf("ParseRole(%q) returned role %q with its error, want \"\"", in, got)
			}
			for _, part := range []string{`role "` + in + `"`, "want ingest, read or admin"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}

func TestNewSetErrors(t *testing.T) {
	h1, h2 := auth.Hash("secret-1"), auth.Hash("secret-2")
	ok := auth.Token{Name: "good", Hash: h1, Role: auth.RoleRead, Clients: []string{"*"}}
	tests := []struct {
		name    string
		tokens  []auth.Token
		wantErr []string
	}{
		{
			name:    "bad role",
			tokens:  []auth.Token{{Name: "a", Hash: h1, Role: "writer", Clients: []string{"web-01"}}},
			wantErr: []string{"token 0 (a)", `role "writer"`, "want ingest, read or admin"},
		},
		{
			name:    "no role",
			tokens:  []auth.Token{{Name: "a", Hash: h1, Clients: []string{"web-01"}}},
			wantErr: []string{"token 0 (a)", `role ""`},
		},
		{
			name:    "role in capitals",
			tokens:  []auth.Token{{Name: "a", Hash: h1, Role: "ADMIN", Clients: []string{"*"}}},
			wantErr: []string{"token 0 (a)", `role "ADMIN"`},
		},
		{
			name:    "no clients",
			tokens:  []auth.Token{{Name: "a", Hash: h1, Role: auth.RoleIngest}},
			wantErr: []string{"token 0 (a)", "no clients", "prefix* patterns or *"},
		},
		{
			name:    "an empty list of clients",
			tokens:  []auth.Token{{Name: "a", Hash: h1, Role: auth.RoleIngest, Clients: []string{}}},
			wantErr: []string{"token 0 (a)", "no clients"},
		},
		{
			name:    "an empty client id",
			tokens:  []auth.Token{{Name: "a", Hash: h1, Role: auth.RoleIngest, Clients: []string{"web-01", ""}}},
			wantErr: []string{"token 0 (a)", "an empty client id"},
		},
		{
			name: "the same hash twice",
			tokens: []auth.Token{
				{Name: "a", Hash: h1, Role: auth.RoleIngest, Clients: []string{"web-01"}},
				{Name: "b", Hash: h1, Role: auth.RoleRead, Clients: []string{"*"}},
			},
			wantErr: []string{"token 1 (b)", "the same hash as token 0 (a)"},
		},
		{
			name: "the bad token is named by its index",
			tokens: []auth.Token{
				{Name: "a", Hash: h1, Role: auth.RoleIngest, Clients: []string{"web-01"}},
				{Name: "b", Hash: h2, Role: "reader", Clients: []string{"*"}},
			},
			wantErr: []string{"token 1 (b)", `role "reader"`},
		},
		{
			name: "the same hash as a token two before",
			tokens: []auth.Token{
				ok,
				{Name: "x", Hash: h2, Role: auth.RoleIngest, Clients: []string{"web-01"}},
				{Name: "y", Hash: h1, Role: auth.RoleAdmin, Clients: []string{"*"}},
			},
			wantErr: []string{"token 2 (y)", "the same hash as token 0 (good)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := auth.NewSet(tt.tokens)
			if err == nil {
				t.Fatalf("NewSet = a set of %d tokens, want an error", set.Len())
			}
			if set != nil {
				t.Errorf("NewSet returned a set with its error %v", err)
			}
			for _, part := range tt.wantErr {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}

func TestNewSetLen(t *testing.T) {
	tests := []struct {
		name   string
		tokens []auth.Token
	}{
		{name: "nil", tokens: nil},
		{name: "empty", tokens: []auth.Token{}},
		{name: "one", tokens: []auth.Token{{Name: "a", Hash: auth.Hash("a"), Role: auth.RoleIngest, Clients: []string{"web-01"}}}},
		{name: "three", tokens: []auth.Token{
			{Name: "a", Hash: auth.Hash("a"), Role: auth.RoleIngest, Clients: []string{"web-01"}},
			{Name: "b", Hash: auth.Hash("b"), Role: auth.RoleRead, Clients: []string{"web-*"}},
			{Name: "c", Hash: auth.Hash("c"), Role: auth.RoleAdmin, Clients: []string{"*"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := auth.NewSet(tt.tokens)
			if err != nil {
				t.Fatalf("NewSet: %v", err)
			}
			if set == nil {
				t.Fatal("NewSet returned a nil set and no error")
			}
			if got := set.Len(); got != len(tt.tokens) {
				t.Errorf("Len = %d, want %d", got, len(tt.tokens))
			}
		})
	}
	t.Run("nil set", func(t *testing.T) {
		var set *auth.Set
		if got := set.Len(); got != 0 {
			t.Errorf("nil Set Len = %d, want 0", got)
		}
	})
	t.Run("zero set", func(t *testing.T) {
		if got := new(auth.Set).Len(); got != 0 {
			t.Errorf("zero Set Len = %d, want 0", got)
		}
	})
}

// TestNewSetKeepsACopy checks that changing the caller's slice after NewSet
// does not change the tokens the set takes.
func TestNewSetKeepsACopy(t *testing.T) {
	secret := auth.NewSecret()
	tokens := []auth.Token{{Name: "a", Hash: auth.Hash(secret), Role: auth.RoleRead, Clients: []string{"web-01"}}}
	set, err := auth.NewSet(tokens)
	if err != nil {
		t.Fatal(err)
	}
	tokens[0].Hash = auth.Hash("something else")
	tokens[0].Role = auth.RoleAdmin
	tokens[0].Name = "changed"
	tokens[0].Clients[0] = "db-01"
	got := set.Authenticate(secret)
	if got == nil {
		t.Fatal("the secret no longer authenticates after the caller changed its slice")
	}
	if got.Name != "a" || got.Role != auth.RoleRead {
		t.Errorf("token = %q role %s, want a role read as given to NewSet", got.Name, got.Role)
	}
	if !got.Allows("web-01") || got.Allows("db-01") {
		t.Errorf("token clients = %q after the caller changed its own, want [web-01]", got.Clients)
	}
	if set.Authenticate("something else") != nil {
		t.Error(`"something else" authenticates after the caller set its hash in its own slice`)
	}
}

// TestNewSetUUIDGrants: the server keeps UUID client ids in lower case, so
// a token granted a UUID in any letter case must allow the id as kept.
func TestNewSetUUIDGrants(t *testing.T) {
	const (
		upper = "3F2504E0-4F89-41D3-9A0C-0305E82C3301"
		lower = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
	)
	for _, grant := range []string{upper, lower, "3f2504E0-4f89-41D3-9a0c-0305e82C3301"} {
		t.Run(grant, func(t *testing.T) {
			secret := auth.NewSecret()
			set, err := auth.NewSet([]auth.Token{{Name: "agent", Hash: auth.Hash(secret), Role: auth.RoleIngest, Clients: []string{grant}}})
			if err != nil {
				t.Fatal(err)
			}
			tok := set.Authenticate(secret)
			if tok == nil {
				t.Fatal("the secret does not authenticate")
			}
			if !tok.Allows(lower) {
				t.Errorf("a token granted %s does not allow %s, the id the server keeps", grant, lower)
			}
			if tok.Allows("16fd2706-8baf-433b-82eb-8c7fada847da") {
				t.Errorf("a token granted %s allows another UUID", grant)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	secrets := map[string]string{"ingest-web": auth.NewSecret(), "read-web-01": auth.NewSecret(), "admin": auth.NewSecret()}
	set, err := auth.NewSet([]auth.Token{
		{Name: "ingest-web", Hash: auth.Hash(secrets["ingest-web"]), Role: auth.RoleIngest, Clients: []string{"web-*"}},
		{Name: "read-web-01", Hash: auth.Hash(secrets["read-web-01"]), Role: auth.RoleRead, Clients: []string{"web-01"}},
		{Name: "admin", Hash: auth.Hash(secrets["admin"]), Role: auth.RoleAdmin, Clients: []string{"*"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantRole := map[string]auth.Role{"ingest-web": auth.RoleIngest, "read-web-01": auth.RoleRead, "admin": auth.RoleAdmin}
	for name, secret := range secrets {
		t.Run("secret of "+name, func(t *testing.T) {
			got := set.Authenticate(secret)
			if got == nil {
				t.Fatalf("Authenticate(secret of %s) = nil, want that token", name)
			}
			if got.Name != name || got.Role != wantRole[name] {
				t.Errorf("Authenticate(secret of %s) = %q role %s, want %q role %s", name, got.Name, got.Role, name, wantRole[name])
			}
			if got.Hash != auth.Hash(secret) {
				t.Errorf("Authenticate(secret of %s) returned a token of another hash", name)
			}
		})
	}

	admin := secrets["admin"]
	adminHash := auth.Hash(admin)
	refused := []struct {
		name, secret string
	}{
		{"empty", ""},
		{"unknown", auth.NewSecret()},
		{"the prefix alone", "mt_"},
		{"a secret with a space before", " " + admin},
		{"a secret with a newline after", admin + "\n"},
		{"a secret cut short", admin[:len(admin)-1]},
		{"a secret in capitals", strings.ToUpper(admin)},
		{"the hash in hex instead of the secret", hex.EncodeToString(adminHash[:])},
		{"the hash bytes instead of the secret", string(adminHash[:])},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			if got := set.Authenticate(tt.secret); got != nil {
				t.Errorf("Authenticate(%q) = token %q, want nil", tt.secret, got.Name)
			}
		})
	}

	t.Run("nil set", func(t *testing.T) {
		var nilSet *auth.Set
		if got := nilSet.Authenticate(admin); got != nil {
			t.Errorf("nil Set Authenticate = token %q, want nil", got.Name)
		}
		if got := nilSet.Authenticate(""); got != nil {
			t.Errorf(`nil Set Authenticate("") = token %q, want nil`, got.Name)
		}
	})
	t.Run("zero set", func(t *testing.T) {
		if got := new(auth.Set).Authenticate(admin); got != nil {
			t.Errorf("zero Set Authenticate = token %q, want nil", got.Name)
		}
	})
	t.Run("empty secret against a token of the empty secret", func(t *testing.T) {
		// A token whose hash is that of "" must still not let a request
		// without a token in.
		s, err := auth.NewSet([]auth.Token{{Name: "empty", Hash: auth.Hash(""), Role: auth.RoleAdmin, Clients: []string{"*"}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Authenticate(""); got != nil {
			t.Errorf(`Authenticate("") = token %q, want nil`, got.Name)
		}
	})
}

func TestHash(t *testing.T) {
	// The SHA-256 test vector of FIPS 180-2.
	const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	h := auth.Hash("abc")
	if got := hex.EncodeToString(h[:]); got != abc {
		t.Errorf(`Hash("abc") = %s, want %s`, got, abc)
	}
	if auth.Hash("abc") == auth.Hash("abd") {
		t.Error(`Hash("abc") == Hash("abd")`)
	}
}

func TestParseHash(t *testing.T) {
	for _, secret := range []string{"", "abc", auth.NewSecret()} {
		t.Run("round trip of "+secret, func(t *testing.T) {
			want := auth.Hash(secret)
			for _, s := range []string{hex.EncodeToString(want[:]), strings.ToUpper(hex.EncodeToString(want[:]))} {
				got, err := auth.ParseHash(s)
				if err != nil {
					t.Fatalf("ParseHash(%q): %v", s, err)
				}
				if got != want {
					t.Errorf("ParseHash(%q) = %x, want %x", s, got, want)
				}
			}
		})
	}

	valid := strings.Repeat("ab", 32)
	bad := []struct {
		name, in string
	}{
		{"empty", ""},
		{"not hex", strings.Repeat("zz", 32)},
		{"one digit not hex", valid[:63] + "g"},
		{"63 digits", valid[:63]},
		{"62 digits (31 bytes)", valid[:62]},
		{"66 digits (33 bytes)", valid + "ab"},
		{"128 digits (a SHA-512)", valid + valid},
		{"a space before", " " + valid},
		{"a newline after", valid + "\n"},
		{"a 0x prefix", "0x" + valid[:62]},
		{"base64 instead of hex", base64.StdEncoding.EncodeToString(make([]byte, 32))},
	}
	for _, tt := range bad {
		t.Run("bad "+tt.name, func(t *testing.T) {
			got, err := auth.ParseHash(tt.in)
			if err == nil {
				t.Fatalf("ParseHash(%q) = %x, want an error", tt.in, got)
			}
			if got != ([32]byte{}) {
				t.Errorf("ParseHash(%q) returned %x with its error, want zeros", tt.in, got)
			}
			for _, part := range []string{"sha256", "want 64 hex digits"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	seen := make(map[string]bool, 100)
	for range 100 {
		s := auth.NewSecret()
		rest, ok := strings.CutPrefix(s, "mt_")
		if !ok {
			t.Fatalf("NewSecret() = %q, want the prefix mt_", s)
		}
		b, err := base64.RawURLEncoding.DecodeString(rest)
		if err != nil {
			t.Fatalf("NewSecret() = %q: after mt_ not unpadded URL-safe base64: %v", s, err)
		}
		if len(b) != 32 {
			t.Errorf("NewSecret() = %q holds %d random bytes, want 32", s, len(b))
		}
		if seen[s] {
			t.Fatalf("NewSecret() returned %q twice in 100 calls", s)
		}
		seen[s] = true
	}
	if len(seen) != 100 {
		t.Errorf("%d distinct secrets in 100 calls, want 100", len(seen))
	}

	t.Run("its hash authenticates", func(t *testing.T) {
		s := auth.NewSecret()
		set, err := auth.NewSet([]auth.Token{{Name: "new", Hash: auth.Hash(s), Role: auth.RoleIngest, Clients: []string{"web-01"}}})
		if err != nil {
			t.Fatal(err)
		}
		got := set.Authenticate(s)
		if got == nil || got.Name != "new" {
			t.Fatalf("Authenticate(NewSecret()) = %v, want the token made of its hash", got)
		}
		if other := set.Authenticate(auth.NewSecret()); other != nil {
			t.Errorf("another NewSecret() authenticates as %q", other.Name)
		}
	})
}

// TestWriteNewToken writes the secret and a config entry whose hash is the
// secret's, named as given or by the role and the hash.
func TestWriteNewToken(t *testing.T) {
	const secret = "mt_0123456789abcdef"
	h := auth.Hash(secret)
	for _, tt := range []struct{ name, wantName string }{
		{"web-agents", `"web-agents"`},
		{"", fmt.Sprintf(`"ingest-%x"`, h[:4])},
	} {
		var out strings.Builder
		if err := auth.WriteNewToken(&out, secret, tt.name, auth.Role("ingest"), []string{"web-*", "db-01"}); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"token: " + secret + "\n", "  - name: " + tt.wantName + "\n", fmt.Sprintf("    sha256: %x\n", h), "    role: ingest\n", `    clients: ["web-*", "db-01"]` + "\n"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("name %q: output lacks %q:\n%s", tt.name, want, out.String())
			}
		}
	}
}

// TestNewSetOf makes a set of config entries, and names the entry whose
// hash or role is wrong.
func TestNewSetOf(t *testing.T) {
	h := fmt.Sprintf("%x", auth.Hash("mt_secret"))
	tests := []struct {
		name    string
		entries []auth.Entry
		wantErr string // "" for none
	}{
		{name: "none"},
		{name: "one", entries: []auth.Entry{{Name: "a", SHA256: h, Role: "ingest", Clients: []string{"*"}}}},
		{name: "bad hash", entries: []auth.Entry{{Name: "a", SHA256: h, Role: "ingest", Clients: []string{"*"}}, {Name: "b", SHA256: "zz", Role: "read", Clients: []string{"*"}}}, wantErr: "tokens[1] (b): "},
		{name: "bad role", entries: []auth.Entry{{Name: "a", SHA256: h, Role: "boss", Clients: []string{"*"}}}, wantErr: "tokens: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := auth.NewSetOf(tt.entries)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("NewSetOf: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Fatalf("NewSetOf = %v, want an error starting %q", err, tt.wantErr)
			case tt.wantErr == "" && set.Len() != len(tt.entries):
				t.Errorf("Len() = %d, want %d", set.Len(), len(tt.entries))
			}
		})
	}
}
