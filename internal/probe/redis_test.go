package probe

import (
	"context"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
	"github.com/redis/go-redis/v9"
)

// redisBase returns the test server's URL (LOOKOUT_TEST_REDIS) or skips the test.
func redisBase(t *testing.T) *url.URL {
	t.Helper()
	raw := dbServer(t, "Redis", "LOOKOUT_TEST_REDIS", "redis://127.0.0.1:6379/0",
		func(s string) (string, error) {
			u, err := url.Parse(s)
			if err != nil {
				return "", err
			}
			if u.Port() == "" {
				return net.JoinHostPort(u.Hostname(), "6379"), nil
			}
			return u.Host, nil
		})
	u, _ := url.Parse(raw)
	return u
}

func withRedis(o uptime.RedisOptions) func(*uptime.Target) {
	return func(t *uptime.Target) { t.Redis = &o }
}

func TestRedisUp(t *testing.T) {
	base := redisBase(t)
	r := dbRun(t, "redis", base.String())
	dbWantUp(t, r)
	if !strings.HasPrefix(r.Detail, "role=master, version ") && !strings.HasPrefix(r.Detail, "role=replica, version ") {
		t.Errorf("detail %q, want the role and version", r.Detail)
	}
}

func TestRedisRole(t *testing.T) {
	base := redisBase(t)
	r := dbRun(t, "redis", base.String())
	dbWantUp(t, r)
	role, other := "master", "replica"
	if strings.HasPrefix(r.Detail, "role=replica") {
		role, other = other, role
	}
	dbWantUp(t, dbRun(t, "redis", base.String(), withRedis(uptime.RedisOptions{Role: role})))
	r = dbRun(t, "redis", base.String(), withRedis(uptime.RedisOptions{Role: other}))
	dbWantDown(t, r, uptime.ClassAssertion, "role is "+role+", want "+other)
	if !strings.HasPrefix(r.Detail, "role="+role) {
		t.Errorf("detail %q, want it kept on an assertion failure", r.Detail)
	}
}

func TestRedisServerErrors(t *testing.T) {
	base := redisBase(t)
	// A password sent to a server that has none is no error: go-redis
	// ignores that AUTH reply on purpose. A user the server does not know is.
	t.Run("wrong user", func(t *testing.T) {
		u := *base
		u.User = url.UserPassword("lookout_no_such_user", dbSecret)
		r := dbRun(t, "redis", u.String())
		dbWantDown(t, r, uptime.ClassProtocol, "PING: ")
		dbWantNoSecret(t, r, dbSecret)
	})
	t.Run("database out of range", func(t *testing.T) {
		u := *base
		u.Path = "/100000"
		r := dbRun(t, "redis", u.String())
		dbWantDown(t, r, uptime.ClassProtocol, "PING: ", "DB index")
	})
}

func TestRedisNetworkErrors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		r := dbRun(t, "redis", "redis://:"+dbSecret+"@"+closedAddr(t)+"/0")
		dbWantDown(t, r, uptime.ClassRefused, "connecting: ", "refused")
		dbWantNoSecret(t, r, dbSecret)
	})
	t.Run("hang", func(t *testing.T) {
		dbWantHangTimesOut(t, "redis", "redis://:"+dbSecret+"@"+silentAddr(t)+"/0")
	})
	t.Run("cancelled", func(t *testing.T) {
		dbWantCancelEnds(t, "redis", "redis://:"+dbSecret+"@"+silentAddr(t)+"/0")
	})
	t.Run("hang with TLS", func(t *testing.T) {
		dbWantHangTimesOut(t, "redis", "rediss://"+silentAddr(t))
	})
	t.Run("not redis", func(t *testing.T) {
		r := dbRun(t, "redis", "redis://"+dbGarbageAddr(t))
		dbWantDown(t, r, uptime.ClassProtocol)
	})
	t.Run("dns", func(t *testing.T) {
		r := dbRun(t, "redis", "redis://lookout-test.invalid:6379")
		dbWantDown(t, r, uptime.ClassDNS)
	})
}

// TestRedisReplica runs a master and a replica of it from the redis-server
// binary, when there is one, to see the replication lag judged.
func TestRedisReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the replication lag to grow; skipped with -short")
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed; the replica test starts its own master and replica")
	}
	// A master sends a new replica its data at once (not after the default
	// 5 s it waits for more replicas to share a diskless sync), and pings
	// it only every 60 s.
	master := startRedis(t, bin, "--repl-ping-replica-period", "60", "--repl-diskless-sync-delay", "0")
	replica := startRedis(t, bin, "--replicaof", "127.0.0.1", master.port)
	replicaURL := "redis://127.0.0.1:" + replica.port

	// Wait for the replica to be in sync.
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + replica.port})
	defer c.Close()
	info := func() map[string]string {
		s, err := c.Info(context.Background(), "replication").Result()
		if err != nil {
			t.Fatal(err)
		}
		return parseRedisInfo(s)
	}
	testkit.WaitFor(t, func() bool { return info()["master_link_status"] == "up" }, testkit.Waiting("the replica to sync"))

	r := dbRun(t, "redis", replicaURL, withRedis(uptime.RedisOptions{Role: "replica", MaxReplicationLag: uptime.Duration(time.Hour)}))
	dbWantUp(t, r)
	if !strings.HasPrefix(r.Detail, "role=replica, version ") || !strings.Contains(r.Detail, "replication lag ") {
		t.Errorf("detail %q", r.Detail)
	}
	r = dbRun(t, "redis", replicaURL, withRedis(uptime.RedisOptions{Role: "master"}))
	dbWantDown(t, r, uptime.ClassAssertion, "role is replica, want master")

	// The master pings only every 60s here: its replica's view ages.
	testkit.WaitFor(t, func() bool {
		lag, _ := strconv.Atoi(info()["master_last_io_seconds_ago"])
		return lag >= 2
	}, testkit.Waiting("the replication lag to reach 2s"))
	r = dbRun(t, "redis", replicaURL, withRedis(uptime.RedisOptions{Role: "replica", MaxReplicationLag: uptime.Duration(time.Second)}))
	if r.Status != uptime.StatusDegraded || r.ErrorClass != uptime.ClassNone || !strings.Contains(r.Detail, " > 1s") {
		t.Errorf("lag over the limit: status %s class %q detail %q, want degraded", r.Status, r.ErrorClass, r.Detail)
	}
	// Without a limit, a lag is only noted.
	dbWantUp(t, dbRun(t, "redis", replicaURL, withRedis(uptime.RedisOptions{Role: "replica"})))

	// A replica that lost its master is degraded when a lag limit is set.
	master.stop()
	testkit.WaitFor(t, func() bool { return info()["master_link_status"] != "up" }, testkit.Waiting("the replica to notice its master stopped"))
	r = dbRun(t, "redis", replicaURL, withRedis(uptime.RedisOptions{MaxReplicationLag: uptime.Duration(time.Hour)}))
	if r.Status != uptime.StatusDegraded || !strings.Contains(r.Detail, "replication link down") {
		t.Errorf("link down: status %s detail %q, want degraded", r.Status, r.Detail)
	}
}

type redisProcess struct {
	port string
	stop func()
}

// startRedis starts a throw-away redis-server on a free loopback port,
// keeping nothing on disk, and stops it when the test ends.
func startRedis(t *testing.T, bin string, args ...string) redisProcess {
	t.Helper()
	port := strconv.Itoa(dbFreePort(t))
	cmd := exec.Command(bin, append([]string{
		"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--logfile", "",
	}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 100*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %s did not start", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return redisProcess{port: port, stop: stop}
}

func dbFreePort(t *testing.T) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(closedAddr(t))
	n, _ := strconv.Atoi(port)
	return n
}

func TestValidateRedis(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		opts      *uptime.RedisOptions
		field     string // "" for valid
	}{
		{"plain", "redis://cache.example.com:6379", nil, ""},
		{"password and db", "redis://:p@cache.example.com:6379/2", nil, ""},
		{"user and password", "redis://u:p@cache.example.com/0", nil, ""},
		{"tls", "rediss://cache.example.com:6380", nil, ""},
		{"option", "redis://cache.example.com?protocol=3", nil, ""},
		{"role master", "redis://cache.example.com", &uptime.RedisOptions{Role: "master"}, ""},
		{"replica with a lag limit", "redis://cache.example.com", &uptime.RedisOptions{Role: "replica", MaxReplicationLag: uptime.Duration(10 * time.Second)}, ""},
		{"lag limit, any role", "redis://cache.example.com", &uptime.RedisOptions{MaxReplicationLag: uptime.Duration(10 * time.Second)}, ""},
		{"wrong scheme", "http://cache.example.com", nil, "url"},
		{"host:port", "cache.example.com:6379", nil, "url"},
		{"no host", "redis:///0", nil, "url"},
		{"bad port", "redis://cache.example.com:65536", nil, "url"},
		{"bad db", "redis://cache.example.com/x", nil, "url"},
		{"unknown option", "redis://cache.example.com?colour=blue", nil, "url"},
		{"bad role", "redis://cache.example.com", &uptime.RedisOptions{Role: "primary"}, "redis.role"},
		{"negative lag", "redis://cache.example.com", &uptime.RedisOptions{MaxReplicationLag: uptime.Duration(-time.Second)}, "redis.max_replication_lag"},
		{"lag under a second", "redis://cache.example.com", &uptime.RedisOptions{MaxReplicationLag: uptime.Duration(time.Millisecond)}, "redis.max_replication_lag"},
		{"lag on a master", "redis://cache.example.com", &uptime.RedisOptions{Role: "master", MaxReplicationLag: uptime.Duration(time.Minute)}, "redis.max_replication_lag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := uptime.Target{Name: "t", Kind: "redis", URL: tc.url, Redis: tc.opts}
			target.Normalize()
			dbCheckValidation(t, New(Options{}).Validate(&target), tc.field)
		})
	}
}

func TestValidateRedisHidesPassword(t *testing.T) {
	for _, raw := range []string{
		"redis://:" + dbSecret + "@cache.example.com:99999",
		"redis://:" + dbSecret + "@cache.example.com/x",
		"redis://:" + dbSecret + "@cache.example.com/0?" + dbSecret + "=1",
		"redis://:" + dbSecret + "@/0",
		"http://:" + dbSecret + "@cache.example.com",
	} {
		target := uptime.Target{Name: "t", Kind: "redis", URL: raw}
		target.Normalize()
		dbWantHiddenInValidation(t, New(Options{}).Validate(&target), dbSecret)
	}
}
