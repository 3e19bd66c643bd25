//go:build !unix

package loadgen

import "time"

// processCPU reports that the processor time of the process is not known
// on this system.
func processCPU() (time.Duration, bool) { return 0, false }
