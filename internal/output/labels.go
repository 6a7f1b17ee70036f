package output

import "strings"

// labels are what a person reads for the stable tokens of JSON, CSV and YAML.
// This is the one table: every table column marked Enum, and anything else
// shown to people, looks its words up here. A token means the same thing
// wherever it appears (licenses, products, plans, activations, renewals), so
// one flat table serves them all.
var labels = map[string]string{
	// license status, validity, usage, kind
	"activated":     "Activated",
	"not_activated": "Not activated",
	"valid":         "Valid",
	"expired":       "Expired",
	"used":          "Used",
	"unused":        "Unused",
	"commercial":    "Commercial",
	"trial":         "Trial",
	// product and license terms, billing modes
	"perpetual":    "One-time",
	"one_time":     "One-time",
	"monthly":      "Monthly",
	"annual":       "Annual",
	"subscription": "Subscription",
	"addon":        "Add-on",
	"mixed":        "Mixed",
	// maintenance (of a license, of a plan)
	"active":      "Active",
	"none":        "None",
	"available":   "Available",
	"maintenance": "Maintenance",
	// activations
	"online":      "Online",
	"offline":     "Offline",
	"enabled":     "Enabled",
	"disabled":    "Disabled",
	"unsupported": "Unsupported",
	"windows":     "Windows",
	"macos":       "macOS",
	"linux":       "Linux",
	// renewals
	"renew":  "Renew",
	"expire": "End",
	// booleans (their CSV form)
	"true":  "Yes",
	"false": "No",
}

// Label is the word people read for a stable token ("not_activated" →
// "Not activated", "perpetual" → "One-time", "true" → "Yes"). A token
// without a label is shown as it is.
func Label(token string) string {
	if l, ok := labels[token]; ok {
		return l
	}
	return token
}

// Labels labels each token of a list and joins them for people: "Windows,
// macOS, Linux".
func Labels(tokens []string) string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		out[i] = Label(t)
	}
	return strings.Join(out, ", ")
}
