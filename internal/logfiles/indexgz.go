package logfiles

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"net/netip"

	"github.com/klauspost/compress/flate"

	"depot/internal/logaddr"
)

// depot compresses rotated logs as "indexed gzip": an ordinary gzip file
// (zcat, zgrep and every gzip library read it unchanged) made of members of
// about blockSize uncompressed bytes, each cut at a line end, each carrying
// in its header's extra field (RFC 1952 section 2.3.1.1, subfield "Dp"):
//
//	version      1 byte  (1)
//	member size  4 bytes little-endian, header to trailer inclusive
//	min, max     8+8 bytes, Unix seconds of the member's dated lines
//	dated lines  4 bytes
//	k            1 byte, bloom hash count
//	bloom        the rest: a Bloom filter of client addresses and their
//	             /24 (IPv4) or /48 (IPv6) prefixes
//
// The member size lets search step from header to header without inflating,
// and skip every member whose time range or address filter cannot match.
// Members are independent, so one file can be inflated on several cores.
// Files without the subfield (nginx's, logrotate's) are read sequentially.

const (
	blockSize       = 1 << 20
	maxBloomBytes   = 32 << 10
	bloomBitsPerKey = 10
	bloomK          = 7
	indexVersion    = 1
	indexFixedLen   = 1 + 4 + 8 + 8 + 4 + 1
	gzipHeaderLen   = 10
)

// member is one indexed gzip member.
type member struct {
	off, size int64
	min, max  int64 // Unix seconds; max < min when no line was dated
	dated     uint32
	k         uint8
	bloom     []byte
}

// addrKey is a Bloom filter key: a tag (0 exact address, 1 prefix) and the
// 16-byte form of the (masked) address.
type addrKey [17]byte

func exactKey(a netip.Addr) addrKey {
	var k addrKey
	b := a.Unmap().As16()
	copy(k[1:], b[:])
	return k
}

// prefixKey is the key of the /24 or /48 that holds a.
func prefixKey(a netip.Addr) addrKey {
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	k := exactKey(p.Addr())
	k[0] = 1
	return k
}

func (k *addrKey) hashes() (h1, h2 uint64) {
	h := uint64(14695981039346656037)
	for _, c := range k {
		h ^= uint64(c)
		h *= 1099511628211
	}
	h2 = h ^ (h >> 31)
	h2 *= 0x9e3779b97f4a7c15
	return h, h2 | 1
}

func bloomAdd(bloom []byte, k uint8, key *addrKey) {
	n := uint64(len(bloom)) * 8
	h1, h2 := key.hashes()
	for i := range uint64(k) {
		bit := (h1 + i*h2) % n
		bloom[bit/8] |= 1 << (bit % 8)
	}
}

func bloomHas(bloom []byte, k uint8, key *addrKey) bool {
	n := uint64(len(bloom)) * 8
	if n == 0 {
		return false
	}
	h1, h2 := key.hashes()
	for i := range uint64(k) {
		bit := (h1 + i*h2) % n
		if bloom[bit/8]&(1<<(bit%8)) == 0 {
			return false
		}
	}
	return true
}

// indexedWriter writes indexed gzip to w. Close must be called to write the
// last member.
type indexedWriter struct {
	w    io.Writer
	buf  []byte
	z    bytes.Buffer
	fw   *flate.Writer
	keys map[addrKey]struct{}
}

func newIndexedWriter(w io.Writer) *indexedWriter {
	fw, _ := flate.NewWriter(nil, flate.DefaultCompression) // the level is valid
	return &indexedWriter{w: w, buf: make([]byte, 0, blockSize+64<<10), fw: fw, keys: map[addrKey]struct{}{}}
}

// Write buffers p and writes every complete block of whole lines.
func (iw *indexedWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		room := blockSize - len(iw.buf)
		if room > len(p) {
			iw.buf = append(iw.buf, p...)
			return n, nil
		}
		iw.buf = append(iw.buf, p[:room]...)
		p = p[room:]
		// Cut at the last line end; a block with no newline at all is cut
		// where it is.
		cut := bytes.LastIndexByte(iw.buf, '\n') + 1
		if cut == 0 {
			cut = len(iw.buf)
		}
		if err := iw.writeMember(iw.buf[:cut]); err != nil {
			return 0, err
		}
		iw.buf = append(iw.buf[:0], iw.buf[cut:]...)
	}
	return n, nil
}

// Close writes what is buffered as the last member. An empty input still
// gives one (empty) member, so the file is valid gzip.
func (iw *indexedWriter) Close() error {
	return iw.writeMember(iw.buf)
}

func (iw *indexedWriter) writeMember(data []byte) error {
	clear(iw.keys)
	minT, maxT := int64(math.MaxInt64), int64(math.MinInt64)
	var dated uint32
	for rest := data; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if t, ok := lineTime(line); ok {
			minT, maxT = min(minT, t), max(maxT, t)
			dated++
		}
		if a, ok := logaddr.Parse(lineAddr(line)); ok {
			iw.keys[exactKey(a)] = struct{}{}
			iw.keys[prefixKey(a)] = struct{}{}
		}
	}
	nbytes := 8
	for nbytes*8 < len(iw.keys)*bloomBitsPerKey && nbytes < maxBloomBytes {
		nbytes *= 2
	}
	if len(iw.keys) == 0 {
		nbytes = 0
	}

	iw.z.Reset()
	iw.fw.Reset(&iw.z)
	if _, err := iw.fw.Write(data); err != nil {
		return err
	}
	if err := iw.fw.Close(); err != nil {
		return err
	}

	extraLen := 4 + indexFixedLen + nbytes
	hdr := make([]byte, 0, gzipHeaderLen+2+extraLen)
	hdr = append(hdr, 0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, 0, 255)
	hdr = binary.LittleEndian.AppendUint16(hdr, uint16(extraLen))
	hdr = append(hdr, 'D', 'p')
	hdr = binary.LittleEndian.AppendUint16(hdr, uint16(indexFixedLen+nbytes))
	size := len(hdr) + indexFixedLen + nbytes + iw.z.Len() + 8
	hdr = append(hdr, indexVersion)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(size))
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(minT))
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(maxT))
	hdr = binary.LittleEndian.AppendUint32(hdr, dated)
	hdr = append(hdr, bloomK)
	bloomAt := len(hdr)
	hdr = append(hdr, make([]byte, nbytes)...)
	for k := range iw.keys {
		bloomAdd(hdr[bloomAt:], bloomK, &k)
	}
	trailer := binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(data))
	trailer = binary.LittleEndian.AppendUint32(trailer, uint32(len(data)))
	for _, b := range [][]byte{hdr, iw.z.Bytes(), trailer} {
		if _, err := iw.w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

var errNotIndexed = errors.New("not an indexed gzip member")

// readIndex reads the headers of the indexed members at the start of a
// gzip file of the given size. rest is the offset where data that is not
// indexed begins (size when every member is indexed); it must be read as
// ordinary gzip.
func readIndex(r io.ReaderAt, size int64) (members []member, rest int64) {
	var off int64
	for off < size {
		m, err := readMemberHeader(r, off, size)
		if err != nil {
			return members, off
		}
		members = append(members, m)
		off += m.size
	}
	return members, off
}

func readMemberHeader(r io.ReaderAt, off, size int64) (member, error) {
	var fixed [gzipHeaderLen + 2]byte
	if _, err := r.ReadAt(fixed[:], off); err != nil {
		return member{}, err
	}
	if fixed[0] != 0x1f || fixed[1] != 0x8b || fixed[2] != 8 || fixed[3] != 0x04 {
		return member{}, errNotIndexed
	}
	xlen := int(binary.LittleEndian.Uint16(fixed[10:]))
	extra := make([]byte, xlen)
	if _, err := r.ReadAt(extra, off+int64(len(fixed))); err != nil {
		return member{}, err
	}
	for len(extra) >= 4 {
		n := int(binary.LittleEndian.Uint16(extra[2:4]))
		if 4+n > len(extra) {
			break
		}
		if extra[0] == 'D' && extra[1] == 'p' && n >= indexFixedLen && extra[4] == indexVersion {
			p := extra[4 : 4+n]
			m := member{
				off:   off,
				size:  int64(binary.LittleEndian.Uint32(p[1:])),
				min:   int64(binary.LittleEndian.Uint64(p[5:])),
				max:   int64(binary.LittleEndian.Uint64(p[13:])),
				dated: binary.LittleEndian.Uint32(p[21:]),
				k:     p[25],
				bloom: p[indexFixedLen:],
			}
			if m.size < int64(len(fixed)+xlen+8) || off+m.size > size {
				return member{}, errNotIndexed
			}
			return m, nil
		}
		extra = extra[4+n:]
	}
	return member{}, errNotIndexed
}
