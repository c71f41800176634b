// Package gateway is the REST door: grpc-gateway translating the JSON API
// to the gRPC services, with the wire conventions integrators rely on —
// {"ok": ...} envelopes, ids as JSON numbers, the status codes and headers
// of the contract.
package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/grpcapi"
	"github.com/tickiti/tickiti/server/restjson"
)

// DefaultMaxBody is the default request body limit (1 MiB).
const DefaultMaxBody = 1 << 20

// New returns the REST handler, forwarding to the gRPC server behind conn.
// Bodies over maxBody bytes are refused with 413.
func New(ctx context.Context, conn *grpc.ClientConn, maxBody int64) (http.Handler, error) {
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, marshaler{}),
		runtime.WithIncomingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithMetadata(idempotencyKey),
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
		runtime.WithForwardResponseOption(setStatus),
		runtime.WithErrorHandler(handleError),
		runtime.WithRoutingErrorHandler(handleRoutingError),
		runtime.WithWriteContentLength(),
	)
	if err := v1.RegisterTicketServiceHandler(ctx, mux, conn); err != nil {
		return nil, err
	}
	if err := v1.RegisterDeliveryServiceHandler(ctx, mux, conn); err != nil {
		return nil, err
	}
	if err := v1.RegisterInterventionServiceHandler(ctx, mux, conn); err != nil {
		return nil, err
	}
	if err := v1.RegisterTemplateServiceHandler(ctx, mux, conn); err != nil {
		return nil, err
	}
	if err := v1.RegisterQueueServiceHandler(ctx, mux, conn); err != nil {
		return nil, err
	}
	if err := v1.RegisterTokenServiceHandler(ctx, mux, conn); err != nil {
		return nil, err
	}
	if err := v1.RegisterUserServiceHandler(ctx, mux, conn); err != nil {
		return nil, err
	}
	if err := v1.RegisterAuditServiceHandler(ctx, mux, conn); err != nil {
		return nil, err
	}
	return holdStatus(limitBody(mux, maxBody)), nil
}

// idempotencyKey forwards the Idempotency-Key header, the one header the
// services read besides Authorization (which the gateway forwards itself).
// gRPC metadata values must be printable ASCII, so a key that is not goes as
// binary metadata, to be refused by the service with a clear error rather
// than dropped on the way.
func idempotencyKey(_ context.Context, r *http.Request) metadata.MD {
	vals, ok := r.Header["Idempotency-Key"]
	if !ok {
		return nil
	}
	v := strings.Join(vals, ",")
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return metadata.Pairs(grpcapi.IdempotencyKeyBin, v)
		}
	}
	return metadata.Pairs(grpcapi.IdempotencyKey, v)
}

// outgoingHeader turns gRPC response metadata into HTTP headers; internal
// metadata stays internal.
func outgoingHeader(key string) (string, bool) {
	if key == grpcapi.ReplayedKey {
		return "Idempotent-Replayed", true
	}
	return "", false
}

// setStatus applies the HTTP status a handler asked for (201 for a created
// ticket); the default is 200.
func setStatus(ctx context.Context, w http.ResponseWriter, _ proto.Message) error {
	md, ok := runtime.ServerMetadataFromContext(ctx)
	if !ok {
		return nil
	}
	if v := md.HeaderMD.Get(grpcapi.HTTPStatusKey); len(v) > 0 {
		if code, err := strconv.Atoi(v[0]); err == nil {
			if hw, ok := w.(*heldStatus); ok {
				hw.status = code
			} else {
				w.WriteHeader(code)
			}
		}
	}
	return nil
}

// heldStatus keeps the status setStatus chose until the body is written.
// The gateway runs the forward-response options before it marshals the
// answer and sets Content-Length, and headers set after WriteHeader are not
// sent: writing the status at once would send a large 201 chunked, without
// Content-Length.
type heldStatus struct {
	http.ResponseWriter
	status int
}

func (w *heldStatus) WriteHeader(code int) {
	w.status = 0 // an explicit status (an error's) wins
	w.ResponseWriter.WriteHeader(code)
}

func (w *heldStatus) Write(b []byte) (int, error) {
	w.flushStatus()
	return w.ResponseWriter.Write(b)
}

func (w *heldStatus) flushStatus() {
	if code := w.status; code != 0 {
		w.status = 0
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *heldStatus) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func holdStatus(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hw := &heldStatus{ResponseWriter: w}
		next.ServeHTTP(hw, r)
		hw.flushStatus() // a held status with no body after it
	})
}

// marshaler writes successes as {"ok": true, "data": <message>} and reads
// requests with restjson.
type marshaler struct{}

func (marshaler) ContentType(any) string { return "application/json" }

func (marshaler) Marshal(v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return json.Marshal(v)
	}
	data, err := restjson.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(data)+20)
	out = append(out, `{"ok":true,"data":`...)
	out = append(out, data...)
	return append(out, '}'), nil
}

func (marshaler) Unmarshal(data []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		// A body that is one field of the request (body: "intervention")
		// arrives as a pointer to the message pointer.
		if m, ok = messageAt(v); !ok {
			return json.Unmarshal(data, v)
		}
	}
	return restjson.Unmarshal(data, m)
}

// messageAt allocates and returns the message v points to, when v is a
// **Message.
func messageAt(v any) (proto.Message, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Pointer {
		return nil, false
	}
	if _, ok := reflect.Zero(rv.Elem().Type()).Interface().(proto.Message); !ok {
		return nil, false
	}
	if rv.Elem().IsNil() {
		rv.Elem().Set(reflect.New(rv.Elem().Type().Elem()))
	}
	return rv.Elem().Interface().(proto.Message), true
}

func (m marshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		err := m.decode(r, v)
		// The gateway flattens decode errors into text; keep the typed
		// error where the error handler can find it.
		if b, ok := r.(*body); ok && err != nil && b.err == nil {
			b.err = err
		}
		return err
	})
}

func (m marshaler) decode(r io.Reader, v any) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return &restjson.SyntaxError{Err: errors.New("the request body is empty; send a JSON object")}
	}
	return m.Unmarshal(data, v)
}

func (marshaler) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		data, err := marshaler{}.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
}

// body is a request body of a method that sends one (POST, PATCH, PUT).
// Its media type and size are checked when a route reads it, not before
// routing, so a request to no route gets its 404 or 405 rather than a
// complaint about its body. The gateway reads it through the decoder or,
// for PATCH, on its own; either way the first problem is kept, typed, for
// the error handler (the gateway flattens it into text).
type body struct {
	rc          io.ReadCloser // at most max bytes of the request body
	contentType string
	length, max int64
	checked     bool
	err         error
}

func (b *body) Read(p []byte) (int, error) {
	if !b.checked {
		b.checked = true
		b.err = b.check()
	}
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.rc.Read(p)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		b.err = errTooLarge(b.max)
		err = b.err
	} else if err != nil && err != io.EOF {
		b.err = apierr.New(apierr.MalformedJSON, "The request body could not be read: %v", err)
		err = b.err
	}
	return n, err
}

func (b *body) Close() error { return b.rc.Close() }

// check refuses a body that is not JSON, or announced larger than max.
func (b *body) check() error {
	if mt, _, err := mime.ParseMediaType(b.contentType); err != nil || mt != "application/json" {
		return apierr.New(apierr.UnsupportedMediaType, "The request body must be JSON: send Content-Type: application/json.")
	}
	if b.length > b.max {
		return errTooLarge(b.max)
	}
	return nil
}

// limitBody bounds every request body to maxBody bytes. Bodies of GET,
// HEAD and DELETE are only drained, unread, by the gateway.
func limitBody(next http.Handler, maxBody int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limited := http.MaxBytesReader(w, r.Body, maxBody)
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodDelete:
			r.Body = limited
		default:
			r.Body = &body{rc: limited, contentType: r.Header.Get("Content-Type"), length: r.ContentLength, max: maxBody}
		}
		next.ServeHTTP(w, r)
	})
}

func errTooLarge(maxBody int64) error {
	return apierr.New(apierr.PayloadTooLarge, "The request body is larger than %d bytes.", maxBody)
}

// handleError renders every error as the contract's envelope.
func handleError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if b, ok := r.Body.(*body); ok && b.err != nil {
		var ae *apierr.Error
		var ne *restjson.NumberError
		switch {
		case errors.As(b.err, &ae):
			err = ae
		case errors.As(b.err, &ne):
			err = apierr.Invalid(ne.Path, "%s", ne.Error())
		default:
			err = apierr.New(apierr.MalformedJSON, "The request body is not valid JSON of the expected shape: %v", b.err)
		}
	}
	writeError(w, r, err)
}

func handleRoutingError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, code int) {
	if code == http.StatusMethodNotAllowed {
		writeError(w, r, apierr.New(apierr.MethodNotAllowed, "Method %s is not allowed on %s.", r.Method, r.URL.Path))
		return
	}
	writeError(w, r, apierr.New(apierr.NotFound, "No route for %s %s.", r.Method, r.URL.Path))
}

// envelope is the body of every REST error.
type envelope struct {
	OK      bool                `json:"ok"`
	Error   string              `json:"error"`
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors,omitempty"`
	Details map[string]any      `json:"details,omitempty"`
}

func writeError(w http.ResponseWriter, _ *http.Request, err error) {
	var e *apierr.Error
	if !errors.As(err, &e) {
		e = apierr.FromStatus(status.Convert(err))
	}
	env := envelope{Error: e.Reason, Message: e.Message, Errors: e.Fields}
	if len(e.Metadata) > 0 {
		env.Details = make(map[string]any, len(e.Metadata))
		for k, v := range e.Metadata {
			// Ids travel as strings in ErrorInfo metadata; REST shows
			// them as the numbers they are.
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				env.Details[k] = n
			} else {
				env.Details[k] = v
			}
		}
	}
	code := apierr.HTTPStatus(e.Reason)
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tickiti"`)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(env)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}
