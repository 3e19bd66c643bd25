package redistest

import (
	"bufio"
	"reflect"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any
		err  bool
	}{
		{"simple string", "+PONG\r\n", "PONG", false},
		{"empty simple string", "+\r\n", "", false},
		{"error", "-MOVED 3999 127.0.0.1:7002\r\n", Error("MOVED 3999 127.0.0.1:7002"), false},
		{"integer", ":-42\r\n", int64(-42), false},
		{"bulk string", "$5\r\na\r\nbc\r\n", "a\r\nbc", false},
		{"empty bulk string", "$0\r\n\r\n", "", false},
		{"null bulk string", "$-1\r\n", nil, false},
		{"array", "*3\r\n$6\r\nmaster\r\n:7\r\n*0\r\n", []any{"master", int64(7), []any{}}, false},
		{"null array", "*-1\r\n", nil, false},
		{"no CRLF", "+PONG\n", nil, true},
		{"unknown kind", "!3\r\n", nil, true},
		{"bad integer", ":x\r\n", nil, true},
		{"short bulk string", "$5\r\nab\r\n", nil, true},
		{"bulk string not ended by CRLF", "$2\r\nabcd", nil, true},
		{"huge bulk length", "$99999999999\r\n", nil, true},
		{"truncated array", "*2\r\n+a\r\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readReply(bufio.NewReader(strings.NewReader(tt.in)))
			if (err != nil) != tt.err {
				t.Fatalf("readReply(%q) error = %v, want error: %v", tt.in, err, tt.err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("readReply(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendCommand(t *testing.T) {
	got := string(appendCommand(nil, []string{"SET", "k", ""}))
	want := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"
	if got != want {
		t.Errorf("appendCommand = %q, want %q", got, want)
	}
}

func TestDoRefusesAddressesOffThisMachine(t *testing.T) {
	for _, addr := range []string{"10.0.0.1:6379", "example.com:6379", "0.0.0.0:6379", "6379"} {
		if _, err := Do(addr, "PING"); err == nil || !strings.Contains(err.Error(), addr) {
			t.Errorf("Do(%q) error = %v, want a refusal that names the address", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:1", "[::1]:1", "localhost:1"} {
		if err := checkLoopback(addr); err != nil {
			t.Errorf("checkLoopback(%q) = %v, want nil", addr, err)
		}
	}
}

func TestInfoField(t *testing.T) {
	info := "# Cluster\r\ncluster_state:ok\r\ncluster_slots_ok:16384\r\n"
	if got, ok := infoField(info, "cluster_state"); got != "ok" || !ok {
		t.Errorf("cluster_state = %q, %v; want ok, true", got, ok)
	}
	if got, ok := infoField(info, "cluster_size"); got != "" || ok {
		t.Errorf("cluster_size = %q, %v; want it missing", got, ok)
	}
}
