package dumpformat

import (
	"bytes"
	"strings"
	"testing"
)

// TestRewrite writes the server's answer in each output: NDJSON and CSV as
// they came, JSON indented, a table from the JSON dump; an answer that is
// not what it should be is an error.
func TestRewrite(t *testing.T) {
	const dump = `{"client_id":"web-01","events":{"requests":{"client_id":"web-01","event_type":"CUMULATIVE","event_key":"requests","event_value":3,"event_count":1,"event_timestamp":1763850000}}}`
	tests := []struct {
		output, raw string
		want        string // "" for an error
	}{
		{"ndjson", "{\"a\":1}\n", "{\"a\":1}\n"},
		{"csv", "client_id,event_key\nweb-01,cpu\n", "client_id,event_key\nweb-01,cpu\n"},
		{"json", `{"a":[1,2]}` + "\n", "{\n  \"a\": [\n    1,\n    2\n  ]\n}\n"},
		{"json", "not json", ""},
		{"table", dump, "requests"},
		{"table", "[1]", ""},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := Rewrite(&out, []byte(tt.raw), tt.output)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("Rewrite(%q as %s): no error, wrote %q", tt.raw, tt.output, out.String())
		case tt.want != "" && err != nil:
			t.Errorf("Rewrite(%q as %s): %v", tt.raw, tt.output, err)
		case tt.output == "table" && tt.want != "" && !strings.Contains(out.String(), tt.want):
			t.Errorf("Rewrite(%q as table) = %q, want a row of %s", tt.raw, out.String(), tt.want)
		case tt.output != "table" && tt.want != "" && out.String() != tt.want:
			t.Errorf("Rewrite(%q as %s) = %q, want %q", tt.raw, tt.output, out.String(), tt.want)
		}
	}
}
