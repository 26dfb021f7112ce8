package store

import (
	"regexp"
	"testing"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

var uuid4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestMigration6FillsOlderRows: deliveries written before uids existed get
// a random one each, and a target already flapping is flapping since its
// oldest flip kept.
func TestMigration6FillsOlderRows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := &env{dsn: b.dsn(t), clock: testkit.NewClock(testT0), logs: &testkit.LogBuffer{}}
		e.opts = Options{Now: e.clock.Now}
		e.DB = e.open(t)
		p, err := e.provider()
		fatalIf(t, err, "provider")
		_, err = p.UpTo(bg, 5)
		fatalIf(t, err, "migrate to 5")
		exec := func(q string, args ...any) {
			t.Helper()
			_, err := e.wdb.Exec(q, args...)
			fatalIf(t, err, "%s", q)
		}
		exec(`INSERT INTO events (id, type, at, body) VALUES (1, 'target.stable', 0, '{}')`)
		for _, ch := range []string{"a", "b", "c"} {
			exec(`INSERT INTO deliveries (event_id, event_type, channel, status, created_at)
				VALUES (1, 'target.stable', $1, 'pending', 0)`, ch)
		}
		for i, flips := range []string{"1700000000000,1700000060000", ""} {
			exec(`INSERT INTO targets (id, name, kind, spec, created_at, updated_at) VALUES ($1, $2, 'http', '{}', 0, 0)`,
				i+1, string(rune('a'+i)))
			exec(`INSERT INTO target_state (target_id, flapping, flips) VALUES ($1, $2, $3)`, i+1, flips != "", flips)
		}
		fatalIf(t, e.Migrate(bg), "migrate")

		seen := map[string]bool{}
		for _, d := range e.deliveries(t, uptime.DeliveryFilter{}) {
			if !uuid4.MatchString(d.UID) || seen[d.UID] {
				t.Errorf("delivery %d: uid %q, want a fresh UUID version 4", d.ID, d.UID)
			}
			seen[d.UID] = true
		}
		if len(seen) != 3 {
			t.Errorf("%d uids, want 3", len(seen))
		}
		var since [2]int64
		for i := range since {
			fatalIf(t, e.rdb.QueryRow(`SELECT flapping_since FROM target_state WHERE target_id = $1`, i+1).Scan(&since[i]), "read state")
		}
		if since != [2]int64{1700000000000, 0} {
			t.Errorf("flapping_since %v, want the flapping target's first flip and 0", since)
		}
	})
}
