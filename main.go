// Command licensectl manages software licenses, maintenance plans and
// activations. See README.md and docs/.
package main

import (
	"github.com/licensectl/licensectl/cmd"
	"github.com/licensectl/licensectl/internal/licensing"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	cmd.Main(cmd.BuildInfo{Version: version, Commit: commit, Date: date}, licensing.SystemClock{})
}
