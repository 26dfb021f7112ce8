package migrations

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"testing"
)

var nameRE = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// Both dialects must carry the same migration numbers, or a database
// migrated by one build would be at a version the other cannot reach.
func TestSameNumbersInBothDialects(t *testing.T) {
	numbers := func(dir string) []string {
		t.Helper()
		entries, err := fs.ReadDir(FS, dir)
		if err != nil {
			t.Fatalf("read %s: %v", dir, err)
		}
		var out []string
		for _, e := range entries {
			m := nameRE.FindStringSubmatch(e.Name())
			if m == nil {
				t.Errorf("%s/%s: name must be NNNN_snake_case.sql", dir, e.Name())
				continue
			}
			out = append(out, m[1])
		}
		return out
	}
	lite, pg := numbers("sqlite"), numbers("postgres")
	if len(lite) == 0 {
		t.Fatal("no migrations embedded")
	}
	if !slices.Equal(lite, pg) {
		t.Errorf("migration numbers differ: sqlite %v, postgres %v", lite, pg)
	}
	for i, n := range lite {
		if want := fmt.Sprintf("%04d", i+1); n != want {
			t.Errorf("migration %d is numbered %s: numbers must run 0001, 0002, … without gaps", i+1, n)
		}
	}
}
