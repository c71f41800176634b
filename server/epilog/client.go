// Package epilog calls a remote system's epilog URL with a staff decision
// and classifies what came back. It knows HTTP and the wire types; what the
// answer means for the ticket is the service core's business.
package epilog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
)

// MaxBody bounds how much of an answer is read; reading counts against the
// timeout.
const MaxBody = 64 << 10

// Call is one attempt to deliver a submission.
type Call struct {
	URL   string
	Token string
	// DeliveryID is the same on every attempt of one submission, so the
	// remote can de-duplicate.
	DeliveryID string
	// Body is the EpilogRequest JSON, fixed when the submission was stored.
	Body    []byte
	Timeout time.Duration
}

// Class says what to do after an attempt.
type Class int

const (
	// Answered: the remote answered 2xx with an EpilogResponse.
	Answered Class = iota
	// Transient: worth retrying (timeout, network error, 5xx, 408, 429, a
	// 2xx that is not the expected JSON).
	Transient
	// Permanent: retrying will not help until someone fixes something
	// (other 4xx, redirects, a bad URL).
	Permanent
)

// Result is the outcome of an attempt.
type Result struct {
	Class Class
	// Answer is set when Class is Answered.
	Answer *v1.EpilogResponse
	// Status is the HTTP status, 0 when none arrived.
	Status int
	// Body is the start of the answer (at most MaxBody bytes).
	Body []byte
	// Err describes a failure for staff and logs.
	Err error
	// RetryAfter is the remote's Retry-After, when it sent one.
	RetryAfter time.Duration
	Duration   time.Duration
}

// Client sends epilog calls.
type Client struct {
	http      *http.Client
	userAgent string
}

// NewClient returns a client that names itself with version.
func NewClient(version string) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	return &Client{
		http: &http.Client{
			Transport: tr,
			// Redirects are not followed: a bearer token must not travel to
			// a URL nobody configured.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		userAgent: "Tickiti/" + version + " (interventions epilog)",
	}
}

// Send makes one attempt.
func (c *Client) Send(ctx context.Context, call Call) Result {
	start := time.Now()
	res := c.send(ctx, call)
	res.Duration = time.Since(start)
	return res
}

func (c *Client) send(ctx context.Context, call Call) Result {
	timeout := call.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, call.URL, bytes.NewReader(call.Body))
	if err != nil {
		return Result{Class: Permanent, Err: fmt.Errorf("epilog URL %q: %w", call.URL, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Tickiti-Delivery-Id", call.DeliveryID)
	req.Header.Set("Webhook-Id", call.DeliveryID)
	if call.Token != "" {
		req.Header.Set("Authorization", "Bearer "+call.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Result{Class: Transient, Err: describe(err, timeout)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	res := Result{Status: resp.StatusCode, Body: body, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	if err != nil {
		res.Class, res.Err = Transient, fmt.Errorf("reading the answer: %w", describe(err, timeout))
		return res
	}
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		ans := &v1.EpilogResponse{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, ans); err != nil {
			res.Class, res.Err = Transient, fmt.Errorf("HTTP %d, but the answer is not the expected JSON: %v", s, err)
			return res
		}
		res.Class, res.Answer = Answered, ans
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		res.Class, res.Err = Transient, fmt.Errorf("HTTP %d", s)
	case s >= 300 && s < 400:
		res.Class, res.Err = Permanent, fmt.Errorf("HTTP %d redirect to %q (redirects are not followed)", s, resp.Header.Get("Location"))
	default:
		res.Class, res.Err = Permanent, fmt.Errorf("HTTP %d", s)
	}
	return res
}

func describe(err error, timeout time.Duration) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("no answer within the %s timeout", timeout)
	}
	return err
}

// retryAfter reads delay-seconds or an HTTP date; 0 when absent or invalid.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
