//go:build !linux

package redistest

import "syscall"

// sysProcAttr asks nothing more of the kernel where there is no parent
// death signal: Cleanup alone stops the processes.
func sysProcAttr() *syscall.SysProcAttr { return nil }
