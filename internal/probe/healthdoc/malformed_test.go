package healthdoc

import (
	"strings"
	"testing"
)

// A body that presents itself as a health document, by its Content-Type
// or by how it starts, but cannot be read as one says why; any other body
// that is not a health document is simply not one.
func TestMalformed(t *testing.T) {
	const health = "application/health+json"
	tests := []struct {
		name, ct, body string
		want           string // a substring of the error; "" for none
	}{
		{"truncated, claimed", health, `{"status":"pass","checks":{`, "ends before the document does"},
		{"truncated spring", "", `{"status":"UP","components":{"db":{"status":"UP"}`, "ends before the document does"},
		{"truncated, any case", "", `{"Status":"UP"`, "ends before the document does"},
		{"bad value", "", `{"status": UP}`, "invalid JSON at byte 12: invalid character 'U'"},
		{"microprofile cut", "", `{"outcome":"UP","checks":[{"name":"db"`, "ends before"},
		{"trailing data", "", `{"status":"UP"} {"status":"DOWN"}`, "data follows the JSON object"},
		{"trailing garbage", "", `{"status":"UP"} x`, "data follows the JSON object"},
		{"claimed without a status", health, `{"foo":1}`, `no "status" Lookout recognises`},
		{"claimed with a status of no meaning", health, `{"status":"banana"}`, `no "status"`},
		{"claimed, not json", health, `<html>oops</html>`, "not a JSON object"},
		{"claimed, an array", health, `[{"status":"pass"}]`, "not a JSON object"},
		{"claimed, empty", health, " \n", "empty"},
		{"actuator type", "application/vnd.spring-boot.actuator.v3+json", `{"status":"UP",`, "ends before"},
		{"k8s with a stray line", "text/plain", "[+]ping ok\nsomething else\n", "line 2 is neither"},
		{"k8s with a nameless check", "", "[+] ok\n", "line 1 names no check"},

		{"other json, cut", "", `{"message":"hi"`, ""},
		{"status not at the top", "", `{"data":{"status":"UP"},`, ""},
		{"other json", "application/json", `{"status":404,"message":"Not Found"}`, ""},
		{"html", "text/html", `<html>fine</html>`, ""},
		{"text", "text/plain", "Service is running fine", ""},
		{"empty", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := Parse(tt.ct, []byte(tt.body)); ok {
				t.Fatalf("Parse recognised %q", tt.body)
			}
			err := Malformed(tt.ct, []byte(tt.body))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Malformed = %q, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Malformed = %v, want %q", err, tt.want)
			}
		})
	}
}
