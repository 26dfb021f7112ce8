//go:build !(linux || darwin)

package store

import (
	"errors"
	"runtime"
)

func diskFree(string) (free, total uint64, err error) {
	return 0, 0, errors.New("disk free: unknown on " + runtime.GOOS)
}

// lockFile does not lock where flock is not at hand: processes starting
// together on one SQLite file there may race to migrate it.
func lockFile(string) (unlock func(), err error) { return func() {}, nil }
