package licensing

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// FoldName is the form in which names are compared: company names for
// uniqueness, --company and --search, machine names for --machine and
// --search. It is the NFC form under full Unicode case folding ("ZÜRICH AG",
// "Zürich AG" and a decomposed "Zu\u0308rich AG" fold alike; "Straße" folds to
// "strasse"). Folding is not accent stripping: "zurich" stays another name.
// Surrounding spaces do not count, as names are stored trimmed. Every store
// writes the folded form beside the name and compares that, so SQLite and
// PostgreSQL agree without relying on a collation.
func FoldName(s string) string {
	return norm.NFC.String(cases.Fold().String(norm.NFC.String(strings.TrimSpace(s))))
}

// NormalizeCompanyName validates a company name (1 to 100 visible
// characters, trimmed) and returns it in NFC form.
func NormalizeCompanyName(s string) (string, error) {
	return normalizeName("company name", s, 100)
}

// NormalizeMachineName validates a machine name (1 to 200 visible
// characters, trimmed) and returns it in NFC form.
func NormalizeMachineName(s string) (string, error) {
	return normalizeName("machine name", s, 200)
}

// normalizeName is the check names of people's things share: no control
// characters, and none of the invisible or direction-changing ones
// (zero-width spaces, bidi overrides, soft hyphens, byte order marks, line
// and paragraph separators) that would let two names look alike in a table.
func normalizeName(what, s string, maxRunes int) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", Errorf(EINVALID, "%s is empty", what)
	case !utf8.ValidString(s) || hasControl(s):
		return "", Errorf(EINVALID, "%s %q contains control characters", what, clip(s))
	case strings.ContainsFunc(s, invisible):
		return "", Errorf(EINVALID, "%s %q contains invisible formatting characters", what, clip(s))
	}
	s = norm.NFC.String(s)
	if utf8.RuneCountInString(s) > maxRunes {
		return "", Errorf(EINVALID, "%s is longer than %d characters", what, maxRunes)
	}
	return s, nil
}

// invisible reports format characters (Cf: U+200B, U+202E, U+00AD, U+FEFF,
// ...) and the line and paragraph separators (U+2028, U+2029).
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}
