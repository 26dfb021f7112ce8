//go:build !(linux || darwin)

package store

import (
	"errors"
	"runtime"
)

func diskFree(string) (free, total uint64, err error) {
	return 0, 0, errors.New("disk free: unknown on " + runtime.GOOS)
}
