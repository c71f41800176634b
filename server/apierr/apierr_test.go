package apierr

import (
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestFromStatusRoundTrip: what the gRPC door sends, the REST door reads
// back as it was.
func TestFromStatusRoundTrip(t *testing.T) {
	in := Invalid("uid", "The uid field is required.").(*Error)
	in.Metadata = map[string]string{"ticket_id": "1"}
	out := FromStatus(in.GRPCStatus())
	if out.Reason != ValidationFailed || out.Message != in.Message || out.Metadata["ticket_id"] != "1" ||
		len(out.Fields["uid"]) != 1 || out.Fields["uid"][0] != "The uid field is required." {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
}

// TestFromStatusWithoutErrorInfo: statuses gRPC or the gateway make
// themselves map by code, never to a 500 when the caller is at fault.
func TestFromStatusWithoutErrorInfo(t *testing.T) {
	for code, want := range map[codes.Code]int{
		codes.InvalidArgument:   http.StatusBadRequest,
		codes.Unauthenticated:   http.StatusUnauthorized,
		codes.NotFound:          http.StatusNotFound,
		codes.ResourceExhausted: http.StatusRequestEntityTooLarge,
		codes.DeadlineExceeded:  http.StatusServiceUnavailable,
		codes.Internal:          http.StatusInternalServerError,
	} {
		if got := HTTPStatus(FromStatus(status.New(code, "x")).Reason); got != want {
			t.Errorf("%s: HTTP %d, want %d", code, got, want)
		}
	}
}
