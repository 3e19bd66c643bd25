package dumpformat_test

import (
	"bytes"
	"testing"

	"github.com/montool/montool/internal/dumpformat"
	"github.com/montool/montool/internal/event"
)

// TestWriteClients writes the client table: one client and one event are
// said in the singular, and an id that is not printable comes escaped.
func TestWriteClients(t *testing.T) {
	tests := []struct {
		name    string
		clients []event.ClientInfo
	}{
		{"clients_none", nil},
		{"clients_one", []event.ClientInfo{{ClientID: "web-01", Events: 1}}},
		{"clients_many", []event.ClientInfo{{ClientID: "web-01", Events: 3021}, {ClientID: "bad\x1b[2Jid", Events: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := dumpformat.WriteClients(&out, tt.clients); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name+".golden", out.String())
		})
	}
}
