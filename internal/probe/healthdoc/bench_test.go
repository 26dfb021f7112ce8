package healthdoc

import (
	"os"
	"testing"
)

func BenchmarkParseSpring22(b *testing.B) {
	body, err := os.ReadFile("testdata/spring22_nested.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, ok := Parse("application/vnd.spring-boot.actuator.v3+json", body); !ok {
			b.Fatal("not recognised")
		}
	}
}
