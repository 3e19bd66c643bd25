// Package termtext makes text that montool shows on a terminal safe to
// show there, whatever a server holds.
package termtext

import (
	"strconv"
	"unicode/utf8"
)

// Printable returns s as the tables of the commands show it: s itself when
// each of its runes is printable (strconv.IsPrint) and it does not start
// with a quote; else s quoted with Go escapes, such as \x1b or \u202e. So a
// string a server holds, whatever it holds, can neither drive a terminal
// (move the cursor, recolour, retitle) nor hide or reorder what it shows,
// and a quoted cell always means an escaped one.
func Printable(s string) string {
	if len(s) > 0 && s[0] == '"' {
		return strconv.Quote(s)
	}
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return strconv.Quote(s) // not UTF-8
			}
		}
		if !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
