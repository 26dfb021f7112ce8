//go:build linux || darwin

package store

import (
	"fmt"
	"syscall"
)

func diskFree(dir string) (free, total uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("disk free of %s: %w", dir, err)
	}
	// Bavail, not Bfree: the blocks reserved for root are not ours to use.
	bs := uint64(st.Bsize)
	return uint64(st.Bavail) * bs, uint64(st.Blocks) * bs, nil
}
