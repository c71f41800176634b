package webhook_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickiti/tickiti/pkg/webhook"
)

// Example shows an epilog endpoint that accepts only calls signed with the
// intervention's signing secret.
func Example() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // from `tickiti intervention rotate-signing-secret`

	epilog := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read the body", http.StatusBadRequest)
			return
		}
		if err := webhook.Verify(secret, r.Header, body, 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		// De-duplicate on r.Header.Get("webhook-id"), then act on body.
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok": true}`)
	})

	// What Tickiti sends:
	body := `{"ticket_id":1,"response_id":3,"uid":"order-1","intervention":"discount_request","action":"submit","data":{}}`
	now := time.Now()
	sig, _ := webhook.Sign(secret, "msg_1", now, []byte(body))
	req := httptest.NewRequest("POST", "/epilog", strings.NewReader(body))
	req.Header.Set("webhook-id", "msg_1")
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)

	rec := httptest.NewRecorder()
	epilog.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 200 {"ok": true}
}

func TestVerify(t *testing.T) {
	secret, other := webhook.NewSecret(), webhook.NewSecret()
	if !strings.HasPrefix(secret, "whsec_") || len(secret) != len("whsec_")+32 {
		t.Fatalf("secret %q", secret)
	}
	body := []byte(`{"ok":true}`)
	now := time.Now()
	headers := func(ts time.Time, secrets ...string) http.Header {
		h := http.Header{}
		h.Set("webhook-id", "msg_x")
		h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
		var sigs []string
		for _, s := range secrets {
			sig, err := webhook.Sign(s, "msg_x", ts, body)
			if err != nil {
				t.Fatal(err)
			}
			sigs = append(sigs, sig)
		}
		h.Set("webhook-signature", strings.Join(sigs, " "))
		return h
	}
	cases := []struct {
		name string
		h    http.Header
		body []byte
		want error
	}{
		{"valid", headers(now, secret), body, nil},
		{"rotation: new then old", headers(now, secret, other), body, nil},
		{"rotation: old then new", headers(now, other, secret), body, nil},
		{"wrong secret", headers(now, other), body, webhook.ErrSignature},
		{"body changed", headers(now, secret), []byte(`{"ok":false}`), webhook.ErrSignature},
		{"too old", headers(now.Add(-10*time.Minute), secret), body, webhook.ErrTimestamp},
		{"from the future", headers(now.Add(10*time.Minute), secret), body, webhook.ErrTimestamp},
		{"no headers", http.Header{}, body, webhook.ErrMissingHeaders},
	}
	for _, c := range cases {
		if err := webhook.Verify(secret, c.h, c.body, 0); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
	// The known answer of the Standard Webhooks spec's test vector.
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	sig, _ := webhook.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if sig != h.Get("webhook-signature") {
		t.Errorf("spec vector: got %s", sig)
	}
	if err := webhook.Verify("bad secret!", h, body, 0); !errors.Is(err, webhook.ErrSecret) {
		t.Errorf("bad secret: %v", err)
	}
}
