package service

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"

	"github.com/tickiti/tickiti/server/apierr"
)

// Listings page by id (keyset pagination, AIP-158): a page token carries the
// last id returned and a digest of the listing's filter. Rows added while a
// client pages never cause gaps or repeats, and a token cannot be replayed
// against another filter.

// Page sizes of every listing.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Page is a validated page request.
type Page struct {
	// Size is the number of rows to return.
	Size int
	// After is the id the previous page ended at; 0 for the first page.
	After  int
	filter string
}

// ParsePage validates page_size and page_token for a listing whose filter
// is described by filter (any text naming the request's filter fields).
func ParsePage(size int32, token, filter string) (Page, error) {
	p := Page{Size: int(size), filter: filter}
	switch {
	case size < 0:
		return p, apierr.Invalid("page_size", "The page size must not be negative.")
	case size == 0:
		p.Size = DefaultPageSize
	case size > MaxPageSize:
		p.Size = MaxPageSize
	}
	if token == "" {
		return p, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 16 {
		return p, apierr.Invalid("page_token", "The page token is invalid.")
	}
	digest := filterDigest(filter)
	if string(raw[8:]) != string(digest[:]) {
		return p, apierr.Invalid("page_token", "The page token belongs to a listing with other filters.")
	}
	after := binary.BigEndian.Uint64(raw[:8])
	if after == 0 || after > 1<<62 {
		return p, apierr.Invalid("page_token", "The page token is invalid.")
	}
	p.After = int(after)
	return p, nil
}

// pageOf cuts rows, fetched with Limit(p.Size+1), to the page and returns
// the token of the next page: "" when the extra row did not come, so this
// page is the last. id gives a row's id.
func pageOf[T any](p Page, rows []T, id func(T) int) ([]T, string) {
	if len(rows) <= p.Size {
		return rows, ""
	}
	rows = rows[:p.Size]
	raw := make([]byte, 8, 16)
	binary.BigEndian.PutUint64(raw, uint64(id(rows[len(rows)-1])))
	digest := filterDigest(p.filter)
	return rows, base64.RawURLEncoding.EncodeToString(append(raw, digest[:]...))
}

func filterDigest(filter string) [8]byte {
	sum := sha256.Sum256([]byte(fmt.Sprintf("tickiti-page-v1:%s", filter)))
	var d [8]byte
	copy(d[:], sum[:8])
	return d
}
