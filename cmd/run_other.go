//go:build !linux

package cmd

import "os/exec"

// dieWithParent does nothing here: only Linux kills a child with its
// parent. A child outliving a killed licensectl keeps running, but its
// lease expires by itself.
func dieWithParent(*exec.Cmd) {}
