package output

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/licensectl/licensectl/internal/licensing"
)

// AppendLicenseJSON appends l as encoding/json's Marshal would write it, byte for
// byte (field order, HTML-safe escaping, RFC 3339 times, null for nil
// pointers), without reflection or allocations. Lists of a million licenses
// and every page the server sends are made of this; Marshal spent as long on
// them as the store spent finding them. TestAppendLicenseJSON compares the two
// encoders on random licenses, so a field added to License without being
// added here fails it.
func AppendLicenseJSON(b []byte, l *licensing.License) ([]byte, error) {
	var err error
	b = append(b, `{"key":`...)
	b = appendJSONString(b, l.Key)
	b = append(b, `,"product":`...)
	b = appendJSONString(b, l.Product)
	b = append(b, `,"product_name":`...)
	b = appendJSONString(b, l.ProductName)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, l.Kind)
	b = append(b, `,"term":`...)
	b = appendJSONString(b, l.Term)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, l.Status)
	b = append(b, `,"validity":`...)
	b = appendJSONString(b, l.Validity)
	b = append(b, `,"usage":`...)
	b = appendJSONString(b, l.Usage)
	b = append(b, `,"company":`...)
	if l.Company == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, *l.Company)
	}
	b = append(b, `,"purchase_id":`...)
	b = appendJSONString(b, l.PurchaseID)
	b = append(b, `,"purchase_email":`...)
	b = appendJSONString(b, l.PurchaseEmail)
	b = append(b, `,"allow_rm":`...)
	b = strconv.AppendBool(b, l.AllowRM)
	b = append(b, `,"auto_renew":`...)
	b = strconv.AppendBool(b, l.AutoRenew)
	b = append(b, `,"expires_at":`...)
	if b, err = appendJSONTimePtr(b, l.ExpiresAt); err != nil {
		return nil, err
	}
	b = append(b, `,"maintenance":`...)
	b = appendJSONString(b, l.Maintenance)
	b = append(b, `,"maintenance_till":`...)
	if b, err = appendJSONTimePtr(b, l.MaintenanceTill); err != nil {
		return nil, err
	}
	b = append(b, `,"seats":`...)
	b = strconv.AppendInt(b, int64(l.Seats), 10)
	b = append(b, `,"seats_used":`...)
	b = strconv.AppendInt(b, int64(l.SeatsUsed), 10)
	b = append(b, `,"created_at":`...)
	if b, err = appendJSONTime(b, l.CreatedAt); err != nil {
		return nil, err
	}
	if l.RevokedAt != nil { // omitempty
		b = append(b, `,"revoked_at":`...)
		if b, err = appendJSONTime(b, *l.RevokedAt); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendJSONTimePtr(b []byte, t *time.Time) ([]byte, error) {
	if t == nil {
		return append(b, "null"...), nil
	}
	return appendJSONTime(b, *t)
}

// appendJSONTime writes what time.Time's MarshalJSON does: its AppendText
// (strict RFC 3339, an error outside years 0-9999) in quotes.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping on:
// <, > and & as \u003c..., U+2028 and U+2029 escaped, invalid UTF-8 as
// \ufffd, control characters as \b \f \n \r \t or \u00XX.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
