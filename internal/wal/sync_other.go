//go:build !linux

package wal

import "os"

// syncData makes the data written to f stable.
func syncData(f *os.File) error { return f.Sync() }
