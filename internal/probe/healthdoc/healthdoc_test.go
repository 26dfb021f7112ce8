package healthdoc

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/uptime"
)

const (
	up       = uptime.StatusUp
	degraded = uptime.StatusDegraded
	down     = uptime.StatusDown
	unknown  = uptime.StatusUnknown
)

type comp = uptime.Component

func TestParseSamples(t *testing.T) {
	tests := []struct {
		file   string
		ct     string
		want   Doc
		wantOK bool
	}{
		{"ietf.json", "application/health+json", Doc{Format: "ietf", Status: up, Components: []comp{
			{Name: "cassandra:connections", Status: degraded, Observed: 75},
			{Name: "cassandra:responseTime", Status: up, Observed: 250, Unit: "ms"},
			{Name: "cpu:utilization.0", Status: degraded, Observed: 85, Unit: "percent"},
			{Name: "cpu:utilization.1", Status: degraded, Observed: 85, Unit: "percent"},
			{Name: "memory:utilization.0", Status: degraded, Observed: 8.5, Unit: "GiB"},
			{Name: "memory:utilization.1", Status: up, Observed: 5500, Unit: "MiB"},
			{Name: "uptime", Status: up, Observed: 1209600.245, Unit: "s"},
		}}, true},
		{"ietf_details.json", "application/json", Doc{Format: "ietf", Status: down, Components: []comp{
			{Name: "cassandra:responseTime", Status: up, Observed: 250, Unit: "ms"},
			{Name: "postgres:connections", Status: down, Output: "dial tcp 10.0.3.14:5432: connect: connection refused"},
		}}, true},
		{"spring1.json", "application/json;charset=UTF-8", Doc{Format: "spring", Status: down, Components: []comp{
			{Name: "db", Status: up},
			{Name: "diskSpace", Status: up},
			{Name: "redis", Status: down, Output: "org.springframework.data.redis.RedisConnectionFailureException: Cannot get Jedis connection; nested exception is redis.clients.jedis.exceptions.JedisConnectionException: Could not get a resource from the pool"},
		}}, true},
		{"spring20.json", "application/vnd.spring-boot.actuator.v2+json;charset=UTF-8", Doc{Format: "spring", Status: up, Components: []comp{
			{Name: "db", Status: up},
			{Name: "diskSpace", Status: up},
			{Name: "mail", Status: down},
			{Name: "refreshScope", Status: up},
		}}, true},
		{"spring22_nested.json", "application/vnd.spring-boot.actuator.v3+json", Doc{Format: "spring", Status: down, Components: []comp{
			{Name: "broker", Status: down},
			{Name: "broker.us1", Status: up},
			{Name: "broker.us2", Status: down, Output: "java.net.ConnectException: Connection refused"},
			{Name: "db", Status: up},
			{Name: "diskSpace", Status: up},
			{Name: "livenessState", Status: up},
			{Name: "ping", Status: up},
			{Name: "readinessState", Status: up},
			{Name: "ssl", Status: unknown},
		}}, true},
		{"spring_default.json", "application/vnd.spring-boot.actuator.v3+json", Doc{Format: "spring", Status: up}, true},
		{"microprofile1.json", "application/json", Doc{Format: "microprofile", Status: down, Components: []comp{
			{Name: "failed-check", Status: down},
			{Name: "successful-check", Status: up},
		}}, true},
		{"microprofile2.json", "application/json", Doc{Format: "microprofile", Status: up, Components: []comp{
			{Name: "Database connections health check", Status: up},
			{Name: "Redis connection health check", Status: up},
			{Name: "SmallRye Reactive Messaging - liveness check", Status: up},
		}}, true},
		{"dotnet_plain.json", "application/json", Doc{Format: "dotnet", Status: degraded, Components: []comp{
			{Name: "memory", Status: degraded, Output: "Reports degraded status if allocated bytes >= 1073741824 bytes."},
			{Name: "npgsql", Status: up},
			{Name: "self", Status: up},
		}}, true},
		{"dotnet_ui.json", "application/json", Doc{Format: "dotnet", Status: down, Components: []comp{
			{Name: "redis", Status: down, Output: uptime.Truncate("It was not possible to connect to the redis server(s). There was an authentication failure; check that passwords (or client certificates) are configured correctly: (IOException) Unable to read data from the transport connection: Connection aborted.", uptime.MaxErrorLen)},
			{Name: "sqlserver", Status: up},
			{Name: "uri-group", Status: degraded, Output: "Discover endpoint is slow"},
		}}, true},
		{"terminus_ok.json", "application/json; charset=utf-8", Doc{Format: "terminus", Status: up, Components: []comp{
			{Name: "database", Status: up},
			{Name: "memory_heap", Status: up},
			{Name: "nestjs-docs", Status: up},
			{Name: "storage", Status: up},
		}}, true},
		{"terminus_error.json", "application/json; charset=utf-8", Doc{Format: "terminus", Status: down, Components: []comp{
			{Name: "database", Status: up},
			{Name: "memory_rss", Status: down, Output: "Used rss exceeded the set threshold"},
			{Name: "redis", Status: down, Output: "connect ECONNREFUSED 127.0.0.1:6379"},
		}}, true},
		{"adhoc_checks.json", "application/json", Doc{Format: "adhoc", Status: up, Components: []comp{
			{Name: "cache", Status: degraded, Output: "redis replica lagging"},
			{Name: "database", Status: up},
			{Name: "queue", Status: up},
		}}, true},
		{"adhoc_details_list.json", "application/json", Doc{Format: "adhoc", Status: down, Components: []comp{
			{Name: "database", Status: up},
			{Name: "payment-gateway", Status: down, Output: "HTTP 502 from https://pay.example.com/ping"},
			{Name: "search", Status: up},
		}}, true},
		{"adhoc_details_map.json", "application/json", Doc{Format: "adhoc", Status: up, Components: []comp{
			{Name: "mongo", Status: up},
			{Name: "s3", Status: degraded, Output: "bucket listing slow"},
			{Name: "smtp", Status: down, Output: "dial tcp: lookup smtp.internal: no such host"},
		}}, true},
		{"alexliesenfeld.json", "application/json; charset=utf-8", Doc{Format: "alexliesenfeld", Status: down, Components: []comp{
			{Name: "database", Status: up},
			{Name: "search", Status: down, Output: "this makes the check fail"},
		}}, true},
		{"hellofresh_partial.json", "application/json", Doc{Format: "hellofresh", Status: degraded, Components: []comp{
			{Name: "rabbitmq", Status: down, Output: "Failed during RabbitMQ health check"},
		}}, true},
		{"k8s_readyz_verbose.txt", "text/plain; charset=utf-8", Doc{Format: "k8s-verbose", Status: up, Components: []comp{
			{Name: "etcd", Status: up},
			{Name: "etcd-readiness", Status: up},
			{Name: "informer-sync", Status: up},
			{Name: "log", Status: up},
			{Name: "ping", Status: up},
			{Name: "poststarthook/generic-apiserver-start-informers", Status: up},
			{Name: "poststarthook/rbac/bootstrap-roles", Status: up},
			{Name: "poststarthook/start-apiserver-admission-initializer", Status: up},
			{Name: "shutdown", Status: up},
		}}, true},
		{"k8s_readyz_failed.txt", "text/plain; charset=utf-8", Doc{Format: "k8s-verbose", Status: down, Components: []comp{
			{Name: "etcd", Status: down, Output: "reason withheld"},
			{Name: "informer-sync", Status: up},
			{Name: "log", Status: up},
			{Name: "ping", Status: up},
			{Name: "poststarthook/rbac/bootstrap-roles", Status: down, Output: "reason withheld"},
			{Name: "shutdown", Status: up},
		}}, true},
		{"token_ok.txt", "text/plain", Doc{Format: "token", Status: up}, true},
		{"token_dot.txt", "text/plain", Doc{Format: "token", Status: up}, true},
		{"token_unhealthy.txt", "text/plain", Doc{Format: "token", Status: down}, true},
		{"not_health.json", "application/json; charset=utf-8", Doc{}, false},
		{"html.html", "text/html; charset=utf-8", Doc{}, false},
	}
	files, err := filepath.Glob("testdata/*.*")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("testdata holds %d files, the table %d", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := Parse(tt.ct, body)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v (doc %+v)", ok, tt.wantOK, got)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
			// Without a content type the shape alone must be enough.
			bare, ok := Parse("", body)
			if ok != tt.wantOK {
				t.Fatalf("without content type: ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, bare); diff != "" {
				t.Errorf("without content type (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseInline(t *testing.T) {
	tests := []struct {
		name   string
		ct     string
		body   string
		want   Doc
		wantOK bool
	}{
		// The document's verdict wins over its components'.
		{"up with a down component", "", `{"status":"UP","components":{"cache":{"status":"DOWN"},"db":{"status":"UP"}}}`,
			Doc{Format: "spring", Status: up, Components: []comp{{Name: "cache", Status: down}, {Name: "db", Status: up}}}, true},
		// No top-level verdict: the worst component decides.
		{"no top status", "", `{"checks":{"db":{"status":"ok"},"cache":{"status":"warn"}}}`,
			Doc{Format: "adhoc", Status: degraded, Components: []comp{{Name: "cache", Status: degraded}, {Name: "db", Status: up}}}, true},
		{"unknown top status", "", `{"status":"UNKNOWN","components":{"db":{"status":"DOWN"}}}`,
			Doc{Format: "spring", Status: down, Components: []comp{{Name: "db", Status: down}}}, true},
		{"unknown alone", "", `{"status":"UNKNOWN"}`, Doc{Format: "spring", Status: unknown}, true},
		{"out of service", "", `{"status":"OUT_OF_SERVICE"}`, Doc{Format: "spring", Status: down}, true},
		{"terminus shutting down", "", `{"status":"shutting_down","info":{},"error":{},"details":{}}`,
			Doc{Format: "terminus", Status: down}, true},
		{"terminus without details", "", `{"status":"error","info":{"db":{"status":"up"}},"error":{"redis":{"status":"down","message":"timeout"}}}`,
			Doc{Format: "terminus", Status: down, Components: []comp{{Name: "db", Status: up}, {Name: "redis", Status: down, Output: "timeout"}}}, true},
		{"hellofresh ok", "", `{"status":"OK","timestamp":"2024-05-02T10:15:00Z","component":{"name":"svc","version":"v1"}}`,
			Doc{Format: "hellofresh", Status: up}, true},
		{"hellofresh unavailable", "", `{"status":"Unavailable","timestamp":"2024-05-02T10:15:00Z","failures":{"db":"Timeout during health check"},"component":{"name":"svc","version":"v1"}}`,
			Doc{Format: "hellofresh", Status: down, Components: []comp{{Name: "db", Status: down, Output: "Timeout during health check"}}}, true},
		{"elasticsearch-like colour", "", `{"cluster_name":"es","status":"yellow","number_of_nodes":3}`,
			Doc{Format: "adhoc", Status: degraded}, true},
		{"boolean status", "", `{"healthy":false}`, Doc{Format: "adhoc", Status: down}, true},
		{"partially available word", "", `{"status":"partially-available"}`, Doc{Format: "adhoc", Status: degraded}, true},
		{"case-insensitive keys", "", `{"Status":"Healthy","Entries":{"db":{"Status":"Unhealthy","Description":"gone"}}}`,
			Doc{Format: "dotnet", Status: up, Components: []comp{{Name: "db", Status: down, Output: "gone"}}}, true},
		{"microprofile data.error", "", `{"status":"DOWN","checks":[{"name":"db","status":"DOWN","data":{"error":"connection refused","url":"jdbc:postgresql://db/app"}},{"name":"cache","status":"UP","data":{"in-use":3}}]}`,
			Doc{Format: "microprofile", Status: down, Components: []comp{{Name: "cache", Status: up}, {Name: "db", Status: down, Output: "connection refused"}}}, true},
		{"microprofile 1 data.message", "", `{"outcome":"DOWN","checks":[{"name":"queue","state":"DOWN","data":{"message":"broker unreachable"}}]}`,
			Doc{Format: "microprofile", Status: down, Components: []comp{{Name: "queue", Status: down, Output: "broker unreachable"}}}, true},
		{"dotnet checks list", "", `{"status":"Unhealthy","checks":[{"name":"sql","status":"Unhealthy","duration":"00:00:01"}],"totalDuration":"00:00:01"}`,
			Doc{Format: "dotnet", Status: down, Components: []comp{{Name: "sql", Status: down}}}, true},
		{"ietf single object per key", "application/health+json", `{"status":"warn","checks":{"disk":{"status":"warn","observedValue":91,"observedUnit":"%"}}}`,
			Doc{Format: "ietf", Status: degraded, Components: []comp{{Name: "disk", Status: degraded, Observed: 91, Unit: "%"}}}, true},
		{"ietf instances by id", "", `{"status":"pass","checks":{"db:responseTime":[{"componentId":"a","status":"pass"},{"componentId":"b","status":"fail"}]}}`,
			Doc{Format: "ietf", Status: up, Components: []comp{{Name: "db:responseTime.a", Status: up}, {Name: "db:responseTime.b", Status: down}}}, true},
		{"ietf big observed number", "", `{"status":"pass","checks":{"x":[{"status":"pass","observedValue":1e999}]}}`,
			Doc{Format: "ietf", Status: up, Components: []comp{{Name: "x", Status: up}}}, true},
		{"spring 2.0 composite", "", `{"status":"UP","details":{"broker":{"status":"UP","details":{"us1":{"status":"UP","details":{"version":"1"}}}}}}`,
			Doc{Format: "spring", Status: up, Components: []comp{{Name: "broker", Status: up}, {Name: "broker.us1", Status: up}}}, true},
		{"spring 1.x composite", "", `{"status":"UP","broker":{"status":"UP","us1":{"status":"UP"}}}`,
			Doc{Format: "spring", Status: up, Components: []comp{{Name: "broker", Status: up}, {Name: "broker.us1", Status: up}}}, true},
		{"duplicate names", "", `{"status":"UP","details":[{"name":"db","status":"UP"},{"name":"db","status":"DOWN"},{"status":"UP"}]}`,
			Doc{Format: "adhoc", Status: up, Components: []comp{{Name: "2", Status: up}, {Name: "db", Status: up}, {Name: "db#2", Status: down}}}, true},
		{"control characters", "", "{\"status\":\"down\",\"checks\":{\"d\\u0000b\\n\":{\"status\":\"down\",\"message\":\"line1\\nline2\\u001b[31m\"}}}",
			Doc{Format: "adhoc", Status: down, Components: []comp{{Name: "d b", Status: down, Output: "line1 line2 [31m"}}}, true},
		{"invalid utf-8", "", "{\"status\":\"down\",\"checks\":{\"db\xff\":{\"status\":\"down\",\"message\":\"bad \xfe\xff byte\"}}}",
			Doc{Format: "adhoc", Status: down, Components: []comp{{Name: "db\uFFFD", Status: down, Output: "bad \uFFFD\uFFFD byte"}}}, true},
		{"k8s without summary", "", "[+]ping ok\n[-]etcd failed: reason withheld\n",
			Doc{Format: "k8s-verbose", Status: down, Components: []comp{{Name: "etcd", Status: down, Output: "reason withheld"}, {Name: "ping", Status: up}}}, true},
		{"k8s excluded", "", "[+]ping ok\n[+]etcd excluded: ok\nlivez check passed\n",
			Doc{Format: "k8s-verbose", Status: up, Components: []comp{{Name: "etcd", Status: up}, {Name: "ping", Status: up}}}, true},
		{"k8s with a stray line", "", "[+]ping ok\nsomething else\n", Doc{}, false},
		{"json string token", "application/json", `"Healthy"`, Doc{Format: "token", Status: up}, true},
		{"json true", "application/json", `true`, Doc{Format: "token", Status: up}, true},
		{"token pong", "", "PONG\r\n", Doc{Format: "token", Status: up}, true},
		{"token degraded", "", "Degraded", Doc{Format: "token", Status: degraded}, true},
		{"token fail", "", "fail", Doc{Format: "token", Status: down}, true},
		{"bom", "", "\xef\xbb\xbf{\"status\":\"UP\"}", Doc{Format: "spring", Status: up}, true},
		{"sentence", "text/plain", "Service is running fine", Doc{}, false},
		{"empty", "", "  \n", Doc{}, false},
		{"number", "", "200", Doc{}, false},
		{"array", "", `[{"name":"db","status":"UP"}]`, Doc{}, false},
		{"numeric status", "", `{"status":404,"message":"Not Found"}`, Doc{}, false},
		{"api envelope word", "", `{"status":"active","id":7}`, Doc{}, false},
		{"trailing data", "", `{"status":"UP"} {"status":"DOWN"}`, Doc{}, false},
		{"invalid json", "", `{"status":"UP"`, Doc{}, false},
		{"null", "", `null`, Doc{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Parse(tt.ct, []byte(tt.body))
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v (doc %+v)", ok, tt.wantOK, got)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStatusWords(t *testing.T) {
	tests := map[string]uptime.Status{
		"ok": up, "OK": up, "Healthy": up, "up": up, "UP": up, "pass": up, "green": up, "true": up,
		"warn": degraded, "Warning": degraded, "Degraded": degraded, "yellow": degraded,
		"Partially Available": degraded, "PARTIALLY_AVAILABLE": degraded,
		"down": down, "DOWN": down, "fail": down, "failed": down, "error": down, "Unhealthy": down,
		"critical": down, "red": down, "false": down, "Unavailable": down,
		"OUT_OF_SERVICE": down, "out-of-service": down, "shutting_down": down,
		"UNKNOWN": unknown, " up ": up,
	}
	for word, want := range tests {
		got, ok := lookupWord(word)
		if !ok || got != want {
			t.Errorf("lookupWord(%q) = %v, %v; want %v, true", word, got, ok, want)
		}
	}
	for _, word := range []string{"", "active", "200", strings.Repeat("up", 20), "upp"} {
		if st, ok := lookupWord(word); ok {
			t.Errorf("lookupWord(%q) = %v, true; want not recognised", word, st)
		}
	}
}

func TestLimits(t *testing.T) {
	t.Run("component count", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(`{"status":"UP","components":{`)
		for i := range 3 * MaxComponents {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"c` + strconv.Itoa(i) + `":{"status":"UP"}`)
		}
		b.WriteString(`}}`)
		d, ok := Parse("", []byte(b.String()))
		if !ok || len(d.Components) != MaxComponents {
			t.Fatalf("ok = %v, %d components; want true, %d", ok, len(d.Components), MaxComponents)
		}
	})
	t.Run("depth", func(t *testing.T) {
		body := `{"status":"UP"}`
		for range 20 {
			body = `{"status":"UP","components":{"n":` + body + `}}`
		}
		d, ok := Parse("", []byte(body))
		if !ok {
			t.Fatal("not recognised")
		}
		if len(d.Components) != MaxDepth {
			t.Errorf("%d components, want %d", len(d.Components), MaxDepth)
		}
		deepest := d.Components[len(d.Components)-1].Name
		if want := strings.Repeat("n.", MaxDepth-1) + "n"; deepest != want {
			t.Errorf("deepest = %q, want %q", deepest, want)
		}
	})
	t.Run("name and output length", func(t *testing.T) {
		long := strings.Repeat("é", 500)
		body := `{"status":"DOWN","checks":{"` + long + `":{"status":"DOWN","message":"` + long + `"},"` + long + `x":{"status":"UP"}}}`
		d, ok := Parse("", []byte(body))
		if !ok || len(d.Components) != 2 {
			t.Fatalf("ok = %v, %d components", ok, len(d.Components))
		}
		for _, c := range d.Components {
			if len(c.Name) > MaxNameLen || len(c.Output) > uptime.MaxErrorLen {
				t.Errorf("name %d bytes, output %d bytes", len(c.Name), len(c.Output))
			}
		}
		if d.Components[0].Name == d.Components[1].Name {
			t.Errorf("names not unique after truncation: %q", d.Components[0].Name)
		}
	})
	t.Run("deep nesting", func(t *testing.T) {
		body := strings.Repeat(`{"a":`, 100000) + `1` + strings.Repeat(`}`, 100000)
		if _, ok := Parse("", []byte(body)); ok {
			t.Error("recognised a deeply nested non-document")
		}
	})
}
