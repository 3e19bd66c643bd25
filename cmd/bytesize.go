package cmd

import "github.com/montool/montool/internal/cmdline"

// byteSize is the flag value of a number of bytes with an optional unit.
type byteSize = cmdline.ByteSize
