package redistest

import "syscall"

// sysProcAttr has the kernel kill a started redis-server if the test
// binary dies first (a panic, a -timeout), so no node outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
