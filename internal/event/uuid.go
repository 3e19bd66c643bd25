package event

// UUIDLen is the length of a UUID in its canonical text form.
const UUIDLen = 36

// uuidHexAt are the offsets of the 16 byte pairs in the canonical form
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.
var uuidHexAt = [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// ParseUUID reads a UUID in its canonical text form, in any letter case.
func ParseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != UUIDLen || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	for i, at := range uuidHexAt {
		hi, lo := hexValue[s[at]], hexValue[s[at+1]]
		if hi|lo > 15 { // 0xff marks a byte that is not a hex digit
			return u, false
		}
		u[i] = hi<<4 | lo
	}
	return u, true
}

// AppendUUID appends u in its canonical lower-case text form.
func AppendUUID(b []byte, u *[16]byte) []byte {
	const hex = "0123456789abcdef"
	var out [UUIDLen]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hex[c>>4], hex[c&0xf]
		j += 2
	}
	return append(b, out[:]...)
}

// hexValue maps the bytes of hex digits to their values, any other byte to
// 0xff.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c] = c - 'a' + 10
		t[c-'a'+'A'] = c - 'a' + 10
	}
	return t
}()
