// Package apierr defines the errors the service core returns. Each has a
// reason from one table that fixes its gRPC code and its HTTP status, so the
// gRPC door (google.rpc details, AIP-193) and the REST door
// ({"ok": false, "error": ...}) always agree.
package apierr

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

// Domain is the ErrorInfo domain of every Tickiti error.
const Domain = "tickiti.io"

// Reasons: the REST `error` value; ErrorInfo.reason is the same in upper case.
const (
	IdempotencyKeyMissing  = "idempotency_key_missing"
	IdempotencyKeyInvalid  = "idempotency_key_invalid"
	MalformedJSON          = "malformed_json"
	InvalidRequest         = "invalid_request"
	Unauthenticated        = "unauthenticated"
	Forbidden              = "forbidden"
	NotFound               = "not_found"
	MethodNotAllowed       = "method_not_allowed"
	IdempotencyKeyConflict = "idempotency_key_conflict"
	IdempotencyKeyInFlight = "idempotency_key_in_flight"
	UIDConflict            = "uid_conflict"
	Conflict               = "conflict"
	PayloadTooLarge        = "payload_too_large"
	UnsupportedMediaType   = "unsupported_media_type"
	ValidationFailed       = "validation_failed"
	Unavailable            = "unavailable"
	Internal               = "internal"
)

type mapping struct {
	code codes.Code
	http int
}

var table = map[string]mapping{
	IdempotencyKeyMissing:  {codes.InvalidArgument, http.StatusBadRequest},
	IdempotencyKeyInvalid:  {codes.InvalidArgument, http.StatusBadRequest},
	MalformedJSON:          {codes.InvalidArgument, http.StatusBadRequest},
	InvalidRequest:         {codes.InvalidArgument, http.StatusBadRequest},
	Unauthenticated:        {codes.Unauthenticated, http.StatusUnauthorized},
	Forbidden:              {codes.PermissionDenied, http.StatusForbidden},
	NotFound:               {codes.NotFound, http.StatusNotFound},
	MethodNotAllowed:       {codes.Unimplemented, http.StatusMethodNotAllowed},
	IdempotencyKeyConflict: {codes.FailedPrecondition, http.StatusConflict},
	IdempotencyKeyInFlight: {codes.Aborted, http.StatusConflict},
	UIDConflict:            {codes.AlreadyExists, http.StatusConflict},
	Conflict:               {codes.FailedPrecondition, http.StatusConflict},
	PayloadTooLarge:        {codes.ResourceExhausted, http.StatusRequestEntityTooLarge},
	UnsupportedMediaType:   {codes.InvalidArgument, http.StatusUnsupportedMediaType},
	ValidationFailed:       {codes.InvalidArgument, http.StatusUnprocessableEntity},
	Unavailable:            {codes.Unavailable, http.StatusServiceUnavailable},
	Internal:               {codes.Internal, http.StatusInternalServerError},
}

// HTTPStatus is the REST status of a reason (500 for an unknown one).
func HTTPStatus(reason string) int {
	if m, ok := table[reason]; ok {
		return m.http
	}
	return http.StatusInternalServerError
}

// Error is a failure the caller can act on.
type Error struct {
	Reason  string
	Message string
	// Fields maps a request field (dotted path) to what is wrong with it.
	Fields map[string][]string
	// Metadata goes to ErrorInfo.metadata and, over REST, to `details`.
	Metadata map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	return fmt.Sprintf("%s %v", e.Message, e.Fields)
}

// New returns an error with a reason and a message.
func New(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Validation collects field errors; Err returns nil when there are none.
type Validation struct{ fields map[string][]string }

// Add records a message about a field.
func (v *Validation) Add(field, format string, args ...any) {
	if v.fields == nil {
		v.fields = map[string][]string{}
	}
	v.fields[field] = append(v.fields[field], fmt.Sprintf(format, args...))
}

// Has reports whether the field already has an error.
func (v *Validation) Has(field string) bool { return len(v.fields[field]) > 0 }

// Err is the 422 validation_failed error, or nil.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Reason: ValidationFailed, Message: "The given data was invalid.", Fields: v.fields}
}

// Invalid is a one-field validation error.
func Invalid(field, format string, args ...any) error {
	var v Validation
	v.Add(field, format, args...)
	return v.Err()
}

// GRPCStatus makes the error a gRPC status with ErrorInfo and, for field
// errors, BadRequest details.
func (e *Error) GRPCStatus() *status.Status {
	m, ok := table[e.Reason]
	if !ok {
		m = table[Internal]
	}
	st := status.New(m.code, e.Message)
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: upper(e.Reason), Domain: Domain, Metadata: e.Metadata}}
	if len(e.Fields) > 0 {
		br := &errdetails.BadRequest{}
		for _, f := range sortedKeys(e.Fields) {
			for _, msg := range e.Fields[f] {
				br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: f, Description: msg})
			}
		}
		details = append(details, br)
	}
	withDetails, err := st.WithDetails(details...)
	if err != nil {
		return st
	}
	return withDetails
}

// FromStatus recovers an Error from a gRPC status, so the REST door can
// render what the gRPC door sent. Statuses without Tickiti ErrorInfo (from
// gRPC or the gateway itself) are mapped by code.
func FromStatus(st *status.Status) *Error {
	e := &Error{Message: st.Message()}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if d.GetDomain() == Domain {
				e.Reason = lower(d.GetReason())
				e.Metadata = d.GetMetadata()
			}
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				if e.Fields == nil {
					e.Fields = map[string][]string{}
				}
				e.Fields[v.GetField()] = append(e.Fields[v.GetField()], v.GetDescription())
			}
		}
	}
	if e.Reason != "" {
		return e
	}
	switch st.Code() {
	case codes.InvalidArgument:
		// Our services always attach ErrorInfo; an InvalidArgument without
		// it comes from the gateway parsing the request: a path or query
		// parameter of the wrong type, or a body it decoded itself (the
		// gateway's own decoding of bodies goes through ours, which says
		// malformed_json).
		e.Reason = InvalidRequest
	case codes.Unauthenticated:
		e.Reason = Unauthenticated
	case codes.PermissionDenied:
		e.Reason = Forbidden
	case codes.NotFound:
		e.Reason = NotFound
	case codes.Unimplemented:
		e.Reason = NotFound
	case codes.ResourceExhausted:
		// gRPC's own limit on a message (4 MiB), below a --max-body
		// raised past it.
		e.Reason = PayloadTooLarge
	case codes.Unavailable, codes.DeadlineExceeded:
		e.Reason = Unavailable
	default:
		e.Reason = Internal
		e.Message = "Internal error."
	}
	return e
}

// Int formats an id for Metadata.
func Int(v int64) string { return strconv.FormatInt(v, 10) }

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func upper(reason string) string { return strings.ToUpper(reason) }
func lower(reason string) string { return strings.ToLower(reason) }
