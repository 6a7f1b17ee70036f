package output

import "encoding/json"

// jsonAppender is a value with its own encoder, byte-identical to
// encoding/json's (licensing.License has one): lists of a million rows spend
// most of their encoding time in reflection otherwise.
type jsonAppender interface {
	AppendJSON(b []byte) ([]byte, error)
}

// appendJSON appends the compact JSON of v to b.
func appendJSON(b []byte, v any) ([]byte, error) {
	if a, ok := v.(jsonAppender); ok {
		return a.AppendJSON(b)
	}
	js, err := json.Marshal(v)
	return append(b, js...), err
}
