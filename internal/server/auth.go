package server

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/montool/montool/internal/auth"
	"github.com/montool/montool/internal/event"
)

// tokenKey is the context key of the token a request came with.
type tokenKey struct{}

// tokenOf returns the token of the request, or nil in open mode.
func tokenOf(ctx context.Context) *auth.Token {
	t, _ := ctx.Value(tokenKey{}).(*auth.Token)
	return t
}

// mayActFor reports whether the request may act for clientID: always in
// open mode, else when its token allows the client.
func mayActFor(ctx context.Context, clientID string) bool {
	t := tokenOf(ctx)
	return t == nil || t.Allows(clientID)
}

var errOpenMode = &event.Error{Kind: event.ErrForbidden, Message: "montool has no tokens configured and takes requests only from this machine: " +
	"add tokens to the config (montool token new --help), or start serve with --insecure-open to take any request without one"}

// authorize lets a request through to h when it may act as role: with a
// token of the server's that has the role, or in open mode from a loopback
// address (from anywhere with InsecureOpen). A request without a token the
// server takes gets 401, one whose token lacks the role 403.
func (s *Server) authorize(role auth.Role, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens := s.liveOf(r.Context()).settings.Tokens
		if tokens.Len() == 0 {
			if !s.cfg.InsecureOpen && !fromLoopback(r) {
				s.writeError(w, r, errOpenMode)
				return
			}
			h.ServeHTTP(w, r)
			return
		}
		header := r.Header.Get("Authorization")
		t := tokens.Authenticate(bearer(header))
		if t == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="montool"`)
			s.writeError(w, r, &event.Error{Kind: errUnauthorized, Message: unauthorizedMessage(header)})
			return
		}
		if !t.May(role) {
			s.writeError(w, r, &event.Error{Kind: event.ErrForbidden, Message: "a token of role " + string(t.Role) + " may not do this; it takes role " + rolesThatMay(role)})
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, t)))
	})
}

// wholeServer lets a request through to h, a view of the whole server
// such as the stats, when its token is granted all clients (or in open
// mode): such a view tells of every client (how many there are, how many
// events they hold, how their requests fared), which a token granted only
// some may not learn of. Put it behind authorize.
func (s *Server) wholeServer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := tokenOf(r.Context()); t != nil && !t.AllClients() {
			s.writeError(w, r, &event.Error{Kind: event.ErrForbidden, Message: "this tells of the whole server, every client included: " +
				"it takes a token of role " + string(t.Role) + " granted all clients (*), and this one is granted only " + strings.Join(t.Clients, ", ")})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// unauthorizedMessage says why a request with the Authorization header
// header has no token the server takes: none sent, another scheme, or a
// token the server does not know. It never repeats what was sent but a
// well-known scheme's name.
func unauthorizedMessage(header string) string {
	const send = "send one of this server's tokens as Authorization: Bearer TOKEN (montool --token)"
	scheme, token, _ := strings.Cut(strings.TrimSpace(header), " ")
	switch {
	case header == "":
		return "this request has no token: " + send
	case !strings.EqualFold(scheme, "Bearer"):
		for _, known := range []string{"Basic", "Digest", "Token", "Negotiate"} {
			if strings.EqualFold(scheme, known) {
				return "the Authorization header must be Bearer TOKEN, not " + known + ": " + send
			}
		}
		return "the Authorization header must be Bearer TOKEN: " + send
	case strings.TrimSpace(token) == "":
		return "the Authorization header holds no token: " + send
	}
	return "the token sent is not one of this server's tokens: check it (montool --token), or make one with montool token new and add its entry to the server's config"
}

// rolesThatMay names the roles whose tokens may do what role stands for,
// such as "read or admin".
func rolesThatMay(role auth.Role) string {
	var may []string
	for _, r := range []auth.Role{auth.RoleIngest, auth.RoleRead, auth.RoleAdmin} {
		if (&auth.Token{Role: r}).May(role) {
			may = append(may, string(r))
		}
	}
	return strings.Join(may, " or ")
}

// bearer returns the token of an Authorization header, or "".
func bearer(header string) string {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// fromLoopback reports whether the request came from a loopback address.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}
