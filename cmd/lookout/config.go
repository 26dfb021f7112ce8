package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lookout/lookout/internal/cluster"
	"github.com/lookout/lookout/internal/scheduler"
	"github.com/lookout/lookout/internal/store"
	"github.com/lookout/lookout/internal/ui"
	"github.com/lookout/lookout/internal/uptime"
)

// config is everything `lookout serve` can be told. Each field is set, in
// rising precedence, by its default, the YAML file (--config), its
// environment variable and its flag.
type config struct {
	Addr            string        `yaml:"addr"`
	PublicURL       string        `yaml:"public_url"`
	DB              string        `yaml:"db"`
	APIToken        string        `yaml:"api_token"`
	ReadTokens      []string      `yaml:"read_tokens"`
	Workers         int           `yaml:"workers"`
	LogLevel        string        `yaml:"log_level"`
	LogFormat       string        `yaml:"log_format"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	DrainDelay      time.Duration `yaml:"drain_delay"`

	// History: how long each kind is kept (0 keeps it forever), and when
	// the housekeeping jobs run.
	RawRetention      age    `yaml:"raw_retention"`
	MinuteRetention   age    `yaml:"minute_retention"`
	HourRetention     age    `yaml:"hour_retention"`
	DeliveryRetention age    `yaml:"delivery_retention"`
	RollupSchedule    string `yaml:"rollup_schedule"`
	RetentionSchedule string `yaml:"retention_schedule"`

	// Burn-rate alerts of targets with an slo, and when they are evaluated.
	SLOPage     burnRule `yaml:"slo_page"`
	SLOTicket   burnRule `yaml:"slo_ticket"`
	SLOSchedule string   `yaml:"slo_schedule"`

	// The public status page: the targets carrying this label (key=value;
	// "" leaves the page and the badges off), under this title.
	StatusPageLabel string `yaml:"status_page_label"`
	StatusPageTitle string `yaml:"status_page_title"`

	// MetricsTargets adds per-target series to /metrics, labelled with
	// each target's name: off by default, as names are unbounded.
	MetricsTargets bool `yaml:"metrics_targets"`

	// Instances sharing a PostgreSQL database: this one's id ("" makes
	// one of the host name, the process id and a random suffix), how long
	// its shard leases last unrenewed and how often it renews them.
	InstanceID     string        `yaml:"instance_id"`
	LeaseTTL       time.Duration `yaml:"lease_ttl"`
	LeaseHeartbeat time.Duration `yaml:"lease_heartbeat"`

	// Targets and Channels are the file's own, as written: synced at
	// start as owner "config", the way `lookout apply` syncs a file. A
	// kind the file leaves out is left alone. They have no flag.
	Targets  yaml.Node `yaml:"targets"`
	Channels yaml.Node `yaml:"channels"`
}

// configOwner is the sync owner of the targets and channels a config file
// declares.
const configOwner = "config"

// declared returns the sync request of the targets and channels the config
// file lists, or ok false when it lists neither.
func (c *config) declared() (body []byte, ok bool, err error) {
	req := syncRequest{Owner: configOwner, Prune: true}
	for _, kind := range []struct {
		node *yaml.Node
		path string
		what string
		dst  *[]json.RawMessage
	}{{&c.Targets, "targets", "a target", &req.Targets}, {&c.Channels, "channels", "a channel", &req.Channels}} {
		if kind.node.Kind == 0 {
			continue
		}
		conv := yamlConverter{}
		v, err := conv.value(kind.node, kind.path, 0)
		if err == nil {
			*kind.dst, err = objectList(v, kind.path, kind.what)
		}
		if err != nil {
			return nil, false, fmt.Errorf("config: %w", err)
		}
		ok = true
	}
	if !ok {
		return nil, false, nil
	}
	body, err = json.Marshal(req)
	return body, true, err
}

// burnRule is the setting of one burn-rate alert: "LONG,SHORT,FACTOR"
// (1h,5m,14.4), or "off".
type burnRule struct {
	severity string
	rule     uptime.BurnRule
	off      bool
}

func newBurnRule(r uptime.BurnRule) burnRule { return burnRule{severity: r.Severity, rule: r} }

func (b burnRule) String() string {
	if b.off || b.rule.Factor == 0 {
		return "off"
	}
	return b.rule.String()
}

func (b *burnRule) Set(v string) error {
	if strings.EqualFold(strings.TrimSpace(v), "off") {
		b.off, b.rule = true, uptime.BurnRule{}
		return nil
	}
	r, err := uptime.ParseBurnRule(b.severity, v)
	if err != nil {
		return err
	}
	b.off, b.rule = false, r
	return nil
}

func (b *burnRule) UnmarshalText(t []byte) error { return b.Set(string(t)) }

func burnVar(p *burnRule) binding {
	return binding{
		bind:    func(fs *flag.FlagSet, n, u string) { fs.Var(p, n, u) },
		fromEnv: p.Set,
	}
}

// burnRules are the burn-rate alerts turned on, the most severe first.
func (c *config) burnRules() []uptime.BurnRule {
	var out []uptime.BurnRule
	for _, b := range []burnRule{c.SLOPage, c.SLOTicket} {
		if !b.off {
			out = append(out, b.rule)
		}
	}
	return out
}

// age is a retention: a Go duration, or a whole number of days ("14d");
// 0 means forever.
type age time.Duration

func (a age) String() string {
	d := time.Duration(a)
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

func (a *age) Set(v string) error {
	if n, ok := strings.CutSuffix(strings.TrimSpace(v), "d"); ok {
		days, err := strconv.ParseUint(n, 10, 16)
		if err != nil {
			return fmt.Errorf("%q is not a number of days such as 14d", v)
		}
		*a = age(time.Duration(days) * 24 * time.Hour)
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("%q is not an age such as 14d or 336h (0 keeps forever)", v)
	}
	*a = age(d)
	return nil
}

func (a *age) UnmarshalText(b []byte) error { return a.Set(string(b)) }

func ageVar(p *age) binding {
	return binding{
		bind:    func(fs *flag.FlagSet, n, u string) { fs.Var(p, n, u) },
		fromEnv: p.Set,
	}
}

func defaultConfig() config {
	return config{
		Addr:            "127.0.0.1:8080",
		DB:              "lookout.db",
		Workers:         256,
		LogLevel:        "info",
		LogFormat:       "text",
		ShutdownTimeout: 30 * time.Second,

		RawRetention:      age(store.DefaultRawRetention),
		MinuteRetention:   age(store.DefaultMinuteRetention),
		HourRetention:     age(store.DefaultHourRetention),
		DeliveryRetention: age(store.DefaultDeliveriesRetention),
		RollupSchedule:    "@every 1m",
		RetentionSchedule: "@every 1h",

		SLOPage:     newBurnRule(uptime.DefaultBurnRules()[0]),
		SLOTicket:   newBurnRule(uptime.DefaultBurnRules()[1]),
		SLOSchedule: "@every 1m",

		LeaseTTL:       cluster.DefaultTTL,
		LeaseHeartbeat: cluster.DefaultHeartbeat,
	}
}

// setting binds one config field to its flag and environment variable, so
// that --help, the env lookup and the YAML key cannot drift apart.
type setting struct {
	flag, env, usage string
	secret           bool // also read from $ENV_FILE
	binding
}

// binding is how one setting reaches its config field: as a flag, and
// from the text of its environment variable.
type binding struct {
	bind    func(fs *flag.FlagSet, name, usage string)
	fromEnv func(string) error
}

func strVar(p *string) binding {
	return binding{
		bind:    func(fs *flag.FlagSet, n, u string) { fs.StringVar(p, n, *p, u) },
		fromEnv: func(v string) error { *p = v; return nil },
	}
}

func durVar(p *time.Duration) binding {
	return binding{
		bind: func(fs *flag.FlagSet, n, u string) { fs.DurationVar(p, n, *p, u) },
		fromEnv: func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%q is not a duration such as 30s", v)
			}
			*p = d
			return nil
		},
	}
}

func intVar(p *int) binding {
	return binding{
		bind: func(fs *flag.FlagSet, n, u string) { fs.IntVar(p, n, *p, u) },
		fromEnv: func(v string) error {
			i, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			*p = i
			return nil
		},
	}
}

func boolVar(p *bool) binding {
	return binding{
		bind: func(fs *flag.FlagSet, n, u string) { fs.BoolVar(p, n, *p, u) },
		fromEnv: func(v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			*p = b
			return nil
		},
	}
}

func listVar(p *[]string) binding {
	set := func(v string) error {
		*p = nil
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				*p = append(*p, s)
			}
		}
		return nil
	}
	return binding{
		bind:    func(fs *flag.FlagSet, n, u string) { fs.Func(n, u+" (comma-separated)", set) },
		fromEnv: set,
	}
}

func (c *config) settings() []setting {
	var out []setting
	add := func(flag, env, usage string, secret bool, b binding) {
		out = append(out, setting{flag: flag, env: env, usage: usage, secret: secret, binding: b})
	}
	add("addr", "LOOKOUT_ADDR", "address to listen on; anything but loopback needs an API token", false, strVar(&c.Addr))
	add("public-url", "LOOKOUT_PUBLIC_URL", "the address people reach Lookout at, for links in alerts (default http:// and --addr)", false, strVar(&c.PublicURL))
	add("db", "LOOKOUT_DB", "SQLite file, or a postgres:// URL", true, strVar(&c.DB))
	add("api-token", "LOOKOUT_API_TOKEN", "bearer token required for changes through the API", true, strVar(&c.APIToken))
	add("read-tokens", "LOOKOUT_READ_TOKENS", "bearer tokens that may only read", true, listVar(&c.ReadTokens))
	add("workers", "LOOKOUT_WORKERS", "checks run at once at most", false, intVar(&c.Workers))
	add("log-level", "LOOKOUT_LOG_LEVEL", "debug, info, warn or error", false, strVar(&c.LogLevel))
	add("log-format", "LOOKOUT_LOG_FORMAT", "text or json", false, strVar(&c.LogFormat))
	add("shutdown-timeout", "LOOKOUT_SHUTDOWN_TIMEOUT", "how long a graceful shutdown may take", false, durVar(&c.ShutdownTimeout))
	add("drain-delay", "LOOKOUT_DRAIN_DELAY", "how long readiness reports 503 before the server stops (give load balancers time to notice)", false, durVar(&c.DrainDelay))
	add("raw-retention", "LOOKOUT_RAW_RETENTION", "how long each check's result is kept, once rolled up (14d; 0 keeps forever)", false, ageVar(&c.RawRetention))
	add("minute-retention", "LOOKOUT_MINUTE_RETENTION", "how long minute rollups are kept (0 keeps forever)", false, ageVar(&c.MinuteRetention))
	add("hour-retention", "LOOKOUT_HOUR_RETENTION", "how long hour rollups are kept (0 keeps forever); day rollups are kept forever", false, ageVar(&c.HourRetention))
	add("delivery-retention", "LOOKOUT_DELIVERY_RETENTION", "how long the delivery log keeps finished deliveries (0 keeps forever)", false, ageVar(&c.DeliveryRetention))
	add("rollup-schedule", "LOOKOUT_ROLLUP_SCHEDULE", "cron schedule of the rollup job", false, strVar(&c.RollupSchedule))
	add("retention-schedule", "LOOKOUT_RETENTION_SCHEDULE", "cron schedule of the retention job", false, strVar(&c.RetentionSchedule))
	add("slo-page", "LOOKOUT_SLO_PAGE", "page while a target with an slo burns its error budget above FACTOR× the rate it can sustain over both the LONG and the SHORT window: `LONG,SHORT,FACTOR`, or off", false, burnVar(&c.SLOPage))
	add("slo-ticket", "LOOKOUT_SLO_TICKET", "ticket while a target with an slo burns its error budget above FACTOR× the rate it can sustain over both the LONG and the SHORT window: `LONG,SHORT,FACTOR`, or off", false, burnVar(&c.SLOTicket))
	add("slo-schedule", "LOOKOUT_SLO_SCHEDULE", "cron schedule of the burn-rate alerts' evaluation", false, strVar(&c.SLOSchedule))
	add("status-page-label", "LOOKOUT_STATUS_PAGE_LABEL", "key=value: a public status page (/status) and badges of the targets carrying this label (default off)", false, strVar(&c.StatusPageLabel))
	add("status-page-title", "LOOKOUT_STATUS_PAGE_TITLE", "the status page's title", false, strVar(&c.StatusPageTitle))
	add("metrics-targets", "LOOKOUT_METRICS_TARGETS", "add per-target series to /metrics (lookout_target_up, _status, _last_check_timestamp_seconds, _duration_seconds), labelled with each target's name and kind: one set per target", false, boolVar(&c.MetricsTargets))
	add("instance-id", "LOOKOUT_INSTANCE_ID", "this instance's id among those sharing a PostgreSQL database (default: host name, process id and a random suffix)", false, strVar(&c.InstanceID))
	add("lease-ttl", "LOOKOUT_LEASE_TTL", "with PostgreSQL, how long a shard lease lasts unrenewed: the targets of an instance that stops are taken over about this long after (at least 2 heartbeats)", false, durVar(&c.LeaseTTL))
	add("lease-heartbeat", "LOOKOUT_LEASE_HEARTBEAT", "with PostgreSQL, how often an instance renews its shard leases and claims its share", false, durVar(&c.LeaseHeartbeat))
	return out
}

// loadConfig reads the YAML file named by --config or LOOKOUT_CONFIG, then
// the environment, then parses args as flags. It returns the remaining
// arguments.
func loadConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (config, []string, error) {
	cfg := defaultConfig()
	settings := cfg.settings()
	// The flags are bound before the file and the environment are read:
	// --help shows the built-in defaults, never a token or a database
	// password that came from elsewhere.
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.String("config", "", "YAML file with settings (keys as the flags, with _ for -), and targets and channels synced at start as owner config (env LOOKOUT_CONFIG)")
	for _, s := range settings {
		env := s.env
		if s.secret {
			env += ", or a file named by " + s.env + "_FILE"
		}
		s.bind(fs, s.flag, s.usage+" (env "+env+")")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: lookout %s [flags]\n\nFlags:\n", name)
		fs.PrintDefaults()
	}

	path := getenv("LOOKOUT_CONFIG")
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			path = v
		} else if v, ok := strings.CutPrefix(a, "-config="); ok {
			path = v
		} else if (a == "--config" || a == "-config") && i+1 < len(args) {
			path = args[i+1]
		}
	}
	if path != "" {
		if err := cfg.readFile(path); err != nil {
			return cfg, nil, err
		}
	}
	for _, s := range settings {
		v := getenv(s.env)
		if s.secret && v == "" {
			if f := getenv(s.env + "_FILE"); f != "" {
				b, err := os.ReadFile(f)
				if err != nil {
					return cfg, nil, fmt.Errorf("read %s_FILE: %w", s.env, err)
				}
				v = strings.TrimSpace(string(b))
			}
		}
		if v == "" {
			continue
		}
		if err := s.fromEnv(v); err != nil {
			return cfg, nil, fmt.Errorf("%s: %w", s.env, err)
		}
	}
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	return cfg, fs.Args(), cfg.validate()
}

func (c *config) readFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

func (c *config) validate() error {
	switch {
	case c.Workers < 1:
		return fmt.Errorf("workers must be at least 1, got %d", c.Workers)
	case c.LogFormat != "text" && c.LogFormat != "json":
		return fmt.Errorf("log format must be text or json, got %q", c.LogFormat)
	case c.DB == "":
		return errors.New("db must name a SQLite file or a postgres:// URL")
	case c.ShutdownTimeout <= 0:
		return errors.New("shutdown timeout must be positive")
	case c.LeaseHeartbeat <= 0:
		return errors.New("lease heartbeat must be positive")
	case c.LeaseTTL < 2*c.LeaseHeartbeat:
		return fmt.Errorf("lease ttl (%s) must be at least two lease heartbeats (%s): one late turn must not lose the leases", c.LeaseTTL, 2*c.LeaseHeartbeat)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	if _, err := ui.ParseLabel(c.StatusPageLabel); err != nil {
		return fmt.Errorf("status page label: %w", err)
	}
	for _, s := range []struct{ name, spec string }{{"rollup schedule", c.RollupSchedule}, {"retention schedule", c.RetentionSchedule},
		{"slo schedule", c.SLOSchedule}} {
		if err := scheduler.ValidateSchedule(s.spec); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}
