// Package pseudonym turns client addresses into pseudonyms that keep what
// depot's userbase statistics count — IPv4 or IPv6 /64, one address from
// another, Tor exit or not — and nothing else, and recognises them in logs.
//
// A Mapper draws a fresh random key when it is made and holds it in memory
// only: nothing here writes, returns or logs a key, so once the Mapper is
// dropped no one can map a pseudonym back to an address. The encoding is
// described in docs/pseudonyms.md.
package pseudonym
