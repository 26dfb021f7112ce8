package healthdoc

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.*")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("application/json", body)
	}
	f.Add("application/health+json", []byte(`{"status":"pass","checks":{"a:b":[{"status":"warn","observedValue":1}]}}`))
	f.Add("text/plain", []byte("[+]ping ok\n[-]etcd failed: x\nreadyz check failed\n"))
	f.Add("", []byte(`"ok"`))
	f.Add("application/health+json", []byte(`{"status":"pass","checks":{"a:b":[{"status":"warn"`))
	f.Add("", []byte(`{"status":"UP","components":{"db":{}}} x`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		doc, ok := parse(contentType, body)
		if !ok {
			if doc.Format != "" || doc.Components != nil {
				t.Fatalf("not ok but doc %+v", doc)
			}
			if err := malformed(contentType, body); err != nil && !utf8.ValidString(err.Error()) {
				t.Fatalf("malformed: %q is not valid UTF-8", err.Error())
			}
			return
		}
		if doc.Format == "" {
			t.Fatal("ok without a format")
		}
		if doc.Status > 3 {
			t.Fatalf("status %d", doc.Status)
		}
		if len(doc.Components) > MaxComponents {
			t.Fatalf("%d components", len(doc.Components))
		}
		seen := map[string]bool{}
		for i, c := range doc.Components {
			if c.Name == "" || len(c.Name) > MaxNameLen || !utf8.ValidString(c.Name) {
				t.Fatalf("bad name %q", c.Name)
			}
			if seen[c.Name] {
				t.Fatalf("duplicate name %q", c.Name)
			}
			seen[c.Name] = true
			if i > 0 && doc.Components[i-1].Name > c.Name {
				t.Fatalf("not sorted: %q before %q", doc.Components[i-1].Name, c.Name)
			}
			if len(c.Output) > 256 || !utf8.ValidString(c.Output) {
				t.Fatalf("bad output %q", c.Output)
			}
			if c.Status > 3 {
				t.Fatalf("component status %d", c.Status)
			}
		}
	})
}
