package cmd

import (
	"strings"
	"testing"
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
			var b byteSize
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
