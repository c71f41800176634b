package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/idempotencykey"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
)

// inFlightTimeout is how long a claimed key without an answer blocks other
// requests before it counts as abandoned (its process died mid-request).
const inFlightTimeout = time.Minute

// ParseIdempotencyKey checks an Idempotency-Key header value: 1–255
// printable ASCII characters, optionally in the structured-field quoted form
// ("abc" means abc).
func ParseIdempotencyKey(raw string) (string, error) {
	key := raw
	if len(key) >= 2 && key[0] == '"' && key[len(key)-1] == '"' {
		key = key[1 : len(key)-1]
	}
	if key == "" {
		if raw == "" {
			return "", apierr.New(apierr.IdempotencyKeyMissing, "The Idempotency-Key header is required.")
		}
		return "", apierr.New(apierr.IdempotencyKeyInvalid, "The Idempotency-Key header must not be empty.")
	}
	if len(key) > 255 {
		return "", apierr.New(apierr.IdempotencyKeyInvalid, "The Idempotency-Key header must be at most 255 characters.")
	}
	if strings.IndexFunc(key, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
		return "", apierr.New(apierr.IdempotencyKeyInvalid, "The Idempotency-Key header must be printable ASCII.")
	}
	return key, nil
}

// keyClaim is a key this request holds while it works: the id of its row.
type keyClaim struct{ id int }

// claimKey reserves key for this request, or returns the stored answer of
// the request that used it first. The reservation is its own short
// transaction so that a second request with the key can see it is in flight.
func (s *Service) claimKey(ctx context.Context, tokenID int, key string, req *v1.CreateTicketRequest) (*keyClaim, *v1.CreateTicketResponse, error) {
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		return nil, nil, s.internal("fingerprint request", err)
	}
	sum := sha256.Sum256(body)
	fp := sum[:]
	for attempt := 0; attempt < 3; attempt++ {
		now := s.now()
		row, err := s.db.IdempotencyKey.Create().SetTokenID(tokenID).SetKey(key).SetFingerprint(fp).
			SetCreatedAt(now).SetExpiresAt(now.Add(s.ttl)).Save(ctx)
		if err == nil {
			return &keyClaim{id: row.ID}, nil, nil
		}
		if !ent.IsConstraintError(err) {
			return nil, nil, s.internal("claim idempotency key", err)
		}
		prev, err := s.db.IdempotencyKey.Query().Where(idempotencykey.Key(key)).Only(ctx)
		if ent.IsNotFound(err) {
			continue // released meanwhile: try again
		}
		if err != nil {
			return nil, nil, s.internal("read idempotency key", err)
		}
		answered := prev.Response != nil && len(*prev.Response) > 0
		expired := prev.ExpiresAt.Before(now)
		abandoned := !answered && prev.CreatedAt.Before(now.Add(-inFlightTimeout))
		if expired || abandoned {
			// Forget it, unless someone else already did, and try again.
			_, err := s.db.IdempotencyKey.Delete().Where(idempotencykey.ID(prev.ID), idempotencykey.CreatedAt(prev.CreatedAt)).Exec(ctx)
			if err != nil {
				return nil, nil, s.internal("expire idempotency key", err)
			}
			continue
		}
		if prev.TokenID != tokenID || !bytes.Equal(prev.Fingerprint, fp) {
			return nil, nil, apierr.New(apierr.IdempotencyKeyConflict,
				"The Idempotency-Key was already used with a different request; use a new key for a new request.")
		}
		if !answered {
			return nil, nil, apierr.New(apierr.IdempotencyKeyInFlight,
				"A request with this Idempotency-Key is still being processed; retry later.")
		}
		stored := &v1.CreateTicketResponse{}
		if err := proto.Unmarshal(*prev.Response, stored); err != nil {
			return nil, nil, s.internal("read stored answer", err)
		}
		return nil, stored, nil
	}
	return nil, nil, apierr.New(apierr.IdempotencyKeyInFlight, "The Idempotency-Key is contended; retry later.")
}

// complete stores the answer with the work it describes.
func (c *keyClaim) complete(ctx context.Context, tx *ent.Tx, resp *v1.CreateTicketResponse) error {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
	if err != nil {
		return err
	}
	return tx.IdempotencyKey.UpdateOneID(c.id).SetResponse(b).Exec(ctx)
}

// releaseKey forgets a claim whose request failed. It runs even if the
// request's context was cancelled: a stale claim would block retries.
func (s *Service) releaseKey(c *keyClaim) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.db.IdempotencyKey.DeleteOneID(c.id).Exec(ctx); err != nil {
		s.log.Warn("release idempotency key", "id", c.id, "err", err)
	}
}

// PurgeExpiredKeys deletes keys past their retention; the server runs it
// periodically.
func (s *Service) PurgeExpiredKeys(ctx context.Context) (int, error) {
	return s.db.IdempotencyKey.Delete().Where(idempotencykey.ExpiresAtLT(s.now())).Exec(ctx)
}
