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
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/pkg/webhook"
)

// MaxBody bounds how much of an answer is read; reading counts against the
// timeout.
const MaxBody = 64 << 10

// DefaultTimeout bounds a call whose Timeout is not set.
const DefaultTimeout = 10 * time.Second

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
	// Secrets sign the call (Standard Webhooks, one signature each); none
	// leaves it unsigned.
	Secrets []string
}

// Class says what to do after an attempt.
type Class int

const (
	// Answered: the remote answered 2xx with an EpilogResponse.
	Answered Class = iota
	// Transient: worth retrying (timeout, network error, 5xx, 408, 429).
	Transient
	// Permanent: retrying will not help until someone fixes something
	// (other 4xx, redirects, a bad URL).
	Permanent
	// Malformed: a 2xx whose body is not the expected JSON (not JSON, no
	// "ok", larger than MaxBody). Retried like a transient failure: it is
	// typically a proxy or maintenance page in front of the remote.
	Malformed
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
	// Truncated says the answer was longer than Body.
	Truncated bool
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
		timeout = DefaultTimeout
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
	req.Header.Set(webhook.HeaderID, call.DeliveryID)
	if len(call.Secrets) > 0 {
		// Signed per attempt: the timestamp is when this attempt is sent,
		// so a receiver's replay window applies to retries as well.
		now := time.Now()
		sigs := make([]string, 0, len(call.Secrets))
		for _, secret := range call.Secrets {
			sig, err := webhook.Sign(secret, call.DeliveryID, now, call.Body)
			if err != nil {
				return Result{Class: Permanent, Err: errors.New("the intervention's signing secret is malformed")}
			}
			sigs = append(sigs, sig)
		}
		req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(webhook.HeaderSignature, strings.Join(sigs, " "))
	}
	if call.Token != "" {
		req.Header.Set("Authorization", "Bearer "+call.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Result{Class: Transient, Err: describe(err, timeout)}
	}
	// Closing without draining drops the connection rather than reading a
	// huge answer to its end; the request's context bounds the read in time.
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	res := Result{Status: resp.StatusCode, Body: body, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	if len(body) > MaxBody {
		res.Body, res.Truncated = body[:MaxBody], true
	}
	if err != nil {
		res.Class, res.Err = Transient, fmt.Errorf("HTTP %d, but reading the answer failed: %w", resp.StatusCode, describe(err, timeout))
		return res
	}
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		if res.Truncated {
			res.Class, res.Err = Malformed, fmt.Errorf("HTTP %d, but the answer is larger than %d bytes", s, MaxBody)
			return res
		}
		ans := &v1.EpilogResponse{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, ans); err != nil {
			res.Class, res.Err = Malformed, fmt.Errorf("HTTP %d, but the answer is not the expected JSON: %v", s, err)
			return res
		}
		if ans.Ok == nil {
			res.Class, res.Err = Malformed, fmt.Errorf(`HTTP %d, but the answer has no "ok" member`, s)
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
