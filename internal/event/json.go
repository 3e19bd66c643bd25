package event

import "unicode/utf8"

// MarshalJSON writes e in its canonical JSON form.
func (e Event) MarshalJSON() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e.appendJSON(nil), nil
}

func (e *Event) appendJSON(b []byte) []byte {
	b = append(b, `{"client_id":`...)
	b = AppendJSONString(b, e.ClientID)
	b = append(b, `,"event_id":`...)
	b = AppendJSONString(b, e.ID)
	b = append(b, `,"event_timestamp":`...)
	b = e.Timestamp.AppendJSON(b)
	b = append(b, `,"event_type":"`...)
	b = append(b, e.Type.String()...)
	b = append(b, `","event_key":`...)
	b = AppendJSONString(b, e.Key)
	b = append(b, `,"event_value":`...)
	b = AppendFloat(b, e.Value)
	return append(b, '}')
}

// AppendJSONString appends s as a JSON string, as montool's JSON forms
// write their strings: quotes, backslashes, bytes below 0x20 and the line
// separators U+2028 and U+2029 escaped, all else as it is. s must be valid
// UTF-8, which Validate ensures for every string of an event.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == '\u2028' || r == '\u2029' {
				b = append(b, s[start:i]...)
				b = append(b, `\u202`...)
				b = append(b, hex[r&0xf])
				start = i + size
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
