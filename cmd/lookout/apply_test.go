package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// applyFileCases are the parser's table: a file and either the JSON it
// becomes (owner, then targets and channels, "absent" when left out) or
// a part of the error it gets. They seed FuzzApplyFile too.
var applyFileCases = []struct {
	name, in string
	owner    string
	targets  string
	channels string
	err      string
}{
	{
		name: "yaml object",
		in: `owner: team-a
targets:
  - name: api
    url: https://api.example.test/health
    interval: 30s
    failure_threshold: 2
    paused: false
    labels: {env: prod, port: "8080", legacy: "no", region: no}
    http:
      expect_status: 200
      headers: {Authorization: Bearer x}
channels:
  - name: ops
    kind: webhook
    url: https://hooks.example.test/
`,
		owner:    "team-a",
		targets:  `[{"failure_threshold":2,"http":{"expect_status":200,"headers":{"Authorization":"Bearer x"}},"interval":"30s","labels":{"env":"prod","legacy":"no","port":"8080","region":"no"},"name":"api","paused":false,"url":"https://api.example.test/health"}]`,
		channels: `[{"kind":"webhook","name":"ops","url":"https://hooks.example.test/"}]`,
	},
	{
		name:     "json object",
		in:       `{"owner": "team-b", "targets": [{"name": "db", "kind": "postgres", "slo": 0.999, "tls_expiry_warn": [30, 7]}], "channels": []}`,
		owner:    "team-b",
		targets:  `[{"kind":"postgres","name":"db","slo":0.999,"tls_expiry_warn":[30,7]}]`,
		channels: `[]`,
	},
	{
		name:     "json that YAML does not read",
		in:       "{\n\t\"targets\": [{\"name\": \"smile\", \"url\": \"https:\\/\\/x.test\\/\\ud83d\\ude00\", \"slo\": 0.9990}]\n}",
		targets:  `[{"name":"smile","slo":0.9990,"url":"https://x.test/😀"}]`,
		channels: "absent",
	},
	{
		name:     "bare list",
		in:       "- name: a\n  url: https://a.test\n- {name: b, kind: tcp, url: b.test:22}\n",
		targets:  `[{"name":"a","url":"https://a.test"},{"kind":"tcp","name":"b","url":"b.test:22"}]`,
		channels: "absent",
	},
	{
		name:     "absent targets",
		in:       "owner: x\nchannels: [{name: c, kind: webhook}]\n",
		owner:    "x",
		targets:  "absent",
		channels: `[{"kind":"webhook","name":"c"}]`,
	},
	{
		name:     "empty targets",
		in:       "owner: x\ntargets: []\n",
		owner:    "x",
		targets:  `[]`,
		channels: "absent",
	},
	{
		name: "defaults key at the top",
		in:   "defaults: &d {interval: 1m, labels: {team: a}}\n",
		err:  `unknown key "defaults" at the top of the file`,
	},
	{
		name:     "merge keys",
		in:       "targets:\n  - &base {name: a, interval: 1m, labels: {team: a}}\n  - <<: *base\n    name: b\n",
		targets:  `[{"interval":"1m","labels":{"team":"a"},"name":"a"},{"interval":"1m","labels":{"team":"a"},"name":"b"}]`,
		channels: "absent",
	},
	{name: "unknown keys", in: "owner: x\ntarget: []\nchanels: []\n", err: `unknown key "chanels", "target" at the top of the file: it may hold only owner, targets and channels`},
	{name: "non-string key", in: "targets:\n  - name: a\n    http:\n      headers:\n        200: ok\n", err: `line 5: targets[0].http.headers: the key 200 (!!int) is not a string; quote it`},
	{name: "null key", in: "targets: [{~: a}]", err: `line 1: targets[0]: the key ~ (!!null) is not a string; quote it`},
	{name: "duplicate key", in: "targets:\n  - name: a\n    name: b\n", err: `line 3: targets[0].name appears twice; keep one`},
	{name: "duplicate json key", in: `{"targets": [{"labels": {"a": "1", "a": "2"}, "url": "\/"}]}`, err: `targets[0].labels.a appears twice; keep one`},
	{name: "empty file", in: "", err: "the file is empty"},
	{name: "only a comment", in: "# nothing yet\n", err: "the file is empty"},
	{name: "garbage", in: "targets: [unclosed\n", err: "not valid YAML or JSON: yaml: line 1: did not find expected ',' or ']'"},
	{name: "binary garbage", in: "\x00\x01\xff", err: "not valid YAML or JSON"},
	{name: "a string", in: "hello", err: "the file holds a string: it must hold an object with owner, targets and channels, or a list of targets"},
	{name: "targets not a list", in: "targets: {name: a}", err: "targets must be a list (write targets: [] for none), not an object"},
	{name: "null targets", in: "targets:\n", err: "targets must be a list (write targets: [] for none), not nothing (null)"},
	{name: "target not an object", in: "- a\n", err: "targets[0] must be an object (a target), not a string"},
	{name: "channel not an object", in: "channels: [[]]", err: "channels[0] must be an object (a channel), not a list"},
	{name: "owner not a string", in: "owner: 12\ntargets: []", err: "owner must be a name"},
	{name: "several documents", in: "targets: []\n---\ntargets: []\n", err: "several YAML documents"},
	{name: "infinity", in: "targets: [{slo: .inf}]", err: "line 1: targets[0].slo: .inf is not a number JSON can hold; quote it"},
	{name: "custom tag", in: "targets: [!thing {a: 1}]", err: "targets[0]: the tag !thing is not supported"},
	{name: "alias bomb", in: "a: &a [1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e]\n", err: "too much"},
	{name: "recursive alias", in: "targets: &t [*t]", err: "too much"},
}

// rawList shows a parsed list as the JSON the request carries, or "absent".
func rawList(l []json.RawMessage) string {
	if l == nil {
		return "absent"
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "unmarshalable: " + err.Error()
	}
	return string(b)
}

func TestApplyParseFile(t *testing.T) {
	for _, tc := range applyFileCases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseApplyFile([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Owner != tc.owner {
				t.Errorf("owner = %q, want %q", f.Owner, tc.owner)
			}
			if got := rawList(f.Targets); got != tc.targets {
				t.Errorf("targets =\n%s\nwant\n%s", got, tc.targets)
			}
			if got := rawList(f.Channels); got != tc.channels {
				t.Errorf("channels =\n%s\nwant\n%s", got, tc.channels)
			}
		})
	}
}

// FuzzApplyFile: no input makes the parser panic, and whatever it accepts
// is objects that encode as JSON and read back the same.
func FuzzApplyFile(f *testing.F) {
	for _, tc := range applyFileCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := parseApplyFile(b)
		if err != nil {
			return
		}
		for _, l := range [][]json.RawMessage{file.Targets, file.Channels} {
			for _, o := range l {
				var m map[string]any
				if err := json.Unmarshal(o, &m); err != nil || m == nil {
					t.Fatalf("%q became %s, which is not a JSON object: %v", b, o, err)
				}
				again, err := json.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				var m2 map[string]any
				if err := json.Unmarshal(again, &m2); err != nil {
					t.Fatalf("%s does not read back: %v", again, err)
				}
			}
		}
		if _, err := json.Marshal(syncRequest{Owner: file.Owner, Targets: file.Targets, Channels: file.Channels}); err != nil {
			t.Fatalf("%q: the request does not encode: %v", b, err)
		}
	})
}
