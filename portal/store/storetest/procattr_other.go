//go:build !linux

package storetest

import "syscall"

// procAttr runs a child as this user: elsewhere than Linux, tests do not run as root.
func procAttr(int, int, bool) *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
