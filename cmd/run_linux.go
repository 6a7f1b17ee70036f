//go:build linux

package cmd

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the child (SIGKILL) when licensectl
// dies first, even by SIGKILL: no command keeps running on a seat whose
// lease nobody renews. The lease then expires by itself.
func dieWithParent(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
