package licensingtest

import (
	"context"
	"strings"
	"testing"

	"github.com/licensectl/licensectl/internal/licensing"
)

// A method without its Fn fails the call and names it; one with its Fn
// answers what the Fn answers.
func TestServices(t *testing.T) {
	var s Services
	if _, err := s.GetLicense(context.Background(), "K"); err == nil || !strings.Contains(err.Error(), "unexpected call to GetLicense") {
		t.Fatalf("GetLicense without GetLicenseFn: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close without CloseFn: %v", err)
	}
	s.GetLicenseFn = func(_ context.Context, key string) (*licensing.LicenseDetail, error) {
		return &licensing.LicenseDetail{License: licensing.License{Key: key}}, nil
	}
	if d, err := s.GetLicense(context.Background(), "K"); err != nil || d.Key != "K" {
		t.Fatalf("GetLicense = %+v, %v", d, err)
	}
}
