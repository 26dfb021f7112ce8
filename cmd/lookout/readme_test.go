package main

import (
	"errors"
	"flag"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestREADMEConfigurationTable: the README's table of settings lists
// exactly the flags `lookout serve` defines, each with its environment
// variable, so the reference cannot drift from the code.
func TestREADMEConfigurationTable(t *testing.T) {
	var help strings.Builder
	if _, _, err := loadConfig("serve", []string{"--help"}, env(nil), &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatal(err)
	}
	defined := map[string]string{} // flag → environment variable
	flagLine := regexp.MustCompile(`^  -([a-z-]+)`)
	envOf := regexp.MustCompile(`\(env ([A-Z_]+)`)
	var name string
	for _, line := range strings.Split(help.String(), "\n") {
		if m := flagLine.FindStringSubmatch(line); m != nil {
			name = m[1]
			defined[name] = ""
		}
		if m := envOf.FindStringSubmatch(line); m != nil && name != "" {
			defined[name] = m[1]
		}
	}
	if len(defined) < 10 {
		t.Fatalf("read only %d flags from --help:\n%s", len(defined), help.String())
	}

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	row := regexp.MustCompile("^\\| `--([a-z-]+)` \\| `([A-Z_]+)` \\|")
	for _, line := range strings.Split(string(readme), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			documented[m[1]] = m[2]
		}
	}
	for _, f := range slices.Sorted(maps.Keys(defined)) {
		switch doc, ok := documented[f]; {
		case !ok:
			t.Errorf("--%s (env %s) is not in the README's configuration table", f, defined[f])
		case doc != defined[f]:
			t.Errorf("the README gives --%s the environment variable %s; the flag reads %s", f, doc, defined[f])
		}
	}
	for _, f := range slices.Sorted(maps.Keys(documented)) {
		if _, ok := defined[f]; !ok {
			t.Errorf("the README's configuration table lists --%s, which lookout serve does not define", f)
		}
	}
}
