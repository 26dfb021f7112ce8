package probe

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/uptime"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

func init() {
	Register(Kind{Name: "redis", Validate: validateRedis, Check: checkRedis})
	// go-redis logs every failed dial to stderr through a process-wide
	// logger. The check's result already carries the error, and checks are
	// the only use of go-redis in Lookout, so its log is silenced.
	redis.SetLogger(quietRedisLog{})
}

// quietRedisLog discards go-redis's log lines.
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

// validateRedis checks that the url is a redis:// or rediss:// URL
// go-redis accepts (redis://[user:password@]host:6379[/db]) and that it
// names a host, and checks the redis options. Nothing is dialled. Problems
// never quote the password.
func validateRedis(t *uptime.Target) error {
	var v uptime.ValidationError
	if strings.TrimSpace(t.URL) != "" {
		if _, problem := redisOptions(t.URL); problem != "" {
			v.Add("url", problem)
		}
	}
	if o := t.Redis; o != nil {
		switch o.Role {
		case "", "master", "replica":
		default:
			v.Add("redis.role", fmt.Sprintf("%q is not a role (want master or replica)", o.Role))
		}
		switch {
		case o.MaxReplicationLag < 0:
			v.Add("redis.max_replication_lag", "must not be negative")
		case o.MaxReplicationLag > 0 && o.MaxReplicationLag.D() < time.Second:
			v.Add("redis.max_replication_lag", "must be at least 1s: Redis counts the lag in whole seconds")
		case o.MaxReplicationLag > 0 && o.Role == "master":
			v.Add("redis.max_replication_lag", "applies to replicas only, not with role master")
		}
	}
	return v.Err()
}

// redisOptions parses a redis target's url, or says what is wrong with it.
func redisOptions(raw string) (*redis.Options, string) {
	const want = "must be a redis:// or rediss:// URL (redis://[:password@]host:6379[/db])"
	scheme, ok := urlScheme(raw)
	if !ok || (scheme != "redis" && scheme != "rediss") {
		return nil, want
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "is not a valid URL"
	}
	if u.Hostname() == "" {
		return nil, "must name a host"
	}
	if u.Port() != "" {
		if problem := hostPortProblem(u.Host); problem != "" {
			return nil, problem
		}
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		// go-redis names the bad part (an unknown option, a bad database
		// number); the password is taken out should it ever be quoted.
		text := strings.TrimPrefix(err.Error(), "redis: ")
		if pw, ok := u.User.Password(); ok && pw != "" {
			text = strings.ReplaceAll(text, pw, uptime.Redacted)
		}
		return nil, "is not a valid Redis URL: " + short(text)
	}
	return opts, ""
}

// checkRedis opens one connection, sends PING, reads INFO server and INFO
// replication, and closes the connection: no pool is kept between checks.
// The client makes one attempt at everything (one dial, no command
// retries) within the check's context.
//
// With redis.role set, the server's replication role must be that role.
// With redis.max_replication_lag set and the server a replica, a
// master_last_io_seconds_ago above it, or a replication link that is down,
// makes the check degraded: the replica answers, but with stale data. Note
// that a master pings its replicas only every repl-ping-replica-period
// (10s by default), so on an idle master the value climbs to about that.
//
// Detail records the role and version ("role=master, version 7.0.15").
//
// Error classes:
//   - the network (refused, DNS, TLS, timeouts, a connection closed
//     mid-way, a server that does not speak RESP): as classify says.
//   - an error the server replies to PING or INFO — authentication
//     (NOAUTH, WRONGPASS, AUTH without a password configured), a database
//     index out of range, LOADING, a command renamed away: protocol, with
//     the server's text, which never holds the password.
//   - a role other than redis.role: assertion.
func checkRedis(ctx context.Context, p *Prober, t *uptime.Target, r *uptime.Result) {
	opts, problem := redisOptions(t.URL)
	if problem != "" {
		// The validator accepts only URLs redisOptions takes.
		r.Fail(uptime.ClassInternal, "invalid URL")
		return
	}
	defer hideSecret(r, opts.Password)
	// One connection: MaxActiveConns is the hard cap. PoolSize is 2, not 1,
	// because go-redis starts a background redialler once failed dials
	// reach PoolSize; with 1, every refused check would dial once more
	// after it ended.
	opts.PoolSize = 2
	opts.MaxActiveConns = 1
	opts.MinIdleConns = 0
	opts.MaxRetries = -1   // -1, not 0, is "no retries" in go-redis
	opts.DialerRetries = 1 // the number of dial attempts; <= 0 means 5
	opts.DisableIdentity = true
	opts.ContextTimeoutEnabled = true
	if opts.Protocol == 0 {
		// RESP2 is what every server speaks; RESP3 would cost a HELLO
		// that servers before 6.0 refuse.
		opts.Protocol = 2
	}
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if deadline, ok := ctx.Deadline(); ok {
		// The context bounds every step; the client's own timeouts only
		// must not be shorter than it by default (go-redis uses 5s).
		left := max(time.Until(deadline), time.Millisecond)
		for _, d := range []*time.Duration{&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout} {
			if *d <= 0 || *d > left {
				*d = left
			}
		}
		opts.PoolTimeout = left
	}
	client := redis.NewClient(opts)
	defer client.Close()
	// go-redis bounds its reads by the context's deadline, but does not
	// watch for a cancel: closing the client is what ends a read in flight.
	defer context.AfterFunc(ctx, func() { client.Close() })()

	if err := client.Ping(ctx).Err(); err != nil {
		failRedis(ctx, r, err, "PING")
		return
	}
	server, err := client.Info(ctx, "server").Result()
	if err != nil {
		failRedis(ctx, r, err, "INFO server")
		return
	}
	repl, err := client.Info(ctx, "replication").Result()
	if err != nil {
		failRedis(ctx, r, err, "INFO replication")
		return
	}
	info := parseRedisInfo(server + "\n" + repl)

	role := info["role"]
	if role == "slave" {
		role = "replica"
	}
	detail := []string{"role=" + role, "version " + info["redis_version"]}
	if role == "" {
		detail[0] = "role unknown"
	}
	if info["redis_version"] == "" {
		detail = detail[:1]
	}
	r.Status = uptime.StatusUp

	opt := t.Redis
	if opt == nil {
		opt = &uptime.RedisOptions{}
	}
	if role == "replica" {
		link := info["master_link_status"]
		lag, lagErr := strconv.Atoi(info["master_last_io_seconds_ago"])
		switch {
		case link != "up" || lagErr != nil || lag < 0:
			detail = append(detail, "replication link "+cmp.Or(link, "unknown"))
			if opt.MaxReplicationLag > 0 {
				r.Status = uptime.StatusDegraded
			}
		default:
			lagD := time.Duration(lag) * time.Second
			note := fmt.Sprintf("replication lag %s", lagD)
			if limit := opt.MaxReplicationLag.D(); limit > 0 && lagD > limit {
				r.Status = uptime.StatusDegraded
				note += fmt.Sprintf(" > %s", limit)
			}
			detail = append(detail, note)
		}
	}
	r.Detail = uptime.Truncate(strings.Join(detail, ", "), uptime.MaxErrorLen)
	if opt.Role != "" && role != opt.Role {
		r.Fail(uptime.ClassAssertion, "role is %s, want %s", cmp.Or(role, "unknown"), opt.Role)
	}
}

// parseRedisInfo reads the key:value lines of an INFO answer.
func parseRedisInfo(s string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// failRedis records the error of command cmd: an error reply of the
// server is protocol with the server's text; anything else goes through fail.
func failRedis(ctx context.Context, r *uptime.Result, err error, cmd string) {
	step := "running " + cmd
	if cmd == "PING" {
		// The dial and the handshake happen with the first command.
		step = "connecting"
	}
	failServer[redis.Error](ctx, r, err, uptime.ClassProtocol, cmd+": ", step)
}
