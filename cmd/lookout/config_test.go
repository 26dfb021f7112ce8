package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lookout.yaml")
	yaml := "addr: 127.0.0.1:9000\ndb: from-file.db\nworkers: 7\nshutdown_timeout: 5s\nlease_ttl: 2s\ninstance_id: from-file\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, rest, err := loadConfig("serve",
		[]string{"--config", file, "--workers", "9", "extra"},
		env(map[string]string{"LOOKOUT_DB": "from-env.db", "LOOKOUT_WORKERS": "8", "LOOKOUT_API_TOKEN_FILE": tokenFile,
			"LOOKOUT_READ_TOKENS": " r1, r2,,", "LOOKOUT_INSTANCE_ID": "from-env", "LOOKOUT_LEASE_HEARTBEAT": "500ms"}),
		io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"addr (file over default)", cfg.Addr, "127.0.0.1:9000"},
		{"db (env over file)", cfg.DB, "from-env.db"},
		{"workers (flag over env)", strconv.Itoa(cfg.Workers), "9"},
		{"token from _FILE", cfg.APIToken, "s3cret"},
		{"read tokens, trimmed, empty ones dropped", strings.Join(cfg.ReadTokens, "|"), "r1|r2"},
		{"shutdown timeout from file", cfg.ShutdownTimeout.String(), (5 * time.Second).String()},
		{"log level default", cfg.LogLevel, "info"},
		{"instance id (env over file)", cfg.InstanceID, "from-env"},
		{"lease ttl from file", cfg.LeaseTTL.String(), "2s"},
		{"lease heartbeat from env", cfg.LeaseHeartbeat.String(), "500ms"},
		{"remaining args", strings.Join(rest, ","), "extra"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("adr: typo\n"), 0o600)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown YAML key", []string{"--config", bad}, nil, "field adr not found"},
		{"bad env duration", nil, map[string]string{"LOOKOUT_SHUTDOWN_TIMEOUT": "soon"}, `LOOKOUT_SHUTDOWN_TIMEOUT: "soon" is not a duration`},
		{"bad workers", []string{"--workers", "0"}, nil, "workers must be at least 1"},
		{"bad log format", []string{"--log-format", "xml"}, nil, `log format must be text or json, got "xml"`},
		{"bad log level", []string{"--log-level", "loud"}, nil, `log level must be debug, info, warn or error, got "loud"`},
		{"lease ttl under two heartbeats", []string{"--lease-ttl", "400ms"}, nil, "lease ttl (400ms) must be at least two lease heartbeats (500ms)"},
		{"no lease heartbeat", []string{"--lease-heartbeat", "0s"}, nil, "lease heartbeat must be positive"},
		{"missing config file", []string{"--config", filepath.Join(dir, "nope.yaml")}, nil, "read config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadConfig("serve", tt.args, env(tt.env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestHelpShowsNoSecrets: --help lists the built-in defaults, not a token or
// a database password taken from the environment or the file.
func TestHelpShowsNoSecrets(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lookout.yaml")
	if err := os.WriteFile(file, []byte("api_token: file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var help strings.Builder
	_, _, err := loadConfig("serve", []string{"--config", file, "--help"},
		env(map[string]string{"LOOKOUT_DB": "postgres://lookout:db-password@db.test/lookout", "LOOKOUT_READ_TOKENS": "reader-secret"}),
		&help)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("got %v, want flag.ErrHelp", err)
	}
	for _, secret := range []string{"file-token", "db-password", "reader-secret"} {
		if strings.Contains(help.String(), secret) {
			t.Errorf("--help shows %q:\n%s", secret, help.String())
		}
	}
	if !strings.Contains(help.String(), `(default "lookout.db")`) {
		t.Errorf("--help does not show the built-in default database:\n%s", help.String())
	}
}

func TestServeRefusesPublicAddressWithoutToken(t *testing.T) {
	cfg := defaultConfig()
	cfg.Addr = "0.0.0.0:0"
	cfg.DB = filepath.Join(t.TempDir(), "l.db")
	err := serve(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "refusing to listen on 0.0.0.0:0 without an API token") {
		t.Fatalf("got %v, want a refusal naming the address", err)
	}
	if _, statErr := os.Stat(cfg.DB); !os.IsNotExist(statErr) {
		t.Errorf("the refusal created the database file")
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:80": true, "[::1]:8080": true, "127.3.4.5:1": true,
		"0.0.0.0:8080": false, ":8080": false, "10.0.0.1:80": false, "example.test:80": false, "bad": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
