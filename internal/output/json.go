package output

import (
	"encoding/json"

	"github.com/licensectl/licensectl/internal/licensing"
)

// appendJSON appends the compact JSON of v to b. Licenses have their own
// encoder, byte-identical to encoding/json's: lists of a million rows spend
// most of their encoding time in reflection otherwise.
func appendJSON(b []byte, v any) ([]byte, error) {
	if l, ok := v.(*licensing.License); ok {
		return AppendLicenseJSON(b, l)
	}
	js, err := json.Marshal(v)
	return append(b, js...), err
}
