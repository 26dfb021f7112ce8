package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// shortLived is a self-signed certificate for 127.0.0.1 that expires after d.
func shortLived(t *testing.T, d time.Duration) (tls.Certificate, time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	notAfter := time.Now().Add(d).Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "shop.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, notAfter
}

// TestCertificateExpiryWarning registers an https target whose certificate
// expires in 6 days: the channel hears one certificate.expiring warning
// (the 7-day threshold), the target's state shows the expiry, and a
// restart does not warn again.
func TestCertificateExpiryWarning(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	rc, hookURL, secret := webhookSink(t)
	cert, expiry := shortLived(t, 6*24*time.Hour-time.Hour)
	shop := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	shop.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	shop.StartTLS()
	defer shop.Close()

	db := filepath.Join(t.TempDir(), "lookout.db")
	in := start(t, bin, db)
	in.do(t, "POST", "/api/v1/channels", `{"name":"ops","kind":"webhook","url":"`+hookURL+`","secret":"`+secret+`","default":true,"group_wait":"30s"}`, http.StatusCreated)
	in.do(t, "PUT", "/api/v1/targets/shop", `{"url":"`+shop.URL+`","interval":"1s",
		"http":{"tls_skip_verify":true},"tls_expiry_warn":[30,7,1]}`, http.StatusCreated)

	// group_wait is for outages: a warning goes out at once.
	warned := waitMessage(t, rc, "certificate.expiring", in.logs.String)
	if warned.Data["target"] != "shop" || warned.Data["days_left"] != float64(6) ||
		warned.Data["expires_at"] != expiry.UTC().Format(time.RFC3339) ||
		warned.Data["message"] != "certificate expires in 6 days ("+expiry.UTC().Format(time.DateOnly)+")" {
		t.Errorf("warning data %+v, want shop's certificate, 6 days left, expiring %s", warned.Data, expiry.UTC())
	}

	var got struct {
		State struct {
			Status     string    `json:"status"`
			CertExpiry time.Time `json:"cert_expiry"`
			CertWarned int       `json:"cert_warned"`
		} `json:"state"`
	}
	mustJSON(t, in.do(t, "GET", "/api/v1/targets/shop", "", 200), &got)
	if got.State.Status != "up" || !got.State.CertExpiry.Equal(expiry) || got.State.CertWarned != 7 {
		t.Errorf("target state %+v, want up, cert_expiry %s, cert_warned 7", got.State, expiry.UTC())
	}

	// The warning is remembered across a restart: checks go on, no repeat.
	// A repeat would be due at once, in the outbox with the check that
	// raised it, so once nothing is pending it would have been sent.
	in.stop(t)
	in = start(t, bin, db)
	n := len(in.results(t, "shop"))
	in.waitResults(t, "shop", n+2)
	in.settled(t, "certificate.expiring")
	in.stop(t)
	count := 0
	for _, m := range rc.Messages(t) {
		if m.Type == "certificate.expiring" {
			count++
		}
	}
	if count != 1 {
		b, _ := json.Marshal(rc.Messages(t))
		t.Errorf("%d certificate warnings, want 1: %s", count, b)
	}
}
