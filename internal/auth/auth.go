// Package auth is who may do what on a montool server: bearer tokens, each
// kept as its SHA-256 only, with a role and the client ids it may act for.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/montool/montool/internal/event"
)

// Role is what a token may do.
type Role string

const (
	// RoleIngest may send events of its clients.
	RoleIngest Role = "ingest"
	// RoleRead may list its clients and dump them.
	RoleRead Role = "read"
	// RoleAdmin may do all of that and delete its clients; granted all
	// clients ("*"), it may also read what tells of the whole server (the
	// stats and metrics).
	RoleAdmin Role = "admin"
)

// ParseRole reads "ingest", "read" or "admin".
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleIngest, RoleRead, RoleAdmin:
		return r, nil
	}
	return "", fmt.Errorf("role %q: want ingest, read or admin", s)
}

// Token is one token a server takes.
type Token struct {
	// Name tells the token apart in logs; it is not secret.
	Name string
	Hash [sha256.Size]byte
	Role Role
	// Clients are the client ids the token may act for: exact ids (a UUID
	// in any letter case), "prefix*" patterns, matched against ids as the
	// server keeps them (UUIDs in lower case), or "*" for all.
	Clients []string
}

// May reports whether t's role allows what role stands for.
func (t *Token) May(role Role) bool { return t.Role == role || t.Role == RoleAdmin }

// Allows reports whether t may act for clientID.
func (t *Token) Allows(clientID string) bool {
	for _, p := range t.Clients {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(clientID, prefix) {
				return true
			}
		} else if p == clientID {
			return true
		}
	}
	return false
}

// AllClients reports whether t is granted every client, by "*".
func (t *Token) AllClients() bool { return slices.Contains(t.Clients, "*") }

// Set is the tokens a server takes. The zero Set holds none.
type Set struct {
	tokens []Token
}

// NewSet checks tokens and returns their set.
func NewSet(tokens []Token) (*Set, error) {
	for i, t := range tokens {
		if _, err := ParseRole(string(t.Role)); err != nil {
			return nil, fmt.Errorf("token %d (%s): %w", i, t.Name, err)
		}
		if len(t.Clients) == 0 {
			return nil, fmt.Errorf("token %d (%s): no clients: give client ids, prefix* patterns or *", i, t.Name)
		}
		if slices.Contains(t.Clients, "") {
			return nil, fmt.Errorf("token %d (%s): an empty client id", i, t.Name)
		}
		for j := range i {
			if tokens[j].Hash == t.Hash {
				return nil, fmt.Errorf("token %d (%s): the same hash as token %d (%s)", i, t.Name, j, tokens[j].Name)
			}
		}
	}
	set := &Set{tokens: slices.Clone(tokens)}
	for i := range set.tokens {
		t := &set.tokens[i]
		t.Clients = slices.Clone(t.Clients)
		for j, c := range t.Clients {
			if !strings.HasSuffix(c, "*") {
				// A UUID client id is kept in lower case; a prefix is
				// matched against the id as kept.
				t.Clients[j] = event.NormalizeID(c)
			}
		}
	}
	return set, nil
}

// Len returns the number of tokens.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.tokens)
}

// Authenticate returns the token whose secret is secret, or nil. It hashes
// secret and compares the hash with every token's in constant time, so
// that its time tells nothing of the tokens.
func (s *Set) Authenticate(secret string) *Token {
	if s == nil || secret == "" {
		return nil
	}
	h := Hash(secret)
	var found *Token
	for i := range s.tokens {
		if subtle.ConstantTimeCompare(h[:], s.tokens[i].Hash[:]) == 1 {
			found = &s.tokens[i]
		}
	}
	return found
}

// Hash returns the SHA-256 of a token's secret, as the config holds it.
func Hash(secret string) [sha256.Size]byte { return sha256.Sum256([]byte(secret)) }

// ParseHash reads a hash written as 64 hex digits.
func ParseHash(s string) ([sha256.Size]byte, error) {
	var h [sha256.Size]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return h, fmt.Errorf("sha256 %q: want 64 hex digits", s)
	}
	copy(h[:], b)
	return h, nil
}

// secretPrefix starts every secret New makes, so that one is easy to find
// where it should not be (a log, a repository).
const secretPrefix = "mt_"

// NewSecret returns a new random secret, 32 bytes from crypto/rand.
func NewSecret() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return secretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// WriteNewToken writes secret, a new token, to w, once, with the entry of
// the server's config file (under tokens:) that lets a server take it for
// role and the clients: it holds only the token's SHA-256. An empty name
// is the role and the start of the hash, such as ingest-1a2b3c4d.
func WriteNewToken(w io.Writer, secret, name string, role Role, clients []string) error {
	h := Hash(secret)
	quoted := make([]string, len(clients))
	for i, c := range clients {
		quoted[i] = strconv.Quote(c)
	}
	if name == "" {
		name = string(role) + "-" + hex.EncodeToString(h[:4])
	}
	_, err := fmt.Fprintf(w, `token: %s
(shown this once: give it to its agent or reader, and keep it secret)

entry for the server's config file, under tokens:
  - name: %s
    sha256: %x
    role: %s
    clients: [%s]
`, secret, strconv.Quote(name), h, role, strings.Join(quoted, ", "))
	return err
}

// Entry is a token as the config file's tokens list holds it, and as
// WriteNewToken writes it.
type Entry struct {
	Name    string   `mapstructure:"name"`
	SHA256  string   `mapstructure:"sha256"` // hex
	Role    string   `mapstructure:"role"`
	Clients []string `mapstructure:"clients"`
}

// NewSetOf returns the set of the tokens of entries, the config file's
// tokens list. An error names the entry it is about, such as
// "tokens[2] (web-agents): ...", or the list.
func NewSetOf(entries []Entry) (*Set, error) {
	tokens := make([]Token, len(entries))
	for i, e := range entries {
		h, err := ParseHash(e.SHA256)
		if err != nil {
			return nil, fmt.Errorf("tokens[%d] (%s): %w", i, e.Name, err)
		}
		tokens[i] = Token{Name: e.Name, Hash: h, Role: Role(e.Role), Clients: e.Clients}
	}
	set, err := NewSet(tokens)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return set, nil
}
