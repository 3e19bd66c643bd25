package termtext_test

import (
	"testing"

	"github.com/montool/montool/internal/termtext"
)

func TestPrintable(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "web-01", "web-01"},
		{"space", "rack 7/web-01", "rack 7/web-01"},
		{"printable unicode", "température 日本語 😀 \ufffd", "température 日本語 😀 \ufffd"},
		{"escape sequence", "web\x1b[31m-01", `"web\x1b[31m-01"`},
		{"title sequence", "\x1b]0;owned\x07", `"\x1b]0;owned\a"`},
		{"tab and newline", "a\tb\nc", `"a\tb\nc"`},
		{"DEL", "a\x7f", `"a\x7f"`},
		{"C1 control sequence introducer", "a\u009b2J", `"a\u009b2J"`},
		{"right-to-left override", "rtl\u202eevil", `"rtl\u202eevil"`},
		{"zero-width space", "a\u200bb", `"a\u200bb"`},
		{"no-break space", "a\u00a0b", `"a\u00a0b"`},
		{"not UTF-8", "a\xffb", `"a\xffb"`},
		{"leading quote", `"quoted"`, `"\"quoted\""`},
		{"inner quote", `a"b`, `a"b`},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := termtext.Printable(tc.in); got != tc.want {
				t.Errorf("Printable(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}
