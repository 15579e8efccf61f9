package storetest

import "syscall"

// procAttr runs a child as uid:gid when asked, killed when this process dies.
func procAttr(uid, gid int, asUser bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if asUser {
		a.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	return a
}
