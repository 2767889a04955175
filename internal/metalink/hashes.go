package metalink

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"io"
)

// Hashes are lowercase hex digests of one file's whole content.
type Hashes struct {
	MD5    string `json:"md5,omitempty"`
	SHA1   string `json:"sha1,omitempty"`
	SHA256 string `json:"sha256"`
	SHA512 string `json:"sha512,omitempty"`
}

// Sum reads r to the end and returns its four digests and its size.
func Sum(r io.Reader) (Hashes, int64, error) {
	hs := []hash.Hash{md5.New(), sha1.New(), sha256.New(), sha512.New()}
	w := io.MultiWriter(hs[0], hs[1], hs[2], hs[3])
	n, err := io.Copy(w, r)
	if err != nil {
		return Hashes{}, n, err
	}
	hx := func(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
	return Hashes{MD5: hx(hs[0]), SHA1: hx(hs[1]), SHA256: hx(hs[2]), SHA512: hx(hs[3])}, n, nil
}

// SumSHA256 reads r to the end and returns its SHA-256 digest and size;
// for large files, where the other three digests are not needed.
func SumSHA256(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
