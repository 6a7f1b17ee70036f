package licensing

import (
	"strconv"
	"strings"
)

// RMMinVersion is the first product version whose activations honour the
// Allow RM switch.
const RMMinVersion = "5.2"

// SupportsRM reports whether a product version ("MAJOR.MINOR[.PATCH]",
// optionally prefixed with "v") supports remote management, i.e. is 5.2 or
// newer. Versions are compared as numbers ("5.10" is newer than "5.2"); an
// unreadable version supports nothing.
func SupportsRM(version string) bool {
	return versionAtLeast(version, 5, 2)
}

func versionAtLeast(version string, major, minor int) bool {
	parts := strings.SplitN(strings.TrimPrefix(strings.TrimSpace(version), "v"), ".", 3)
	maj, err := strconv.Atoi(parts[0])
	if err != nil || maj < 0 {
		return false
	}
	minr := 0
	if len(parts) > 1 {
		// A pre-release or build suffix ("2-beta") does not make the minor unreadable.
		digits := parts[1]
		if i := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			digits = digits[:i]
		}
		if minr, err = strconv.Atoi(digits); err != nil {
			return false
		}
	}
	return maj > major || maj == major && minr >= minor
}
