package apiclient_test

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/montool/montool/internal/apiclient"
)

// TestPlainHTTPToHTTPSServer: the 400 Go's HTTPS server answers a plain
// HTTP request with is an *HTTPSError naming the https URL to use.
func TestPlainHTTPToHTTPSServer(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	c, err := apiclient.New("http://"+ts.Listener.Addr().String()+"/base/", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Clients(t.Context())
	var https *apiclient.HTTPSError
	if !errors.As(err, &https) {
		t.Fatalf("got %v, want an *HTTPSError", err)
	}
	if want := ts.URL + "/base"; https.URL != want {
		t.Errorf("URL = %q, want %q", https.URL, want)
	}

	// A 400 of the server's own is its answer.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "Client sent an HTTP request to an HTTPS server.", http.StatusNotFound)
	}))
	t.Cleanup(api.Close)
	c, err = apiclient.New(api.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Clients(t.Context())
	var apiErr *apiclient.Error
	if !errors.As(err, &apiErr) || errors.As(err, &https) {
		t.Errorf("a 404 came as %v, want a *apiclient.Error", err)
	}
}
