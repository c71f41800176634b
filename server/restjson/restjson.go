// Package restjson is the JSON mapping of Tickiti's REST API and of the
// bodies of its epilog webhook calls.
//
// It exists because protojson does not fit the wire contract on two points:
//
//   - protojson writes 64-bit integers as JSON strings, but ids (ticket_id,
//     ticket_number, response_id, ...) must be JSON numbers;
//   - protojson output is deliberately unstable (it adds random whitespace),
//     but an idempotent replay must return the very same bytes.
//
// Marshal therefore walks the message itself. Decoding stays with protojson,
// after a check that no number in the body would silently lose precision.
package restjson

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Marshal writes m as compact JSON. Fields use their proto names and come in
// field-number order; 64-bit integers are JSON numbers; enums are their value
// names; bytes are standard base64; map keys are sorted. As with protojson's
// EmitDefaultValues, fields without presence are always written (0, false,
// "", [], {}) and fields with presence (optional, oneof members, messages)
// only when set. Well-known types (google.protobuf.*) are written by
// protojson, so a Struct stays a natural JSON object and a Timestamp an
// RFC 3339 string. Extensions and unknown fields are not written.
func Marshal(m proto.Message) ([]byte, error) {
	e := newEncoder()
	if err := e.message(m.ProtoReflect()); err != nil {
		return nil, err
	}
	return e.buf.Bytes(), nil
}

// encoder appends JSON to buf. str encodes strings into that same buffer.
type encoder struct {
	buf bytes.Buffer
	str *json.Encoder
}

func newEncoder() *encoder {
	e := &encoder{}
	e.str = json.NewEncoder(&e.buf)
	// Integrators compare and display these strings; "<" must stay "<".
	e.str.SetEscapeHTML(false)
	return e
}

func (e *encoder) message(m protoreflect.Message) error {
	if strings.HasPrefix(string(m.Descriptor().FullName()), "google.protobuf.") {
		return e.wellKnown(m)
	}
	fields := m.Descriptor().Fields()
	ordered := make([]protoreflect.FieldDescriptor, fields.Len())
	for i := range ordered {
		ordered[i] = fields.Get(i)
	}
	// Declaration order usually is number order, but not always.
	slices.SortFunc(ordered, func(a, b protoreflect.FieldDescriptor) int {
		return int(a.Number() - b.Number())
	})
	e.buf.WriteByte('{')
	first := true
	for _, fd := range ordered {
		if fd.HasPresence() && !m.Has(fd) {
			continue
		}
		if !first {
			e.buf.WriteByte(',')
		}
		first = false
		if err := e.string(string(fd.Name())); err != nil {
			return err
		}
		e.buf.WriteByte(':')
		if err := e.field(fd, m.Get(fd)); err != nil {
			return fmt.Errorf("%s: %w", fd.FullName(), err)
		}
	}
	e.buf.WriteByte('}')
	return nil
}

// wellKnown writes m with protojson, whose mapping of these types is the
// natural one, then strips the random whitespace protojson adds on purpose.
func (e *encoder) wellKnown(m protoreflect.Message) error {
	b, err := protojson.MarshalOptions{}.Marshal(m.Interface())
	if err != nil {
		return err
	}
	return json.Compact(&e.buf, b)
}

func (e *encoder) field(fd protoreflect.FieldDescriptor, v protoreflect.Value) error {
	switch {
	case fd.IsList():
		list := v.List()
		e.buf.WriteByte('[')
		for i := range list.Len() {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			if err := e.single(fd, list.Get(i)); err != nil {
				return err
			}
		}
		e.buf.WriteByte(']')
		return nil
	case fd.IsMap():
		return e.mapField(fd, v.Map())
	default:
		return e.single(fd, v)
	}
}

// mapField writes a map as an object with sorted keys, so equal maps give
// equal bytes. Integer keys sort by value, as in protojson.
func (e *encoder) mapField(fd protoreflect.FieldDescriptor, mp protoreflect.Map) error {
	keys := make([]protoreflect.MapKey, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	slices.SortFunc(keys, func(a, b protoreflect.MapKey) int {
		switch a.Interface().(type) {
		case int32, int64:
			return cmp.Compare(a.Int(), b.Int())
		case uint32, uint64:
			return cmp.Compare(a.Uint(), b.Uint())
		default: // strings, and bools since "false" < "true"
			return strings.Compare(a.String(), b.String())
		}
	})
	e.buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		if err := e.string(k.String()); err != nil {
			return err
		}
		e.buf.WriteByte(':')
		if err := e.single(fd.MapValue(), mp.Get(k)); err != nil {
			return err
		}
	}
	e.buf.WriteByte('}')
	return nil
}

// single writes one value of fd's kind: a singular field, a list element or
// a map value.
func (e *encoder) single(fd protoreflect.FieldDescriptor, v protoreflect.Value) error {
	b := e.buf.AvailableBuffer()
	switch fd.Kind() {
	case protoreflect.BoolKind:
		b = strconv.AppendBool(b, v.Bool())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		b = strconv.AppendInt(b, v.Int(), 10) // the point of this package
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		b = strconv.AppendUint(b, v.Uint(), 10)
	case protoreflect.FloatKind:
		b = appendFloat(b, v.Float(), 32)
	case protoreflect.DoubleKind:
		b = appendFloat(b, v.Float(), 64)
	case protoreflect.StringKind:
		return e.string(v.String())
	case protoreflect.BytesKind:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.Bytes())
		b = append(b, '"')
	case protoreflect.EnumKind:
		b = appendEnum(b, fd.Enum(), v.Enum())
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return e.message(v.Message())
	default:
		return fmt.Errorf("unsupported field kind %v", fd.Kind())
	}
	e.buf.Write(b)
	return nil
}

// string writes s escaped like encoding/json, minus its HTML escaping.
// Invalid UTF-8 is refused, as protojson does, rather than altered.
func (e *encoder) string(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("invalid UTF-8 in string %q", s)
	}
	if err := e.str.Encode(s); err != nil {
		return err
	}
	e.buf.Truncate(e.buf.Len() - 1) // Encode ends every value with "\n"
	return nil
}

// appendFloat formats n exactly as protojson does.
func appendFloat(b []byte, n float64, bitSize int) []byte {
	switch {
	case math.IsNaN(n):
		return append(b, `"NaN"`...)
	case math.IsInf(n, +1):
		return append(b, `"Infinity"`...)
	case math.IsInf(n, -1):
		return append(b, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(n); abs != 0 {
		if bitSize == 64 && (abs < 1e-6 || abs >= 1e21) ||
			bitSize == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, n, format, -1, bitSize)
	if format == 'e' { // 1e-07 becomes 1e-7
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendEnum writes an enum value's name, as protojson does: null for
// google.protobuf.NullValue, the bare number for a value without a name.
func appendEnum(b []byte, ed protoreflect.EnumDescriptor, n protoreflect.EnumNumber) []byte {
	if ed.FullName() == "google.protobuf.NullValue" {
		return append(b, "null"...)
	}
	if ev := ed.Values().ByNumber(n); ev != nil {
		return strconv.AppendQuote(b, string(ev.Name())) // names are plain ASCII
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// SyntaxError reports a body that is not valid JSON or does not fit the
// message: a syntax error, a top level that is not an object, trailing data,
// a value of the wrong type.
type SyntaxError struct {
	Err error
}

func (e *SyntaxError) Error() string {
	// protojson prefixes "proto:" (then a space or, at random, a no-break
	// space) and "(line 1:9): ". Both are noise for an integrator.
	msg := strings.TrimPrefix(e.Err.Error(), "proto:")
	msg = strings.TrimLeft(msg, " \u00a0")
	if strings.HasPrefix(msg, "(line ") {
		if _, rest, ok := strings.Cut(msg, "): "); ok {
			msg = rest
		}
	}
	return msg
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// NumberError reports a JSON number that an IEEE-754 double cannot keep
// exactly. Path is the number's place in the body, e.g. "data.items[2].price".
type NumberError struct {
	Path    string
	Literal string
}

func (e *NumberError) Error() string {
	return fmt.Sprintf("%s: the number %s cannot be kept exactly; send it as a string", e.Path, e.Literal)
}

// maxDepth bounds the nesting the number check follows; protojson refuses
// deeper bodies anyway.
const maxDepth = 10000

// Unmarshal reads the JSON object data into m with protojson, ignoring
// unknown fields so that integrators may send extra ones. It first checks
// that data is a single JSON object and that every number in it survives a
// round trip through a double, since google.protobuf.Struct keeps numbers as
// doubles and would otherwise silently change, say, 12345678901234567890.
// Errors are *SyntaxError or *NumberError.
func Unmarshal(data []byte, m proto.Message) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keep each number's literal
	tok, err := dec.Token()
	if err == io.EOF {
		return &SyntaxError{errors.New("the body is empty; a JSON object is required")}
	}
	if err != nil {
		return &SyntaxError{err}
	}
	if tok != json.Delim('{') {
		return &SyntaxError{errors.New("the body must be a JSON object")}
	}
	if err := checkValue(dec, tok, "", 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return &SyntaxError{errors.New("unexpected data after the JSON object")}
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, m); err != nil {
		return &SyntaxError{err}
	}
	return nil
}

// checkValue checks the numbers of the JSON value that begins with tok,
// reading the rest of it from dec. path is the value's place in the body.
func checkValue(dec *json.Decoder, tok json.Token, path string, depth int) error {
	if depth > maxDepth {
		return &SyntaxError{errors.New("the body is nested too deeply")}
	}
	switch tok := tok.(type) {
	case json.Number:
		if !exact(string(tok)) {
			return &NumberError{Path: path, Literal: string(tok)}
		}
	case json.Delim: // '{' or '['; Token never returns a closing one here
		for i := 0; dec.More(); i++ {
			var elem string
			if tok == '[' {
				elem = fmt.Sprintf("%s[%d]", path, i)
			} else {
				key, err := token(dec)
				if err != nil {
					return err
				}
				elem = key.(string) // Token has checked that keys are strings
				if path != "" {
					elem = path + "." + elem
				}
			}
			next, err := token(dec)
			if err != nil {
				return err
			}
			if err := checkValue(dec, next, elem, depth+1); err != nil {
				return err
			}
		}
		if _, err := token(dec); err != nil { // the closing delimiter
			return err
		}
	}
	return nil
}

// token reads the next token inside a value, where the end of the body is
// an error.
func token(dec *json.Decoder) (json.Token, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		return nil, &SyntaxError{errors.New("unexpected end of JSON input")}
	}
	if err != nil {
		return nil, &SyntaxError{err}
	}
	return tok, nil
}

// exact reports whether the JSON number literal equals, as a rational
// number, the shortest decimal form of the double nearest to it; that is,
// whether a double keeps it exactly. 0.1 is exact in this sense: it comes
// back as 0.1.
func exact(literal string) bool {
	f, err := strconv.ParseFloat(literal, 64)
	if err != nil { // out of range; also spares big.Rat a huge exponent
		return false
	}
	if f == 0 {
		// Only a zero literal is exactly zero; this also spares big.Rat
		// tiny exponents such as 1e-999999.
		mantissa, _, _ := strings.Cut(strings.ToLower(literal), "e")
		return strings.Trim(mantissa, "-0.") == ""
	}
	want, ok := new(big.Rat).SetString(literal)
	if !ok {
		return false
	}
	got, _ := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
	return want.Cmp(got) == 0
}
