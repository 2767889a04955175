// Package mirrors owns the mirror registry, the freshness checks of every
// mirror against the origin's files, the state those checks leave under
// data_dir, and what is answered from it: live metalinks, redirects and the
// status page.
//
// It never connects anywhere but the configured mirrors' URLs (no proxy
// from the environment, no redirect to another host), never trusts a
// mirror that failed until a complete check of it succeeds, and never
// offers a mirror for repository metadata unless it was seen holding
// exactly a version the client can verify. Its responders never log.
package mirrors
