package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/probe"
	"github.com/lookout/lookout/internal/uptime"
)

// headerFlags collects repeated --header "Name: value" flags.
type headerFlags map[string]string

func (h headerFlags) String() string { return "" }

func (h headerFlags) Set(v string) error {
	name, val, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("header %q must look like \"Name: value\"", v)
	}
	h[strings.TrimSpace(name)] = strings.TrimSpace(val)
	return nil
}

// schemeKinds maps a URL scheme to the check kind `lookout check` uses for it,
// and whether the kind wants the URL without its scheme (host:port).
var schemeKinds = map[string]struct {
	kind  string
	strip bool
}{
	"http": {"http", false}, "https": {"http", false},
	"tcp": {"tcp", true}, "tls": {"tls", true}, "dns": {"dns", true},
	"postgres": {"postgres", false}, "postgresql": {"postgres", false},
	"redis": {"redis", false}, "rediss": {"redis", false},
	"mysql": {"mysql", true}, "grpc": {"grpc", true},
}

// runCheck probes one target once, prints the result and exits with the
// monitoring-plugins code of its status. It needs no server and no database.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		t       uptime.Target
		http    uptime.HTTPOptions
		headers = headerFlags{}
		expect  string
		asJSON  bool
		timeout time.Duration
		follow  bool
	)
	fs.StringVar(&t.Kind, "kind", "", "check kind (default: from the URL's scheme; known: "+strings.Join(probe.Kinds(), ", ")+")")
	fs.DurationVar(&timeout, "timeout", uptime.DefaultTimeout, "give up after this long")
	fs.DurationVar((*time.Duration)(&t.DegradedLatency), "degraded-latency", 0, "a success slower than this is degraded")
	fs.StringVar(&http.Method, "method", "GET", "HTTP method")
	fs.Var(headers, "header", "HTTP request header \"Name: value\" (repeatable)")
	fs.StringVar(&http.Body, "body", "", "HTTP request body")
	fs.StringVar(&expect, "expect-status", "", "accepted HTTP codes, such as 200-299,301 (default any 2xx)")
	fs.StringVar(&http.BodyContains, "body-contains", "", "the response body must contain this text")
	fs.BoolVar(&http.TLSSkipVerify, "insecure", false, "do not verify TLS certificates")
	fs.BoolVar(&follow, "follow-redirects", true, "follow up to 10 redirects")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: lookout check [flags] URL\n\nProbes URL once and prints the result.\nExit code: 0 up, 1 degraded, 2 down, 3 unknown or usage error.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUnknown
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "lookout check: give exactly one URL, e.g. lookout check https://example.test/health")
		return exitUnknown
	}
	t.Name = "check"
	t.URL = fs.Arg(0)
	if t.Kind == "" {
		u, err := url.Parse(t.URL)
		sk, ok := schemeKinds[strings.ToLower(u.Scheme)]
		if err != nil || !ok {
			fmt.Fprintf(stderr, "lookout check: cannot tell the kind of %q from its scheme; pass --kind\n", uptime.RedactURL(t.URL))
			return exitUnknown
		}
		t.Kind = sk.kind
		if sk.strip {
			t.URL = u.Host
		}
	}
	if expect != "" {
		rs, err := uptime.ParseStatusRanges(expect)
		if err != nil {
			fmt.Fprintf(stderr, "lookout check: --expect-status: %v\n", err)
			return exitUnknown
		}
		http.ExpectStatus = rs
	}
	if len(headers) > 0 {
		http.Headers = headers
	}
	http.FollowRedirects = &follow
	if t.Kind == "http" {
		t.HTTP = &http
	}
	t.Timeout = uptime.Duration(timeout)
	t.Interval = uptime.Duration(timeout + time.Second) // only to satisfy validation
	t.Normalize()

	p := probe.New(probe.Options{UserAgent: "Lookout/" + buildVersion()})
	if err := validator(p)(&t); err != nil {
		fmt.Fprintf(stderr, "lookout check: %v\n", err)
		return exitUnknown
	}
	r := p.Check(ctx, t)
	report(stdout, asJSON, r, func(w io.Writer, r uptime.Result) { fmt.Fprintln(w, formatResult(uptime.RedactURL(t.URL), r)) })
	return exitCode(r.Status)
}

func formatResult(target string, r uptime.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", strings.ToUpper(r.Status.String()), target)
	if r.Code != 0 {
		fmt.Fprintf(&b, " %d", r.Code)
	}
	fmt.Fprintf(&b, " in %s", r.Duration.Round(time.Millisecond/10))
	if r.ErrorClass != uptime.ClassNone {
		fmt.Fprintf(&b, " (%s: %s)", r.ErrorClass, r.Error)
	}
	if !r.CertExpiry.IsZero() {
		fmt.Fprintf(&b, ", certificate expires %s", r.CertExpiry.UTC().Format(time.DateOnly))
	}
	for _, c := range r.Components {
		fmt.Fprintf(&b, "\n  %-8s %s", c.Status, c.Name)
		if c.Output != "" {
			fmt.Fprintf(&b, ": %s", c.Output)
		}
	}
	return b.String()
}

func exitCode(s uptime.Status) int {
	switch s {
	case uptime.StatusUp:
		return exitOK
	case uptime.StatusDegraded:
		return exitWarn
	case uptime.StatusDown:
		return exitFail
	default:
		return exitUnknown
	}
}
