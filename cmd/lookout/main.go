// Command lookout is an uptime monitor with persisted history.
//
//	lookout [serve]            run the monitor, API and dashboard
//	lookout migrate            bring the database schema up to date and exit
//	lookout check URL          probe once and print the result
//	lookout apply -f FILE      make an owner's targets and channels what FILE says
//	lookout bench              measure throughput against a loopback target farm
//	lookout version            print the version
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() { os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr)) }

// Exit codes follow the monitoring-plugins convention for `check`, and
// reuse 3 (unknown) for usage errors everywhere.
const (
	exitOK      = 0
	exitWarn    = 1
	exitFail    = 2
	exitUnknown = 3
)

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "serve":
		return runServe(ctx, args, getenv, stderr)
	case "migrate":
		return runMigrate(ctx, args, getenv, stderr)
	case "check":
		return runCheck(ctx, args, stdout, stderr)
	case "bench":
		return runBench(ctx, args, stdout, stderr)
	case "apply":
		return runApply(ctx, args, getenv, os.Stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "lookout", buildVersion())
		return exitOK
	case "help", "-h", "--help":
		usage(stdout)
		return exitOK
	default:
		fmt.Fprintf(stderr, "lookout: unknown command %q\n\n", cmd)
		usage(stderr)
		return exitUnknown
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: lookout [command] [flags]

Commands:
  serve      run the monitor, its API and dashboard (the default)
  migrate    bring the database schema up to date and exit
  check URL  probe URL once and print the result (exit 0 up, 1 degraded, 2 down, 3 unknown)
  apply      make an owner's targets and channels on a server what a file says
             (lookout apply -f targets.yaml --dry-run shows the plan)
  bench      measure check throughput against a loopback target farm
  version    print the version

Run 'lookout COMMAND --help' for a command's flags.
`)
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level must be debug, info, warn or error, got %q", s)
	}
	return l, nil
}

func newLogger(w io.Writer, cfg config) *slog.Logger {
	level, _ := parseLevel(cfg.LogLevel) // validated with the config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
