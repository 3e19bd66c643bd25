package cmdline_test

import (
	"strings"
	"testing"

	"github.com/montool/montool/internal/cmdline"
)

func TestByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{in: "0", want: 0},
		{in: "1024", want: 1024},
		{in: "10B", want: 10},
		{in: "2KB", want: 2000},
		{in: "2KiB", want: 2048},
		{in: "512MiB", want: 512 << 20},
		{in: "4GiB", want: 4 << 30},
		{in: "4gib", want: 4 << 30},
		{in: "3GB", want: 3e9},
		{in: "1TiB", want: 1 << 40},
		{in: "1TB", want: 1e12},
		{in: " 8 MiB ", want: 8 << 20},
		{in: "", wantErr: `"" is not a size`},
		{in: "lots", wantErr: `"lots" is not a size`},
		{in: "1.5GiB", wantErr: `"1.5GiB" is not a size`},
		{in: "-1", wantErr: `"-1" is not a size`},
		{in: "GiB", wantErr: `"GiB" is not a size`},
		{in: "5PB", wantErr: `"5PB" is not a size`},
		{in: "9999999TiB", wantErr: `"9999999TiB" is too large`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var b cmdline.ByteSize
			err := b.Set(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Set(%q) = %v, want an error containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || int64(b) != tt.want {
				t.Fatalf("Set(%q) = %d, %v; want %d", tt.in, b, err, tt.want)
			}
		})
	}
}

func TestAutoBool(t *testing.T) {
	tests := []struct {
		in      string
		want    string // String after Set
		wantOr  [2]bool
		wantErr bool
	}{
		{in: "auto", want: "auto", wantOr: [2]bool{false, true}},
		{in: "AUTO", want: "auto", wantOr: [2]bool{false, true}},
		{in: "true", want: "true", wantOr: [2]bool{true, true}},
		{in: "1", want: "true", wantOr: [2]bool{true, true}},
		{in: "false", want: "false", wantOr: [2]bool{false, false}},
		{in: "F", want: "false", wantOr: [2]bool{false, false}},
		{in: "maybe", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var b cmdline.AutoBool
			if err := b.Set(tt.in); tt.wantErr {
				if err == nil || err.Error() != "must be true, false or auto" {
					t.Fatalf("Set(%q) = %v, want it refused", tt.in, err)
				}
				return
			} else if err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != tt.want {
				t.Errorf("String = %q, want %q", got, tt.want)
			}
			if got := [2]bool{b.Or(false), b.Or(true)}; got != tt.wantOr {
				t.Errorf("Or(false), Or(true) = %v, want %v", got, tt.wantOr)
			}
		})
	}
	var zero cmdline.AutoBool
	if zero.String() != "auto" || zero.Type() != "bool" {
		t.Errorf("the zero value is %q of type %q, want auto, shown as a bool", zero.String(), zero.Type())
	}
}
