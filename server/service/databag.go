package service

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/tickiti/tickiti/server/apierr"
)

// The data bag is stored as the JSON protojson writes for a Struct: the same
// text goes to the remote in the epilog, so what was stored is what is sent.

func encodeBag(bag *structpb.Struct) (json.RawMessage, error) {
	if bag == nil {
		bag = &structpb.Struct{}
	}
	return protojson.Marshal(bag)
}

func decodeBag(raw json.RawMessage) (*structpb.Struct, error) {
	bag := &structpb.Struct{}
	if len(raw) == 0 {
		return bag, nil
	}
	if err := protojson.Unmarshal(raw, bag); err != nil {
		return nil, fmt.Errorf("stored data bag: %w", err)
	}
	return bag, nil
}

// checkStorable refuses what a data bag's stored JSON cannot hold: a NUL
// character in a string or key (PostgreSQL's jsonb cannot; SQLite could, so
// the rule is applied on both) and a NaN or infinite number (JSON has none;
// only binary gRPC can send one). path names the bag in error paths.
func checkStorable(v *apierr.Validation, bag *structpb.Struct, path string) {
	for k, val := range bag.GetFields() {
		if strings.ContainsRune(k, 0) {
			v.Add(path, "The key %q must not contain the NUL character (\\u0000).", k)
			continue
		}
		checkStorableValue(v, val, path+"."+k)
	}
}

func checkStorableValue(v *apierr.Validation, val *structpb.Value, path string) {
	switch k := val.GetKind().(type) {
	case *structpb.Value_StringValue:
		if strings.ContainsRune(k.StringValue, 0) {
			v.Add(path, "The value must not contain the NUL character (\\u0000).")
		}
	case *structpb.Value_NumberValue:
		if math.IsNaN(k.NumberValue) || math.IsInf(k.NumberValue, 0) {
			v.Add(path, "The value must be a finite number.")
		}
	case *structpb.Value_StructValue:
		checkStorable(v, k.StructValue, path)
	case *structpb.Value_ListValue:
		for i, item := range k.ListValue.GetValues() {
			checkStorableValue(v, item, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// ticketVars are the ticket's own values every template sees beside the
// data bag; .final adds the final block's, the others the customer's address.
func ticketVars(ticketID int, uid, intervention string) map[string]any {
	return map[string]any{
		"ticket_id": ticketID, "ticket_number": TicketNumber(ticketID), "uid": uid, "intervention": intervention,
	}
}

// renderContext is what templates and labels see: the data bag's values and
// the ticket's own, which win over bag keys of the same name.
func renderContext(bag *structpb.Struct, extra map[string]any) map[string]any {
	ctx := make(map[string]any, len(bag.GetFields())+len(extra))
	for k, v := range bag.GetFields() {
		ctx[k] = plain(v)
	}
	for k, v := range extra {
		ctx[k] = v
	}
	return ctx
}

// plain turns a Value into what Mustache prints naturally: whole numbers
// without a fraction, everything else as Go would.
func plain(v *structpb.Value) any {
	switch k := v.GetKind().(type) {
	case *structpb.Value_NumberValue:
		return strconv.FormatFloat(k.NumberValue, 'f', -1, 64)
	case *structpb.Value_StructValue:
		return k.StructValue.AsMap()
	case *structpb.Value_ListValue:
		return k.ListValue.AsSlice()
	case *structpb.Value_NullValue:
		return nil
	default:
		return v.AsInterface()
	}
}
