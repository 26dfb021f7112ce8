package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The deployment files in deploy/ are checked against the binary they
// deploy: their flags and environment must load, the probes and the
// scrape path must answer on a running Lookout, and the grace each gives
// a stop must cover --shutdown-timeout plus --drain-delay.

// k8sDoc is the part of a Kubernetes object these tests read.
type k8sDoc struct {
	Kind string `yaml:"kind"`
	Spec struct {
		Template struct {
			Spec struct {
				Grace      *int64         `yaml:"terminationGracePeriodSeconds"`
				Containers []k8sContainer `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
		Ports []struct {
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
		Endpoints []struct {
			Port string `yaml:"port"`
			Path string `yaml:"path"`
		} `yaml:"endpoints"`
	} `yaml:"spec"`
}

type k8sContainer struct {
	Args []string `yaml:"args"`
	Env  []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Key string `yaml:"key"`
			} `yaml:"secretKeyRef"`
			FieldRef *struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Probes map[string]any `yaml:",inline"`
}

// probePaths are the HTTP paths of a container's probes, by probe.
func (c k8sContainer) probePaths() map[string]string {
	out := map[string]string{}
	for _, p := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
		probe, _ := c.Probes[p].(map[string]any)
		get, _ := probe["httpGet"].(map[string]any)
		if path, ok := get["path"].(string); ok {
			out[p] = path
		}
	}
	return out
}

func readK8s(t *testing.T, file string) []k8sDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "kubernetes", file))
	if err != nil {
		t.Fatal(err)
	}
	var docs []k8sDoc
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var d k8sDoc
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			return docs
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		docs = append(docs, d)
	}
}

func TestKubernetesManifests(t *testing.T) {
	t.Parallel()
	in := start(t, binary(t), filepath.Join(t.TempDir(), "lookout.db"))
	secrets := map[string]string{"db": "postgres://lookout@127.0.0.1:5432/lookout", "api-token": "s3cret"}
	for _, file := range []string{"postgres.yaml", "sqlite.yaml"} {
		t.Run(file, func(t *testing.T) {
			docs := readK8s(t, file)
			if len(docs) != 1 || len(docs[0].Spec.Template.Spec.Containers) != 1 {
				t.Fatalf("want one workload of one container, got %+v", docs)
			}
			d, c := docs[0], docs[0].Spec.Template.Spec.Containers[0]
			vars := map[string]string{}
			for _, e := range c.Env {
				switch {
				case e.ValueFrom == nil:
					vars[e.Name] = e.Value
				case e.ValueFrom.SecretKeyRef != nil:
					vars[e.Name] = secrets[e.ValueFrom.SecretKeyRef.Key]
				case e.ValueFrom.FieldRef != nil:
					vars[e.Name] = "lookout-0"
				}
			}
			if len(c.Args) == 0 || c.Args[0] != "serve" {
				t.Fatalf("args %q, want serve and its flags", c.Args)
			}
			cfg, _, err := loadConfig("serve", c.Args[1:], env(vars), io.Discard)
			if err != nil {
				t.Fatalf("the container's flags and environment do not load: %v", err)
			}
			if d.Spec.Template.Spec.Grace == nil || time.Duration(*d.Spec.Template.Spec.Grace)*time.Second < cfg.ShutdownTimeout+cfg.DrainDelay {
				t.Errorf("terminationGracePeriodSeconds %v, want at least --shutdown-timeout %s + --drain-delay %s",
					d.Spec.Template.Spec.Grace, cfg.ShutdownTimeout, cfg.DrainDelay)
			}
			if len(c.Ports) != 1 || c.Ports[0].Name != "http" || !strings.HasSuffix(cfg.Addr, ":"+strconv.Itoa(c.Ports[0].ContainerPort)) {
				t.Errorf("container ports %+v do not match --addr %s", c.Ports, cfg.Addr)
			}
			paths := c.probePaths()
			if len(paths) != 3 {
				t.Errorf("probes %v, want startup, liveness and readiness", paths)
			}
			for _, path := range paths {
				in.do(t, "GET", path, "", 200) // fails the test unless it answers 200
			}
		})
	}
	t.Run("service and monitor", func(t *testing.T) {
		svc := readK8s(t, "service.yaml")
		if len(svc) != 1 || len(svc[0].Spec.Ports) != 1 || svc[0].Spec.Ports[0].TargetPort != "http" {
			t.Errorf("the service does not target the container's http port: %+v", svc)
		}
		mon := readK8s(t, "servicemonitor.yaml")
		if len(mon) != 1 || len(mon[0].Spec.Endpoints) != 1 || mon[0].Spec.Endpoints[0].Port != "http" {
			t.Fatalf("the service monitor does not scrape the http port: %+v", mon)
		}
		if body := in.do(t, "GET", mon[0].Spec.Endpoints[0].Path, "", 200); !bytes.Contains(body, []byte("lookout_")) {
			t.Errorf("%s has no lookout_ series:\n%s", mon[0].Spec.Endpoints[0].Path, body)
		}
	})
}

// TestSystemdUnit: the unit passes systemd-analyze verify with the real
// binary in its place, its settings load, and systemd waits for a stop
// longer than the stop may take.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join("..", "..", "deploy", "systemd", "lookout.service"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	token, conf := filepath.Join(dir, "api-token"), filepath.Join(dir, "lookout.yaml")
	for _, f := range []string{token, conf} {
		if err := os.WriteFile(f, []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(conf, []byte("workers: 64\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	var args []string
	var stopTimeout time.Duration
	sc := bufio.NewScanner(bytes.NewReader(unit))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), "=")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		switch key {
		case "Environment":
			k, v, _ := strings.Cut(value, "=")
			vars[k] = strings.ReplaceAll(v, "/etc/lookout/api-token", token)
		case "ExecStart":
			fields := strings.Fields(strings.ReplaceAll(value, "/etc/lookout/lookout.yaml", conf))
			if len(fields) < 2 || fields[1] != "serve" {
				t.Fatalf("ExecStart %q, want lookout serve", value)
			}
			args = fields[2:]
		case "TimeoutStopSec":
			s, err := strconv.Atoi(value)
			if err != nil {
				t.Fatalf("TimeoutStopSec %q: %v", value, err)
			}
			stopTimeout = time.Duration(s) * time.Second
		}
	}
	cfg, _, err := loadConfig("serve", args, env(vars), io.Discard)
	if err != nil {
		t.Fatalf("the unit's settings do not load: %v", err)
	}
	if cfg.Workers != 64 || cfg.APIToken != "x" || cfg.LogFormat != "json" {
		t.Errorf("loaded workers %d, token %q, log format %q: the unit's config file and environment were not all read", cfg.Workers, cfg.APIToken, cfg.LogFormat)
	}
	if stopTimeout <= cfg.ShutdownTimeout+cfg.DrainDelay {
		t.Errorf("TimeoutStopSec %s, want more than --shutdown-timeout %s + --drain-delay %s", stopTimeout, cfg.ShutdownTimeout, cfg.DrainDelay)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit's settings were checked, its syntax was not")
	}
	verified := filepath.Join(dir, "lookout.service")
	if err := os.WriteFile(verified, bytes.ReplaceAll(unit, []byte("/usr/local/bin/lookout"), []byte(binary(t))), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", verified).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
