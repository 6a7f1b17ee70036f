// Command hellocli is the start-up baseline for bench/run: a Go binary that
// prints one line and exits, so the difference to `licensectl version` is
// what licensectl itself does before its first output.
package main

import "os"

func main() {
	os.Stdout.WriteString("hello\n")
}
