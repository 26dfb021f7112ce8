// Package internal_test keeps the layering rule true: a package under
// internal/ imports no sibling but internal/uptime (its own sub-packages are
// its business), and internal/uptime's code imports only the standard
// library, so that the technologies meet only in cmd/lookout.
//
// The one exception is internal/testkit, the helpers that tests share: any
// _test.go file may import it, and nothing else may, so it never reaches a
// binary; it imports only the standard library and internal/uptime.
package internal_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/lookout/lookout/"

// testkit is the import path of the shared test helpers.
const testkit = module + "internal/testkit"

func TestSiblingPackagesImportOnlyUptime(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if dir == "." {
			return nil // this test
		}
		top := strings.SplitN(dir, "/", 2)[0] // "probe" for probe/healthdoc
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		test := strings.HasSuffix(path, "_test.go")
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if top == "uptime" {
				// Its tests may use test libraries such as go-cmp; the
				// package itself stays on the standard library.
				if !test && strings.Contains(strings.SplitN(p, "/", 2)[0], ".") {
					t.Errorf("%s imports %s: internal/uptime must use the standard library only", path, p)
				}
				continue
			}
			rest, ok := strings.CutPrefix(p, module)
			if top == "testkit" && !test {
				if strings.Contains(strings.SplitN(p, "/", 2)[0], ".") && rest != "internal/uptime" {
					t.Errorf("%s imports %s: internal/testkit may import only the standard library and internal/uptime", path, p)
				}
				continue
			}
			if !ok {
				continue
			}
			switch {
			case rest == "internal/uptime":
			case strings.HasPrefix(rest, "internal/"+top+"/") || rest == "internal/"+top:
			case rest == "migrations" && top == "store":
			case p == testkit && test:
			default:
				t.Errorf("%s imports %s: packages under internal/ may import only internal/uptime among their siblings; pass collaborators in from cmd/lookout", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		wd, _ := os.Getwd()
		t.Fatalf("no Go files found under %s", wd)
	}
}

// TestOnlyTestsImportTestkit walks the whole module: no file that is built
// into a binary may import internal/testkit.
func TestOnlyTestsImportTestkit(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != ".." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == testkit {
				t.Errorf("%s imports %s: only _test.go files may", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no Go files found in the module")
	}
}
