package agent

import (
	"fmt"
	"strings"
)

// ParseIdentities reads the agents of data, the text of the file name:
// one a line, a client id, then a token or nothing (the fleet's token).
// Blank lines and lines starting with # are left out. Its errors start
// with name, and with the line where there is one.
func ParseIdentities(name string, data []byte) ([]Identity, error) {
	var ids []Identity
	for n, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) > 2 {
			return nil, fmt.Errorf("%s:%d: want a client id and a token, found %d fields", name, n+1, len(fields))
		}
		id := Identity{ClientID: fields[0]}
		if len(fields) == 2 {
			id.Token = fields[1]
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%s: no agent in it", name)
	}
	return ids, nil
}
