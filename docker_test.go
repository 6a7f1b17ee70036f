package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The container image: built from the Dockerfile and run as a user would
// run it (a volume for /data, the port published on loopback only), where a
// Docker daemon answers. Without one the test says so and skips: the image
// cannot be built here, and CI machines without a daemon cannot either.
func TestDockerImage(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("SKIP docker image test: no docker command on this machine")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("SKIP docker image test: the Docker daemon does not answer (%s)", firstLine(string(out)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	docker := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := "licensectl-test-" + hex.EncodeToString(suffix)
	if out, err := docker("build", "-q", "-t", name, "."); err != nil {
		if strings.Contains(out, "pull") || strings.Contains(out, "resolve") || strings.Contains(out, "dial tcp") {
			t.Skipf("SKIP docker image test: the base images cannot be pulled here: %s", firstLine(out))
		}
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", name).Run() })
	if user, _ := docker("image", "inspect", "-f", "{{.Config.User}}", name); user == "" || strings.HasPrefix(user, "0") || user == "root" {
		t.Errorf("the image runs as %q, want a non-root user", user)
	}
	if _, err := docker("run", "-d", "--name", name, "-p", "127.0.0.1::8080", "-v", name+":/data", name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("docker", "rm", "-f", name).Run()
		exec.Command("docker", "volume", "rm", "-f", name).Run()
	})
	port, err := docker("port", name, "8080/tcp")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + firstLine(port)
	var up bool
	for deadline := time.Now().Add(30 * time.Second); !up && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(base + "/healthz")
		up = err == nil && resp.StatusCode == 200
		if resp != nil {
			resp.Body.Close()
		}
	}
	if !up {
		logs, _ := docker("logs", name)
		t.Fatalf("serve in the container did not answer /healthz:\n%s", logs)
	}
	if out, err := docker("exec", name, "/licensectl", "healthcheck"); err != nil {
		t.Errorf("the image's health check: %v: %s", err, out)
	}
	// The store lives in the volume, and the licensectl in the image is the
	// operator's tool on it.
	if out, err := docker("exec", name, "/licensectl", "accounts", "create", "ops@example.com", "-q"); err != nil {
		t.Fatalf("accounts create: %v: %s", err, out)
	}
	out, err := docker("exec", name, "/licensectl", "--account", "ops@example.com", "accounts", "token", "create", "-o", "json")
	if err != nil {
		t.Fatalf("token create: %v: %s", err, out)
	}
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(out), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token: %v: %s", err, out)
	}
	req, _ := http.NewRequest("GET", base+"/v1/licenses?limit=5", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/licenses with the token: %v %v", resp, err)
	}
	resp.Body.Close()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
