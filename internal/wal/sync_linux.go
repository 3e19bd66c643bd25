package wal

import (
	"os"
	"syscall"
)

// syncData makes the data written to f stable: fdatasync, which skips the
// metadata a later read does not need (such as the modification time), so
// that a commit costs less than with fsync.
func syncData(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
