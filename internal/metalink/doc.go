// Package metalink builds Metalink 3 documents in the dialect DNF reads
// (MirrorManager's) and Metalink 4 documents (RFC 5854), and reads the
// timestamp of a repomd.xml. It only formats and parses bytes: it never
// opens a file or a connection, and every text value it writes is
// XML-escaped.
package metalink
