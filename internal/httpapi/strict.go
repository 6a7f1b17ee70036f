package httpapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/licensectl/licensectl/internal/licensing"
)

// checkFieldNames refuses what encoding/json silently accepts in a body
// decoded into a value of type t, as a validating gateway would: an object
// key that matches a field only when case is ignored ({"ALLOW_RM":true}),
// and a key given twice (where the last would win). data has decoded
// without error already.
func checkFieldNames(data []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walkValue(dec, t, ""); err != nil {
		return err
	}
	return nil
}

// walkValue reads one JSON value from dec, checking the keys of every
// object in it against t (nil: any keys, once each).
func walkValue(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) ||
		reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]())) {
		t = nil // decodes itself: only duplicates are checked
	}
	tok, err := dec.Token()
	if err != nil {
		return licensing.Errorf(licensing.EINVALID, "invalid request body: %v", err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar
	}
	switch delim {
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkValue(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case '{':
		var fields map[string]reflect.Type
		var elem reflect.Type
		switch {
		case t != nil && t.Kind() == reflect.Struct:
			fields = jsonFields(t, map[string]reflect.Type{})
		case t != nil && t.Kind() == reflect.Map:
			elem = t.Elem()
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return licensing.Errorf(licensing.EINVALID, "invalid request body: %v", err)
			}
			key, _ := tok.(string)
			name := strings.TrimPrefix(path+"."+key, ".")
			if seen[key] {
				return licensing.Errorf(licensing.EINVALID, "invalid request body: field %q appears twice", name)
			}
			seen[key] = true
			ft := elem
			if fields != nil {
				var ok bool
				if ft, ok = fields[key]; !ok {
					return unknownField(name, key, fields)
				}
			}
			if err := walkValue(dec, ft, name); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing ] or }
	if err != nil {
		return licensing.Errorf(licensing.EINVALID, "invalid request body: %v", err)
	}
	return nil
}

// unknownField refuses key, naming the field it differs from only in case.
func unknownField(name, key string, fields map[string]reflect.Type) error {
	for f := range fields {
		if strings.EqualFold(f, key) {
			return licensing.Errorf(licensing.EINVALID, "invalid request body: unknown field %q (field names are case-sensitive: %q)", name, f)
		}
	}
	return licensing.Errorf(licensing.EINVALID, "invalid request body: unknown field %q", name)
}

// jsonFields adds the JSON names of struct t's fields to out, as
// encoding/json names them: the tag's name, else the field's; untagged
// embedded structs contribute their fields, which the outer ones shadow.
func jsonFields(t reflect.Type, out map[string]reflect.Type) map[string]reflect.Type {
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := out[name]; !dup {
			out[name] = f.Type
		}
	}
	for _, e := range embedded {
		jsonFields(e, out)
	}
	return out
}
