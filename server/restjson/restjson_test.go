package restjson

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	tickitiv1 "github.com/tickiti/tickiti/gen/tickiti/v1"
)

// kindsDescriptor builds, at run time, a proto3 message with a field of
// every kind the generated messages lack. Fields are declared out of number
// order on purpose.
func kindsDescriptor(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	field := func(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type, typeName string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{
			Name:     proto.String(name),
			JsonName: proto.String(name),
			Number:   proto.Int32(num),
			Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			Type:     typ.Enum(),
		}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	repeated := func(f *descriptorpb.FieldDescriptorProto) *descriptorpb.FieldDescriptorProto {
		f.Label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
		return f
	}
	inOneof := func(f *descriptorpb.FieldDescriptorProto, index int32, synthetic bool) *descriptorpb.FieldDescriptorProto {
		f.OneofIndex = proto.Int32(index)
		f.Proto3Optional = proto.Bool(synthetic)
		return f
	}
	entry := func(name string, key, value descriptorpb.FieldDescriptorProto_Type) *descriptorpb.DescriptorProto {
		return &descriptorpb.DescriptorProto{
			Name:    proto.String(name),
			Field:   []*descriptorpb.FieldDescriptorProto{field("key", 1, key, ""), field("value", 2, value, "")},
			Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
		}
	}
	const (
		i32  = descriptorpb.FieldDescriptorProto_TYPE_INT32
		i64  = descriptorpb.FieldDescriptorProto_TYPE_INT64
		str  = descriptorpb.FieldDescriptorProto_TYPE_STRING
		boo  = descriptorpb.FieldDescriptorProto_TYPE_BOOL
		enum = descriptorpb.FieldDescriptorProto_TYPE_ENUM
		msg  = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	)
	file := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("restjson_test/kinds.proto"),
		Package:    proto.String("restjson.test"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"google/protobuf/struct.proto"},
		EnumType: []*descriptorpb.EnumDescriptorProto{{
			Name: proto.String("Color"),
			Value: []*descriptorpb.EnumValueDescriptorProto{
				{Name: proto.String("COLOR_UNSPECIFIED"), Number: proto.Int32(0)},
				{Name: proto.String("RED"), Number: proto.Int32(1)},
			},
		}},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Kinds"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("later", 16, str, ""),
				field("i32", 1, i32, ""),
				field("s64", 2, descriptorpb.FieldDescriptorProto_TYPE_SINT64, ""),
				field("sf64", 3, descriptorpb.FieldDescriptorProto_TYPE_SFIXED64, ""),
				field("u64", 4, descriptorpb.FieldDescriptorProto_TYPE_UINT64, ""),
				field("f64", 5, descriptorpb.FieldDescriptorProto_TYPE_FIXED64, ""),
				field("u32", 6, descriptorpb.FieldDescriptorProto_TYPE_UINT32, ""),
				field("f", 7, descriptorpb.FieldDescriptorProto_TYPE_FLOAT, ""),
				field("d", 8, descriptorpb.FieldDescriptorProto_TYPE_DOUBLE, ""),
				field("b", 9, boo, ""),
				field("raw", 10, descriptorpb.FieldDescriptorProto_TYPE_BYTES, ""),
				field("color", 11, enum, ".restjson.test.Color"),
				repeated(field("ids", 12, i64, "")),
				repeated(field("counts", 13, msg, ".restjson.test.Kinds.CountsEntry")),
				repeated(field("names", 14, msg, ".restjson.test.Kinds.NamesEntry")),
				inOneof(field("opt", 15, i64, ""), 1, true),
				inOneof(field("pick_a", 17, str, ""), 0, false),
				inOneof(field("pick_b", 18, i64, ""), 0, false),
				field("nothing", 19, enum, ".google.protobuf.NullValue"),
				repeated(field("flags", 20, msg, ".restjson.test.Kinds.FlagsEntry")),
				repeated(field("doubles", 21, descriptorpb.FieldDescriptorProto_TYPE_DOUBLE, "")),
			},
			NestedType: []*descriptorpb.DescriptorProto{
				entry("CountsEntry", str, i64),
				entry("NamesEntry", i32, str),
				entry("FlagsEntry", boo, boo),
			},
			OneofDecl: []*descriptorpb.OneofDescriptorProto{
				{Name: proto.String("pick")},
				{Name: proto.String("_opt")},
			},
		}},
	}
	fd, err := protodesc.NewFile(file, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().ByName("Kinds")
}

// set assigns the fields of a dynamic message by name.
func set(t *testing.T, m *dynamicpb.Message, values map[string]any) {
	t.Helper()
	fields := m.Descriptor().Fields()
	for name, v := range values {
		fd := fields.ByName(protoreflect.Name(name))
		if fd == nil {
			t.Fatalf("no field %s", name)
		}
		switch v := v.(type) {
		case []int64:
			list := m.Mutable(fd).List()
			for _, x := range v {
				list.Append(protoreflect.ValueOfInt64(x))
			}
		case []float64:
			list := m.Mutable(fd).List()
			for _, x := range v {
				list.Append(protoreflect.ValueOfFloat64(x))
			}
		case map[string]int64:
			mp := m.Mutable(fd).Map()
			for k, x := range v {
				mp.Set(protoreflect.ValueOfString(k).MapKey(), protoreflect.ValueOfInt64(x))
			}
		case map[int32]string:
			mp := m.Mutable(fd).Map()
			for k, x := range v {
				mp.Set(protoreflect.ValueOfInt32(k).MapKey(), protoreflect.ValueOfString(x))
			}
		case map[bool]bool:
			mp := m.Mutable(fd).Map()
			for k, x := range v {
				mp.Set(protoreflect.ValueOfBool(k).MapKey(), protoreflect.ValueOfBool(x))
			}
		default:
			m.Set(fd, protoreflect.ValueOf(v))
		}
	}
}

func mustStruct(t *testing.T, v map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMarshal(t *testing.T) {
	kinds := kindsDescriptor(t)
	dynamic := func(values map[string]any) proto.Message {
		m := dynamicpb.NewMessage(kinds)
		set(t, m, values)
		return m
	}
	created := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

	tests := []struct {
		name string
		in   proto.Message
		want string
	}{
		{
			name: "create ticket response: ids are numbers",
			in: &tickitiv1.CreateTicketResponse{
				TicketId: 1, TicketNumber: 100001, Intervention: "discount_request", Uid: "u", Status: "open",
			},
			want: `{"ticket_id":1,"ticket_number":100001,"intervention":"discount_request","uid":"u","status":"open"}`,
		},
		{
			name: "zero values of fields without presence are written",
			in:   &tickitiv1.CreateTicketResponse{},
			want: `{"ticket_id":0,"ticket_number":0,"intervention":"","uid":"","status":""}`,
		},
		{
			name: "int64 beyond 2^53 stays exact",
			in:   &tickitiv1.CreateTicketResponse{TicketId: 9007199254740993, TicketNumber: math.MinInt64},
			want: `{"ticket_id":9007199254740993,"ticket_number":-9223372036854775808,"intervention":"","uid":"","status":""}`,
		},
		{
			name: "HTML characters are not escaped",
			in:   &tickitiv1.CreateTicketResponse{Uid: `<script>alert("x&y")</script>`, Status: "tab\there\nline\u2028é"},
			want: `{"ticket_id":0,"ticket_number":0,"intervention":"","uid":"<script>alert(\"x&y\")</script>","status":"tab\there\nline\u2028é"}`,
		},
		{
			name: "epilog request with a data bag",
			in: &tickitiv1.EpilogRequest{
				TicketId: 7, ResponseId: 9007199254740993, Uid: "order-1", Intervention: "refund", Action: "submit",
				Data: mustStruct(t, map[string]any{
					"zeta": "<b>", "amount": 95.5, "count": 100.0, "ok": true, "none": nil,
					"items": []any{"a", 1.0, map[string]any{"b": false}},
				}),
			},
			want: `{"ticket_id":7,"response_id":9007199254740993,"uid":"order-1","intervention":"refund","action":"submit",` +
				`"data":{"amount":95.5,"count":100,"items":["a",1,{"b":false}],"none":null,"ok":true,"zeta":"<b>"}}`,
		},
		{
			name: "epilog request without a data bag omits it",
			in:   &tickitiv1.EpilogRequest{TicketId: 7},
			want: `{"ticket_id":7,"response_id":0,"uid":"","intervention":"","action":""}`,
		},
		{
			name: "epilog response: unset optional fields are omitted",
			in:   &tickitiv1.EpilogResponse{Ok: proto.Bool(true)},
			want: `{"ok":true,"message":""}`,
		},
		{
			name: "epilog response: set optional fields are written, zero or not",
			in: &tickitiv1.EpilogResponse{
				TicketId: proto.Int64(0), Uid: proto.String("u"), Intervention: proto.String(""),
				Final:   &tickitiv1.EpilogFinal{ResponseId: 12, TicketAudit: "ok", RemoteReference: "R-1"},
				Message: "done",
			},
			want: `{"ticket_id":0,"uid":"u","intervention":"",` +
				`"final":{"response_id":12,"ticket_audit":"ok","remote_reference":"R-1"},"message":"done"}`,
		},
		{
			name: "ticket: nested messages, repeated, Timestamp, Value",
			in: &tickitiv1.Ticket{
				Id: 3, Number: 100003, Status: "open", Queue: "support",
				Originator: &tickitiv1.Contact{EmailAddress: "c@example.com"},
				Responses: []*tickitiv1.Response{
					{Id: 10, Author: &tickitiv1.Author{Kind: "system", Name: "Tickiti"}, Content: "hi", CreateTime: timestamppb.New(created)},
					{Id: 11, Internal: true},
				},
				Intervention: &tickitiv1.InterventionPayload{
					Name: "refund", Status: "open",
					Fields: []*tickitiv1.PayloadField{
						{Type: "text", Name: "amount", Label: "Amount", Value: structpb.NewNumberValue(12.5)},
						{Type: "checkbox", Name: "gone", Label: "Gone", Value: structpb.NewNullValue()},
					},
					Data: mustStruct(t, map[string]any{"amount": 12.5}),
					Delivery: &tickitiv1.Delivery{
						Id: 4, DeliveryId: "d-4", ResponseId: 11, State: "pending", Attempts: 2,
						NextAttemptTime: timestamppb.New(created.Add(1500 * time.Millisecond)),
					},
				},
				CreateTime: timestamppb.New(created),
			},
			want: `{"id":3,"number":100003,"status":"open","queue":"support","originator":{"email_address":"c@example.com"},` +
				`"responses":[{"id":10,"internal":false,"author":{"kind":"system","name":"Tickiti","email":""},"content":"hi","audit":"","create_time":"2025-03-04T05:06:07Z"},` +
				`{"id":11,"internal":true,"content":"","audit":""}],` +
				`"intervention":{"name":"refund","title":"","uid":"","status":"open",` +
				`"fields":[{"type":"text","name":"amount","label":"Amount","value":12.5,"required":false,"help":"","options":[]},{"type":"checkbox","name":"gone","label":"Gone","value":null,"required":false,"help":"","options":[]}],` +
				`"data":{"amount":12.5},"remote_reference":"","remote_message":"",` +
				`"delivery":{"id":4,"delivery_id":"d-4","response_id":11,"state":"pending","attempts":2,"last_error":"","next_attempt_time":"2025-03-04T05:06:08.500Z",` +
				`"ticket_number":0,"intervention":"","redeliveries":0,"attempt_log":[]}},` +
				`"create_time":"2025-03-04T05:06:07Z"}`,
		},
		{
			name: "ticket without responses writes an empty array",
			in:   &tickitiv1.Ticket{Id: 1},
			want: `{"id":1,"number":0,"status":"","queue":"","responses":[]}`,
		},
		{
			name: "well-known types at the top level",
			in:   mustStruct(t, map[string]any{"b": 1.0, "a": "<x>"}),
			want: `{"a":"<x>","b":1}`,
		},
		{
			name: "Timestamp at the top level",
			in:   timestamppb.New(created),
			want: `"2025-03-04T05:06:07Z"`,
		},
		{
			name: "Duration at the top level",
			in:   durationpb.New(1500 * time.Millisecond),
			want: `"1.500s"`,
		},
		{
			name: "wrappers keep protojson's mapping, so Int64Value is a string",
			in:   wrapperspb.Int64(5),
			want: `"5"`,
		},
		{
			name: "every kind, all zero",
			in:   dynamic(nil),
			want: `{"i32":0,"s64":0,"sf64":0,"u64":0,"f64":0,"u32":0,"f":0,"d":0,"b":false,"raw":"","color":"COLOR_UNSPECIFIED",` +
				`"ids":[],"counts":{},"names":{},"later":"","nothing":null,"flags":{},"doubles":[]}`,
		},
		{
			name: "every kind, set",
			in: dynamic(map[string]any{
				"i32": int32(-5), "s64": int64(-9007199254740993), "sf64": int64(math.MaxInt64),
				"u64": uint64(math.MaxUint64), "f64": uint64(1 << 60), "u32": uint32(math.MaxUint32),
				"f": float32(0.1), "d": 1e21, "b": true, "raw": []byte{0xff, 0x00, 'a'},
				"color": protoreflect.EnumNumber(1), "ids": []int64{3, 1, 2},
				"counts": map[string]int64{"b": 2, "a": 1, "é": 3}, "names": map[int32]string{10: "ten", -1: "minus", 2: "two"},
				"opt": int64(0), "pick_b": int64(9), "later": "x", "flags": map[bool]bool{true: true, false: false},
				"doubles": []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 1e-7, 123456789.125, 1e20},
			}),
			want: `{"i32":-5,"s64":-9007199254740993,"sf64":9223372036854775807,"u64":18446744073709551615,"f64":1152921504606846976,` +
				`"u32":4294967295,"f":0.1,"d":1e+21,"b":true,"raw":"/wBh","color":"RED",` +
				`"ids":[3,1,2],"counts":{"a":1,"b":2,"é":3},"names":{"-1":"minus","2":"two","10":"ten"},"opt":0,"later":"x","pick_b":9,` +
				`"nothing":null,"flags":{"false":false,"true":true},` +
				`"doubles":["NaN","Infinity","-Infinity",-0,1e-7,123456789.125,100000000000000000000]}`,
		},
		{
			name: "an enum number without a name is written as the number",
			in:   dynamic(map[string]any{"color": protoreflect.EnumNumber(7)}),
			want: `{"i32":0,"s64":0,"sf64":0,"u64":0,"f64":0,"u32":0,"f":0,"d":0,"b":false,"raw":"","color":7,` +
				`"ids":[],"counts":{},"names":{},"later":"","nothing":null,"flags":{},"doubles":[]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Marshal:\n got %s\nwant %s", got, tt.want)
			}
			// Deterministic: the same message gives the same bytes, every time
			// (protojson, used for well-known types, adds random whitespace).
			for range 5 {
				again, err := Marshal(tt.in)
				if err != nil {
					t.Fatal(err)
				}
				if string(again) != string(got) {
					t.Fatalf("second Marshal differs:\n%s\n%s", got, again)
				}
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		in   proto.Message
		want string
	}{
		{
			name: "invalid UTF-8 is refused, not altered",
			in:   &tickitiv1.CreateTicketResponse{Uid: "a\xffb"},
			want: "invalid UTF-8",
		},
		{
			name: "a Value with no kind set",
			in:   &tickitiv1.PayloadField{Value: &structpb.Value{}},
			want: "tickiti.v1.PayloadField.value",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			if err == nil {
				t.Fatalf("Marshal = %s, want an error", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// TestRoundTrip checks that protojson, hence Unmarshal, reads what Marshal
// writes.
func TestRoundTrip(t *testing.T) {
	in := &tickitiv1.Ticket{
		Id: 3, Number: 100003, Status: "open",
		Responses:    []*tickitiv1.Response{{Id: 10, Content: "<p>hi & bye</p>", CreateTime: timestamppb.New(time.Unix(1700000000, 5))}},
		Intervention: &tickitiv1.InterventionPayload{Data: mustStruct(t, map[string]any{"x": []any{1.0, "two", nil}})},
	}
	b, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := &tickitiv1.Ticket{}
	if err := Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(in, out) {
		t.Errorf("round trip changed the message:\n in %v\nout %v", in, out)
	}
}

func TestUnmarshal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		msg  proto.Message // an empty message to read into
		want proto.Message
	}{
		{
			name: "int64 as a number",
			in:   `{"ticket_number": 100001}`,
			msg:  &tickitiv1.GetTicketRequest{},
			want: &tickitiv1.GetTicketRequest{TicketNumber: 100001},
		},
		{
			name: "surrounding whitespace is fine",
			in:   " \n{\"ticket_number\": 1}\r\n\t ",
			msg:  &tickitiv1.GetTicketRequest{},
			want: &tickitiv1.GetTicketRequest{TicketNumber: 1},
		},
		{
			name: "int64 as a string",
			in:   `{"ticket_number": "100001"}`,
			msg:  &tickitiv1.GetTicketRequest{},
			want: &tickitiv1.GetTicketRequest{TicketNumber: 100001},
		},
		{
			name: "int64 beyond 2^53 as a string",
			in:   `{"ticket_number": "9007199254740993"}`,
			msg:  &tickitiv1.GetTicketRequest{},
			want: &tickitiv1.GetTicketRequest{TicketNumber: 9007199254740993},
		},
		{
			name: "unknown fields are ignored",
			in:   `{"uid": "u", "extra": {"deep": [1, 2, {"x": null}]}, "more": 1}`,
			msg:  &tickitiv1.CreateTicketRequest{},
			want: &tickitiv1.CreateTicketRequest{Uid: "u"},
		},
		{
			name: "numbers a double keeps exactly",
			in:   `{"uid": "u", "data": {"data": {"a": 0.1, "b": 95.5, "c": 100, "d": 1e3, "e": -0, "f": [9007199254740992, 1.5E-7, 0.0]}}}`,
			msg:  &tickitiv1.CreateTicketRequest{},
			want: &tickitiv1.CreateTicketRequest{Uid: "u", Data: &tickitiv1.TicketData{Data: mustStruct(t, map[string]any{
				"a": 0.1, "b": 95.5, "c": 100.0, "d": 1000.0, "e": math.Copysign(0, -1), "f": []any{9007199254740992.0, 1.5e-7, 0.0},
			})}},
		},
		{
			name: "HTML characters and escapes",
			in:   `{"uid": "<script>\u0026</script>", "intervention": "a\"b"}`,
			msg:  &tickitiv1.CreateTicketRequest{},
			want: &tickitiv1.CreateTicketRequest{Uid: "<script>&</script>", Intervention: `a"b`},
		},
		{
			name: "epilog response with optional fields",
			in:   `{"ok": true, "ticket_id": 0, "final": {"response_id": 12}}`,
			msg:  &tickitiv1.EpilogResponse{},
			want: &tickitiv1.EpilogResponse{Ok: proto.Bool(true), TicketId: proto.Int64(0), Final: &tickitiv1.EpilogFinal{ResponseId: 12}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Unmarshal([]byte(tt.in), tt.msg); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(tt.msg, tt.want) {
				t.Errorf("Unmarshal:\n got %v\nwant %v", tt.msg, tt.want)
			}
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		syntax  string       // the SyntaxError message, if one is expected
		number  *NumberError // the NumberError, if one is expected
		message string       // the error message, when checked exactly
	}{
		{name: "empty body", in: ``, syntax: "the body is empty; a JSON object is required"},
		{name: "array at the top level", in: `[]`, syntax: "the body must be a JSON object"},
		{name: "string at the top level", in: `"x"`, syntax: "the body must be a JSON object"},
		{name: "null at the top level", in: `null`, syntax: "the body must be a JSON object"},
		{name: "trailing garbage", in: `{} x`, syntax: "unexpected data after the JSON object"},
		{name: "two objects", in: `{}{}`, syntax: "unexpected data after the JSON object"},
		{name: "truncated", in: `{"uid": "u"`, syntax: "unexpected end of JSON input"},
		{name: "truncated array", in: `{"uid": [1,`, syntax: "unexpected end of JSON input"},
		{name: "trailing comma", in: `{"uid": "u",}`, syntax: "invalid character '}' looking for beginning of object key string"},
		{name: "malformed", in: `{"uid" "u"}`, syntax: "invalid character '\"' after object key"},
		{name: "nested too deeply", in: `{"a":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`, syntax: "the body is nested too deeply"},
		{name: "wrong type", in: `{"uid": 5}`, syntax: "invalid value for string field uid: 5"},
		{name: "duplicate field", in: `{"uid": "a", "uid": "b"}`, syntax: `duplicate field "uid"`},
		{
			name:    "a number a double cannot keep, inside the data bag",
			in:      `{"uid": "u", "data": {"data": {"ok": 1, "big": 12345678901234567890}}}`,
			number:  &NumberError{Path: "data.data.big", Literal: "12345678901234567890"},
			message: "data.data.big: the number 12345678901234567890 cannot be kept exactly; send it as a string",
		},
		{
			name:   "inside an array",
			in:     `{"data": {"data": {"items": [{"price": 1}, {"price": 0.30000000000000001}]}}}`,
			number: &NumberError{Path: "data.data.items[1].price", Literal: "0.30000000000000001"},
		},
		{
			name:   "an int64 field beyond 2^53, as a number",
			in:     `{"ticket_id": 9007199254740993}`,
			number: &NumberError{Path: "ticket_id", Literal: "9007199254740993"},
		},
		{
			name:   "in an unknown field too",
			in:     `{"extra": [[1e400]]}`,
			number: &NumberError{Path: "extra[0][0]", Literal: "1e400"},
		},
		{
			name:   "underflow to zero",
			in:     `{"extra": 1e-999999}`,
			number: &NumberError{Path: "extra", Literal: "1e-999999"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Unmarshal([]byte(tt.in), &tickitiv1.CreateTicketRequest{})
			if tt.syntax != "" {
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("Unmarshal error = %v (%T), want a *SyntaxError", err, err)
				}
				if se.Error() != tt.syntax {
					t.Errorf("Unmarshal error = %q, want %q", se.Error(), tt.syntax)
				}
				return
			}
			var ne *NumberError
			if !errors.As(err, &ne) {
				t.Fatalf("Unmarshal error = %v (%T), want a *NumberError", err, err)
			}
			if *ne != *tt.number {
				t.Errorf("Unmarshal error = %+v, want %+v", *ne, *tt.number)
			}
			if tt.message != "" && err.Error() != tt.message {
				t.Errorf("Unmarshal error = %q, want %q", err, tt.message)
			}
		})
	}
}

func TestExact(t *testing.T) {
	for literal, want := range map[string]bool{
		"0": true, "-0": true, "0.0e10": true, "0.1": true, "95.5": true, "100": true, "1e3": true, "1E3": true,
		"-1.5e-7": true, "9007199254740992": true, "1.7976931348623157e308": true, "5e-324": true,
		"9007199254740993": false, "12345678901234567890": false, "0.30000000000000001": false,
		"1e400": false, "-1e400": false, "1e-400": false, "0.1000000000000000000001": false,
	} {
		if got := exact(literal); got != want {
			t.Errorf("exact(%s) = %v, want %v", literal, got, want)
		}
	}
}
