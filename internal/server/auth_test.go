package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/montool/montool/internal/auth"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// secrets are the tokens of a server under test, by what they may do.
type secrets struct {
	ingestWeb string // ingest, web-*
	readWeb01 string // read, web-01
	admin     string // admin, *
	adminWeb  string // admin, web-*
}

// tokenSet returns the set of the tokens of s.
func (s secrets) tokenSet(t *testing.T) *auth.Set {
	t.Helper()
	set, err := auth.NewSet([]auth.Token{
		{Name: "ingest-web", Hash: auth.Hash(s.ingestWeb), Role: auth.RoleIngest, Clients: []string{"web-*"}},
		{Name: "read-web-01", Hash: auth.Hash(s.readWeb01), Role: auth.RoleRead, Clients: []string{"web-01"}},
		{Name: "admin", Hash: auth.Hash(s.admin), Role: auth.RoleAdmin, Clients: []string{"*"}},
		{Name: "admin-web", Hash: auth.Hash(s.adminWeb), Role: auth.RoleAdmin, Clients: []string{"web-*"}},
	})
	if err != nil {
		t.Fatalf("auth.NewSet: %v", err)
	}
	return set
}

func newSecrets() secrets {
	return secrets{ingestWeb: auth.NewSecret(), readWeb01: auth.NewSecret(), admin: auth.NewSecret(), adminWeb: auth.NewSecret()}
}

// newTokenAPI starts a server that takes the tokens of a fresh secrets over
// st, and stores through the admin token web-01 (2 events), web-02 (1) and
// db-01 (1).
func newTokenAPI(t *testing.T, st server.Store) (*api, secrets) {
	t.Helper()
	s := newSecrets()
	cfg := testConfig()
	cfg.Tokens = s.tokenSet(t)
	a := newAPIWith(t, cfg, st)
	r := a.doAs(s.admin, http.MethodPost, "/api/v1/events", batch(
		cum("web-01", "w1", ts0, "requests", 1),
		cum("web-01", "w2", ts1, "requests", 2),
		cum("web-02", "w3", ts0, "requests", 5),
		cum("db-01", "d1", ts0, "requests", 7),
	))
	if r.status != http.StatusAccepted {
		t.Fatalf("seeding with the admin token: status %d, want 202; body %s", r.status, r.body)
	}
	return a, s
}

// doAs sends a request with token as its bearer token ("" sends no
// Authorization header) and body as JSON ("" sends none).
func (a *api) doAs(token, method, path, body string) response {
	a.t.Helper()
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	var r *strings.Reader
	if body != "" {
		h["Content-Type"] = "application/json"
		r = strings.NewReader(body)
	} else {
		r = strings.NewReader("")
	}
	return a.do(method, path, r, h)
}

// dumpAs returns the status of the dump of clientID with token, and the
// event count of its "requests" total when it is 200.
func (a *api) dumpAs(token, clientID string) (int, int64) {
	a.t.Helper()
	r := a.doAs(token, http.MethodGet, dumpPath(clientID), "")
	if r.status != http.StatusOK {
		return r.status, 0
	}
	var d dumpResponse
	if err := json.Unmarshal(r.body, &d); err != nil {
		a.t.Fatalf("dump %s: %s: %v", clientID, r.body, err)
	}
	return r.status, d.total(a.t, "requests").EventCount
}

// clientsAs returns the ids of the client list as token sees it.
func (a *api) clientsAs(token string) []string {
	a.t.Helper()
	r := a.doAs(token, http.MethodGet, "/api/v1/clients", "")
	if r.status != http.StatusOK {
		a.t.Fatalf("GET /api/v1/clients: status %d, want 200; body %s", r.status, r.body)
	}
	var c struct {
		Clients []clientInfo `json:"clients"`
	}
	if err := json.Unmarshal(r.body, &c); err != nil {
		a.t.Fatalf("GET /api/v1/clients: %s: %v", r.body, err)
	}
	if c.Clients == nil {
		a.t.Fatalf("GET /api/v1/clients: body %s has no clients array", r.body)
	}
	ids := make([]string, len(c.Clients))
	for i, ci := range c.Clients {
		ids[i] = ci.ClientID
	}
	return ids
}

// wantDump checks the status of the dump of clientID as the admin sees it,
// and its number of events when it exists.
func wantDump(t *testing.T, a *api, admin, clientID string, wantStatus int, wantEvents int64) {
	t.Helper()
	status, n := a.dumpAs(admin, clientID)
	if status != wantStatus {
		t.Errorf("admin dump of %s: status %d, want %d", clientID, status, wantStatus)
		return
	}
	if status == http.StatusOK && n != wantEvents {
		t.Errorf("admin dump of %s: %d events, want %d", clientID, n, wantEvents)
	}
}

// wantIDs checks a list of client ids.
func wantIDs(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("clients = %q, want %q", got, want)
	}
}

// route is one API request used by the authorization tests.
type route struct {
	name, method, path, body string
}

// apiRoutes are a request to each route that needs a token.
var apiRoutes = []route{
	{"ingest", http.MethodPost, "/api/v1/events", cum("intruder", "i1", ts0, "requests", 1)},
	{"clients", http.MethodGet, "/api/v1/clients", ""},
	{"dump", http.MethodGet, "/api/v1/clients/web-01/events", ""},
	{"delete", http.MethodDelete, "/api/v1/clients/web-01", ""},
	{"stats", http.MethodGet, "/api/v1/stats", ""},
}

func TestAuthRequiresAToken(t *testing.T) {
	a, s := newTokenAPI(t, storetest.New(t, store.Policy{}))
	adminHash := auth.Hash(s.admin)
	unknown := auth.NewSecret()
	tests := []struct {
		name      string
		header    string // the Authorization header; "" sends none
		presented string // what must not be echoed; "" for nothing
	}{
		{name: "no Authorization header"},
		{name: "an unknown bearer token", header: "Bearer unknown", presented: "unknown"},
		{name: "an unknown token of the right shape", header: "Bearer " + unknown, presented: unknown},
		{name: "Basic scheme", header: "Basic x"},
		{name: "Basic scheme with user and password", header: "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+s.admin)), presented: s.admin},
		{name: "Basic scheme with the admin token", header: "Basic " + s.admin, presented: s.admin},
		{name: "Token scheme with the admin token", header: "Token " + s.admin, presented: s.admin},
		{name: "the admin token without a scheme", header: s.admin, presented: s.admin},
		{name: "Bearer with nothing", header: "Bearer"},
		{name: "Bearer and a space", header: "Bearer "},
		{name: "the stored hash instead of the token", header: "Bearer " + hex.EncodeToString(adminHash[:]), presented: hex.EncodeToString(adminHash[:])},
		{name: "two tokens", header: "Bearer " + s.admin + " " + s.admin, presented: s.admin},
	}
	for _, tt := range tests {
		for _, rt := range apiRoutes {
			t.Run(tt.name+"/"+rt.name, func(t *testing.T) {
				h := map[string]string{}
				if tt.header != "" {
					h["Authorization"] = tt.header
				}
				if rt.body != "" {
					h["Content-Type"] = "application/json"
				}
				r := a.do(rt.method, rt.path, strings.NewReader(rt.body), h)
				wantStatus(t, r.status, http.StatusUnauthorized)
				if got := decodeError(t, r).Code; got != "unauthorized" {
					t.Errorf("code = %q, want unauthorized", got)
				}
				if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
				}
				if tt.presented != "" && bytes.Contains(r.body, []byte(tt.presented)) {
					t.Errorf("the answer %s holds the token presented", r.body)
				}
			})
		}
	}
	t.Run("nothing was changed", func(t *testing.T) {
		wantDump(t, a, s.admin, "intruder", http.StatusNotFound, 0)
		wantDump(t, a, s.admin, "web-01", http.StatusOK, 2)
	})
}

func TestAuthBearerForms(t *testing.T) {
	a, s := newTokenAPI(t, storetest.New(t, store.Policy{}))
	for _, header := range []string{
		"Bearer " + s.admin,
		"bearer " + s.admin,
		"BEARER " + s.admin,
		"Bearer   " + s.admin,
	} {
		t.Run(header[:9], func(t *testing.T) {
			r := a.do(http.MethodGet, "/api/v1/clients", nil, map[string]string{"Authorization": header})
			if r.status != http.StatusOK {
				t.Errorf("Authorization %q: status %d, want 200; body %s", header, r.status, r.body)
			}
		})
	}
}

func TestAuthIngestToken(t *testing.T) {
	t.Run("own client accepted", func(t *testing.T) {
		a, s := newTokenAPI(t, storetest.New(t, store.Policy{}))
		r := a.doAs(s.ingestWeb, http.MethodPost, "/api/v1/events", cum("web-01", "w9", ts2, "requests", 4))
		wantStatus(t, r.status, http.StatusAccepted)
		wantSummary(t, decodeIngest(t, r), 1, 0, 0)
		wantDump(t, a, s.admin, "web-01", http.StatusOK, 3)
	})

	t.Run("new client of the pattern accepted", func(t *testing.T) {
		a, s := newTokenAPI(t, storetest.New(t, store.Policy{}))
		r := a.doAs(s.ingestWeb, http.MethodPost, "/api/v1/events", cum("web-99", "n1", ts2, "requests", 4))
		wantStatus(t, r.status, http.StatusAccepted)
		wantSummary(t, decodeIngest(t, r), 1, 0, 0)
		wantDump(t, a, s.admin, "web-99", http.StatusOK, 1)
	})

	refused := []struct {
		name      string
		clientID  string
		eventID   string
		wantDump  int   // admin dump status of clientID afterwards
		wantCount int64 // its events when it exists
	}{
		{name: "new client outside the pattern", clientID: "db-02", eventID: "x1", wantDump: http.StatusNotFound},
		{name: "existing client outside the pattern", clientID: "db-01", eventID: "x2", wantDump: http.StatusOK, wantCount: 1},
		// A replay of an event db-01 holds must not answer "duplicate":
		// that would tell the token what db-01 holds.
		{name: "replay of an event of another client", clientID: "db-01", eventID: "d1", wantDump: http.StatusOK, wantCount: 1},
		{name: "the prefix without its dash", clientID: "web", eventID: "x3", wantDump: http.StatusNotFound},
		{name: "the pattern in capitals", clientID: "WEB-01", eventID: "x4", wantDump: http.StatusNotFound},
	}
	for _, tt := range refused {
		t.Run(tt.name+" refused", func(t *testing.T) {
			a, s := newTokenAPI(t, storetest.New(t, store.Policy{}))
			r := a.doAs(s.ingestWeb, http.MethodPost, "/api/v1/events", cum(tt.clientID, tt.eventID, ts0, "requests", 7))
			wantStatus(t, r.status, http.StatusForbidden)
			got := decodeIngest(t, r)
			wantSummary(t, got, 0, 0, 1)
			if got.Error == nil || got.Error.Code != "forbidden" {
				t.Errorf("error = %+v, want code forbidden", got.Error)
			}
			checkItemErrors(t, got.Errors, []itemError{{Index: 0, EventID: tt.eventID, Code: "forbidden", Field: "client_id"}})
			wantDump(t, a, s.admin, tt.clientID, tt.wantDump, tt.wantCount)
		})
	}

	t.Run("batch of own and other clients", func(t *testing.T) {
		a, s := newTokenAPI(t, storetest.New(t, store.Policy{}))
		r := a.doAs(s.ingestWeb, http.MethodPost, "/api/v1/events", batch(
			cum("web-01", "b1", ts2, "requests", 1),
			cum("db-01", "b2", ts2, "requests", 1),
			cum("web-03", "b3", ts2, "requests", 1),
			cum("db-03", "b4", ts2, "requests", 1),
		))
		wantStatus(t, r.status, http.StatusForbidden)
		got := decodeIngest(t, r)
		wantSummary(t, got, 2, 0, 2)
		if got.Error == nil || got.Error.Code != "forbidden" {
			t.Errorf("error = %+v, want code forbidden", got.Error)
		}
		checkItemErrors(t, got.Errors, []itemError{
			{Index: 1, EventID: "b2", Code: "forbidden", Field: "client_id"},
			{Index: 3, EventID: "b4", Code: "forbidden", Field: "client_id"},
		})
		wantDump(t, a, s.admin, "web-01", http.StatusOK, 3)
		wantDump(t, a, s.admin, "web-03", http.StatusOK, 1)
		wantDump(t, a, s.admin, "db-01", http.StatusOK, 1)
		wantDump(t, a, s.admin, "db-03", http.StatusNotFound, 0)
	})

	t.Run("batch of web-01 and db-01", func(t *testing.T) {
		a, s := newTokenAPI(t, storetest.New(t, store.Policy{}))
		r := a.doAs(s.ingestWeb, http.MethodPost, "/api/v1/events", batch(
			cum("web-01", "c1", ts2, "requests", 1),
			cum("db-01", "c2", ts2, "requests", 1),
		))
		wantStatus(t, r.status, http.StatusForbidden)
		got := decodeIngest(t, r)
		wantSummary(t, got, 1, 0, 1)
		wantErrorCode(t, got, "forbidden")
		wantDump(t, a, s.admin, "web-01", http.StatusOK, 3)
		wantDump(t, a, s.admin, "db-01", http.StatusOK, 1)
	})
}

func TestAuthReadToken(t *testing.T) {
	a, s := newTokenAPI(t, storetest.New(t, store.Policy{}))

	t.Run("dump of its client", func(t *testing.T) {
		status, n := a.dumpAs(s.readWeb01, "web-01")
		if status != http.StatusOK || n != 2 {
			t.Errorf("dump web-01: status %d with %d events, want 200 with 2", status, n)
		}
	})

	t.Run("dump of another client tells nothing of its existence", func(t *testing.T) {
		exists := a.doAs(s.readWeb01, http.MethodGet, dumpPath("web-02"), "")
		missing := a.doAs(s.readWeb01, http.MethodGet, dumpPath("nobody"), "")
		wantStatus(t, exists.status, http.StatusForbidden)
		wantStatus(t, missing.status, http.StatusForbidden)
		if got := decodeError(t, exists).Code; got != "forbidden" {
			t.Errorf("code = %q, want forbidden", got)
		}
		if !bytes.Equal(exists.body, missing.body) {
			t.Errorf("dump of web-02 (exists) answers %s, of nobody (does not) %s: want the same", exists.body, missing.body)
		}
		if bytes.Contains(exists.body, []byte("web-02")) {
			t.Errorf("the refusal %s names the client", exists.body)
		}
	})

	t.Run("client list holds only its client", func(t *testing.T) {
		wantIDs(t, a.clientsAs(s.readWeb01), "web-01")
	})

	refused := []struct {
		name, method, path, body string
	}{
		{"post of its client", http.MethodPost, "/api/v1/events", cum("web-01", "r1", ts2, "requests", 1)},
		{"delete of its client", http.MethodDelete, "/api/v1/clients/web-01", ""},
		{"delete of a client that does not exist", http.MethodDelete, "/api/v1/clients/nobody", ""},
		{"stats", http.MethodGet, "/api/v1/stats", ""},
	}
	for _, tt := range refused {
		t.Run(tt.name+" refused by role", func(t *testing.T) {
			r := a.doAs(s.readWeb01, tt.method, tt.path, tt.body)
			wantStatus(t, r.status, http.StatusForbidden)
			e := decodeError(t, r)
			if e.Code != "forbidden" {
				t.Errorf("code = %q, want forbidden", e.Code)
			}
			if !strings.Contains(e.Message, "role read") {
				t.Errorf("message %q does not name the token's role", e.Message)
			}
		})
	}
	t.Run("nothing was changed", func(t *testing.T) {
		wantDump(t, a, s.admin, "web-01", http.StatusOK, 2)
	})
}

// TestAuthRoles checks each role against each route.
func TestAuthRoles(t *testing.T) {
	tests := []struct {
		name   string
		secret func(secrets) string
		role   string
		want   map[string]int // by route name
	}{
		{
			name: "ingest web-*", secret: func(s secrets) string { return s.ingestWeb }, role: "ingest",
			want: map[string]int{"ingest": 202, "clients": 403, "dump": 403, "delete": 403, "stats": 403},
		},
		{
			name: "read web-01", secret: func(s secrets) string { return s.readWeb01 }, role: "read",
			want: map[string]int{"ingest": 403, "clients": 200, "dump": 200, "delete": 403, "stats": 403},
		},
		{
			name: "admin *", secret: func(s secrets) string { return s.admin }, role: "admin",
			want: map[string]int{"ingest": 202, "clients": 200, "dump": 200, "delete": 200, "stats": 200},
		},
		{
			name: "admin web-*", secret: func(s secrets) string { return s.adminWeb }, role: "admin",
			want: map[string]int{"ingest": 202, "clients": 200, "dump": 200, "delete": 200, "stats": 403},
		},
	}
	routes := []route{
		{"ingest", http.MethodPost, "/api/v1/events", cum("web-01", "role-1", ts3, "requests", 1)},
		{"clients", http.MethodGet, "/api/v1/clients", ""},
		{"dump", http.MethodGet, "/api/v1/clients/web-01/events", ""},
		{"delete", http.MethodDelete, "/api/v1/clients/web-02", ""},
		{"stats", http.MethodGet, "/api/v1/stats", ""},
	}
	for _, tt := range tests {
		for _, rt := range routes {
			t.Run(tt.name+"/"+rt.name, func(t *testing.T) {
				a, s := newTokenAPI(t, storetest.New(t, store.Policy{}))
				r := a.doAs(tt.secret(s), rt.method, rt.path, rt.body)
				want := tt.want[rt.name]
				if r.status != want {
					t.Fatalf("%s %s: status %d, want %d; body %s", rt.method, rt.path, r.status, want, r.body)
				}
				if want == http.StatusForbidden {
					e := decodeError(t, r)
					if e.Code != "forbidden" || !strings.Contains(e.Message, "role "+tt.role) {
						t.Errorf("error = %+v, want code forbidden and a message naming role %s", e, tt.role)
					}
				}
				// What the request did, seen by the admin.
				web01, web02 := int64(2), http.StatusOK
				switch {
				case rt.name == "ingest" && want == http.StatusAccepted:
					web01 = 3
				case rt.name == "delete" && want == http.StatusOK:
					web02 = http.StatusNotFound
				}
				wantDump(t, a, s.admin, "web-01", http.StatusOK, web01)
				wantDump(t, a, s.admin, "web-02", web02, 1)
			})
		}
	}
}

func TestAuthAdminToken(t *testing.T) {
	t.Run("admin of * does everything", func(t *testing.T) {
		a, s := newTokenAPI(t, storetest.New(t, store.Policy{}))
		wantIDs(t, a.clientsAs(s.admin), "db-01", "web-01", "web-02")
		r := a.doAs(s.admin, http.MethodPost, "/api/v1/events", cum("db-01", "d2", ts1, "requests", 1))
		wantStatus(t, r.status, http.StatusAccepted)
		wantDump(t, a, s.admin, "db-01", http.StatusOK, 2)

		r = a.doAs(s.admin, http.MethodDelete, "/api/v1/clients/db-01", "")
		wantStatus(t, r.status, http.StatusOK)
		var del struct {
			ClientID      string `json:"client_id"`
			DeletedEvents int64  `json:"deleted_events"`
		}
		if err := json.Unmarshal(r.body, &del); err != nil || del.ClientID != "db-01" || del.DeletedEvents != 2 {
			t.Errorf("delete answer %s, want client db-01 with 2 events deleted", r.body)
		}
		wantDump(t, a, s.admin, "db-01", http.StatusNotFound, 0)

		r = a.doAs(s.admin, http.MethodDelete, "/api/v1/clients/nobody", "")
		wantStatus(t, r.status, http.StatusNotFound)

		r = a.doAs(s.admin, http.MethodGet, "/api/v1/stats", "")
		wantStatus(t, r.status, http.StatusOK)
		var st statsBody
		if err := json.Unmarshal(r.body, &st); err != nil || st.Clients != 2 || st.Events != 3 {
			t.Errorf("stats %s, want 2 clients and 3 events", r.body)
		}
	})

	t.Run("admin of web-* only for its clients", func(t *testing.T) {
		a, s := newTokenAPI(t, storetest.New(t, store.Policy{}))
		wantIDs(t, a.clientsAs(s.adminWeb), "web-01", "web-02")
		for _, id := range []string{"db-01", "nobody"} {
			for _, m := range []string{http.MethodGet, http.MethodDelete} {
				path := "/api/v1/clients/" + id
				if m == http.MethodGet {
					path = dumpPath(id)
				}
				r := a.doAs(s.adminWeb, m, path, "")
				wantStatus(t, r.status, http.StatusForbidden)
				if got := decodeError(t, r).Code; got != "forbidden" {
					t.Errorf("%s %s: code %q, want forbidden", m, path, got)
				}
			}
		}
		r := a.doAs(s.adminWeb, http.MethodPost, "/api/v1/events", cum("db-01", "d3", ts1, "requests", 1))
		wantStatus(t, r.status, http.StatusForbidden)
		wantDump(t, a, s.admin, "db-01", http.StatusOK, 1)
	})
}

func TestAuthHealthNeedsNoToken(t *testing.T) {
	a, s := newTokenAPI(t, storetest.New(t, store.Policy{}))
	for _, path := range []string{"/healthz", "/readyz"} {
		for _, token := range []string{"", "unknown", s.readWeb01} {
			r := a.doAs(token, http.MethodGet, path, "")
			if r.status != http.StatusOK {
				t.Errorf("GET %s with token %q: status %d, want 200; body %s", path, token, r.status, r.body)
			}
		}
	}
}

// TestAuthTokenRevokedAfterRestart starts a second server over the same
// store without one of the tokens of the first: that token is refused.
func TestAuthTokenRevokedAfterRestart(t *testing.T) {
	st := storetest.New(t, store.Policy{})
	first, s := newTokenAPI(t, st)
	r := first.doAs(s.ingestWeb, http.MethodPost, "/api/v1/events", cum("web-01", "before", ts2, "requests", 1))
	wantStatus(t, r.status, http.StatusAccepted)

	kept, err := auth.NewSet([]auth.Token{{Name: "admin", Hash: auth.Hash(s.admin), Role: auth.RoleAdmin, Clients: []string{"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Tokens = kept
	second := newAPIWith(t, cfg, st)

	r = second.doAs(s.ingestWeb, http.MethodPost, "/api/v1/events", cum("web-01", "after", ts3, "requests", 1))
	wantStatus(t, r.status, http.StatusUnauthorized)
	if got := decodeError(t, r).Code; got != "unauthorized" {
		t.Errorf("code = %q, want unauthorized", got)
	}
	r = second.doAs(s.readWeb01, http.MethodGet, dumpPath("web-01"), "")
	wantStatus(t, r.status, http.StatusUnauthorized)
	// The kept token still works, and sees what the first server stored.
	wantDump(t, second, s.admin, "web-01", http.StatusOK, 3)
}

// TestAuthUpperCaseUUIDGrant: the server treats UUID client ids without
// regard to case (an event of 3F25…  is stored, dumped and listed as
// 3f25…). A token granted a client by its UUID must then take that client
// however the UUID is written, in the grant and in the request.
func TestAuthUpperCaseUUIDGrant(t *testing.T) {
	const (
		upper = "3F2504E0-4F89-41D3-9A0C-0305E82C3301"
		lower = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
	)
	tests := []struct {
		name, grant, sent string
	}{
		{"lower-case grant, upper-case event", lower, upper},
		{"lower-case grant, lower-case event", lower, lower},
		{"upper-case grant, upper-case event", upper, upper},
		{"upper-case grant, lower-case event", upper, lower},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := auth.NewSecret()
			set, err := auth.NewSet([]auth.Token{{Name: "agent", Hash: auth.Hash(secret), Role: auth.RoleAdmin, Clients: []string{tt.grant}}})
			if err != nil {
				t.Fatal(err)
			}
			cfg := testConfig()
			cfg.Tokens = set
			a := newAPIWith(t, cfg, storetest.New(t, store.Policy{}))
			r := a.doAs(secret, http.MethodPost, "/api/v1/events", cum(tt.sent, "e1", ts0, "requests", 1))
			if r.status != http.StatusAccepted {
				t.Errorf("POST an event of %s with a token granted %s: status %d, want 202; body %s", tt.sent, tt.grant, r.status, r.body)
			}
			r = a.doAs(secret, http.MethodGet, dumpPath(tt.sent), "")
			if r.status != http.StatusOK {
				t.Errorf("GET the dump of %s with a token granted %s: status %d, want 200; body %s", tt.sent, tt.grant, r.status, r.body)
			}
		})
	}
}

// TestOpenModeFromLoopback: with no tokens, requests over loopback need
// none, for every route.
func TestOpenModeFromLoopback(t *testing.T) {
	a := newAPIWith(t, testConfig(), storetest.New(t, store.Policy{}))
	steps := []struct {
		method, path, body string
		want               int
	}{
		{http.MethodPost, "/api/v1/events", cum("web-01", "o1", ts0, "requests", 1), http.StatusAccepted},
		{http.MethodGet, "/api/v1/clients", "", http.StatusOK},
		{http.MethodGet, "/api/v1/clients/web-01/events", "", http.StatusOK},
		{http.MethodGet, "/api/v1/stats", "", http.StatusOK},
		{http.MethodDelete, "/api/v1/clients/web-01", "", http.StatusOK},
		{http.MethodGet, "/api/v1/clients/web-01/events", "", http.StatusNotFound},
	}
	for _, st := range steps {
		r := a.doAs("", st.method, st.path, st.body)
		if r.status != st.want {
			t.Errorf("%s %s without a token: status %d, want %d; body %s", st.method, st.path, r.status, st.want, r.body)
		}
	}
}

// serveFrom answers one request through h as if it came from remoteAddr,
// with token as its bearer token ("" for none); nothing goes over the
// network.
func serveFrom(t *testing.T, h http.Handler, remoteAddr, method, path, body, token string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = remoteAddr
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestOpenModeRemoteAddress(t *testing.T) {
	tests := []struct {
		remoteAddr string
		loopback   bool
	}{
		{"192.0.2.10:5000", false},
		{"10.0.0.1:5000", false},
		{"0.0.0.0:5000", false},
		{"[2001:db8::10]:5000", false},
		{"[::ffff:192.0.2.10]:5000", false},
		{"[::]:5000", false},
		{"", false},
		{"127.0.0.1", false}, // no port: not an address a connection has
		{"127.0.0.1:5000", true},
		{"127.0.0.2:5000", true},
		{"[::1]:5000", true},
		{"[::ffff:127.0.0.1]:5000", true},
	}
	for _, insecureOpen := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.remoteAddr
			if insecureOpen {
				name += " insecure-open"
			}
			t.Run(name, func(t *testing.T) {
				cfg := testConfig()
				cfg.InsecureOpen = insecureOpen
				st := storetest.New(t, store.Policy{})
				srv, err := server.New(cfg, st, discardLogger())
				if err != nil {
					t.Fatal(err)
				}
				h := srv.Handler()
				allowed := tt.loopback || insecureOpen

				post := serveFrom(t, h, tt.remoteAddr, http.MethodPost, "/api/v1/events", cum("web-01", "o1", ts0, "requests", 1), "")
				list := serveFrom(t, h, tt.remoteAddr, http.MethodGet, "/api/v1/clients", "", "")
				for _, rec := range []struct {
					what string
					rec  *httptest.ResponseRecorder
					ok   int
				}{{"POST events", post, http.StatusAccepted}, {"GET clients", list, http.StatusOK}} {
					want := rec.ok
					if !allowed {
						want = http.StatusForbidden
					}
					if rec.rec.Code != want {
						t.Errorf("%s from %q: status %d, want %d; body %s", rec.what, tt.remoteAddr, rec.rec.Code, want, rec.rec.Body)
						continue
					}
					if allowed {
						continue
					}
					var e struct {
						Error apiError `json:"error"`
					}
					if err := json.Unmarshal(rec.rec.Body.Bytes(), &e); err != nil {
						t.Fatalf("%s: %s: %v", rec.what, rec.rec.Body, err)
					}
					if e.Error.Code != "forbidden" {
						t.Errorf("%s: code %q, want forbidden", rec.what, e.Error.Code)
					}
					for _, part := range []string{"--insecure-open", "tokens"} {
						if !strings.Contains(e.Error.Message, part) {
							t.Errorf("%s: message %q does not mention %s", rec.what, e.Error.Message, part)
						}
					}
				}
				// What was stored, seen from loopback.
				got := serveFrom(t, h, "127.0.0.1:6000", http.MethodGet, "/api/v1/clients/web-01/events", "", "")
				wantDump := http.StatusNotFound
				if allowed {
					wantDump = http.StatusOK
				}
				if got.Code != wantDump {
					t.Errorf("dump of web-01 afterwards: status %d, want %d", got.Code, wantDump)
				}
				// Health answers whoever asks.
				for _, path := range []string{"/healthz", "/readyz"} {
					if rec := serveFrom(t, h, tt.remoteAddr, http.MethodGet, path, "", ""); rec.Code != http.StatusOK {
						t.Errorf("GET %s from %q: status %d, want 200", path, tt.remoteAddr, rec.Code)
					}
				}
			})
		}
	}
}

// TestTokensFromAnyAddress: with tokens, the address does not matter: a
// token is needed from loopback too, and enough from elsewhere.
func TestTokensFromAnyAddress(t *testing.T) {
	s := newSecrets()
	cfg := testConfig()
	cfg.Tokens = s.tokenSet(t)
	srv, err := server.New(cfg, storetest.New(t, store.Policy{}), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	for _, addr := range []string{"127.0.0.1:5000", "[::1]:5000", "192.0.2.10:5000", "[2001:db8::10]:5000"} {
		t.Run(addr, func(t *testing.T) {
			if rec := serveFrom(t, h, addr, http.MethodGet, "/api/v1/clients", "", ""); rec.Code != http.StatusUnauthorized {
				t.Errorf("without a token: status %d, want 401; body %s", rec.Code, rec.Body)
			}
			if rec := serveFrom(t, h, addr, http.MethodGet, "/api/v1/clients", "", s.readWeb01); rec.Code != http.StatusOK {
				t.Errorf("with a read token: status %d, want 200; body %s", rec.Code, rec.Body)
			}
		})
	}
}

// TestAuthWholeServerViews: the stats and /metrics tell of every client
// (how many there are, how many events, the requests' outcomes), so they
// take an admin token granted all clients; an admin token granted some is
// refused with a message saying why. /metrics made public takes anyone.
func TestAuthWholeServerViews(t *testing.T) {
	s := newSecrets()
	for _, tt := range []struct {
		name   string
		token  string
		public bool
		want   int
	}{
		{"admin *", s.admin, false, http.StatusOK},
		{"admin web-*", s.adminWeb, false, http.StatusForbidden},
		{"read web-01", s.readWeb01, false, http.StatusForbidden},
		{"no token", "", false, http.StatusUnauthorized},
		{"admin web-*, metrics public", s.adminWeb, true, http.StatusOK},
	} {
		for _, path := range []string{"/api/v1/stats", "/metrics"} {
			t.Run(tt.name+path, func(t *testing.T) {
				cfg := testConfig()
				cfg.Tokens, cfg.MetricsPublic = s.tokenSet(t), tt.public
				a := newAPIWith(t, cfg, storetest.New(t, store.Policy{}))
				r := a.doAs(tt.token, http.MethodGet, path, "")
				want := tt.want
				if tt.public && path != "/metrics" {
					want = http.StatusForbidden // only /metrics is made public
				}
				if r.status != want {
					t.Fatalf("GET %s: status %d, want %d; body %s", path, r.status, want, r.body)
				}
				if want == http.StatusForbidden && tt.token == s.adminWeb {
					e := decodeError(t, r)
					for _, part := range []string{"whole server", "granted all clients (*)", "web-*"} {
						if e.Code != "forbidden" || !strings.Contains(e.Message, part) {
							t.Errorf("error = %+v, want code forbidden and a message with %q", e, part)
						}
					}
				}
			})
		}
	}
}
