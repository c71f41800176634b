// Command remote is an example remote system for Tickiti interventions: it
// receives epilog calls, checks the bearer token, prints the decision and
// confirms it with a final block, as the quick start describes.
//
//	go run ./examples/remote -addr 127.0.0.1:9000 -token "$REMOTE_TOKEN" [-signing-secret "$SIGNING_SECRET"]
package main

import (
	"crypto/subtle"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/pkg/webhook"
	"github.com/tickiti/tickiti/server/restjson"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "listen address")
	token := flag.String("token", "", "the remote bearer token Tickiti sends (from `tickiti intervention apply`)")
	secret := flag.String("signing-secret", "", "the intervention's whsec_ signing secret (from `tickiti intervention rotate-signing-secret`); calls must be signed with it")
	flag.Parse()

	http.HandleFunc("POST /epilog", func(w http.ResponseWriter, r *http.Request) {
		// 1. Validate the bearer token.
		if *token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+*token)) != 1 {
			writeJSON(w, http.StatusUnauthorized, `{"ok": false, "message": "bad token"}`)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// 1b. Check the Standard Webhooks signature over the raw body.
		if *secret != "" {
			if err := webhook.Verify(*secret, r.Header, body, 5*time.Minute); err != nil {
				writeJSON(w, http.StatusUnauthorized, `{"ok": false, "message": "bad signature"}`)
				return
			}
		}
		req := &v1.EpilogRequest{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// 2-3. Locate the domain object by uid and apply the decision. A
		// real remote de-duplicates on the webhook-id header.
		log.Printf("delivery %s: %s", r.Header.Get("webhook-id"), body)
		data := req.GetData().AsMap()
		// 4. Answer 200 JSON, here with a final block to complete it.
		answer := &v1.EpilogResponse{
			Ok: proto.Bool(true), TicketId: &req.TicketId, Uid: &req.Uid, Intervention: &req.Intervention,
			Final: &v1.EpilogFinal{
				ResponseId:      req.GetResponseId(),
				TicketAudit:     fmt.Sprintf("Discount applied at %v %v. Order updated.", data["order_price"], data["currency"]),
				RemoteReference: "ORD-10021",
			},
		}
		out, err := restjson.Marshal(answer)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, http.StatusOK, string(out))
	})
	log.Printf("example remote listening on http://%s/epilog", *addr)
	srv := &http.Server{Addr: *addr, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// writeJSON writes a JSON answer (http.Error would label it text/plain).
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
