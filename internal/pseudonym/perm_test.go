package pseudonym

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func testFeistel(t testing.TB, seed byte) *feistel {
	t.Helper()
	p, err := newFeistel(bytes.Repeat([]byte{seed}, 16))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The permutations are bijections: each inverts, and a million inputs give
// 2^18 distinct outputs.
func TestPermInverts(t *testing.T) {
	p := testFeistel(t, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	seen32 := make(map[uint32]bool, 1<<18)
	for i := range 1 << 18 {
		x := uint32(i) // a dense block of inputs: the hardest case for collisions
		y := p.perm32(domainV4, x)
		if seen32[y] {
			t.Fatalf("perm32 collision at input %d", x)
		}
		seen32[y] = true
		if got := p.unperm32(domainV4, y); got != x {
			t.Fatalf("unperm32(perm32(%#x)) = %#x", x, got)
		}
		z := rng.Uint64()
		if got := p.unperm64(domainPrefix, p.perm64(domainPrefix, z)); got != z {
			t.Fatalf("unperm64(perm64(%#x)) = %#x", z, got)
		}
	}
}

// Domains and keys give unrelated permutations.
func TestPermIndependent(t *testing.T) {
	a, b := testFeistel(t, 1), testFeistel(t, 2)
	same, sameDomain := 0, 0
	for x := range uint32(10000) {
		if a.perm32(domainV4, x) == b.perm32(domainV4, x) {
			same++
		}
		if a.perm32(domainV4, x) == a.perm32(domainIID, x) {
			sameDomain++
		}
	}
	if same > 0 || sameDomain > 0 {
		t.Fatalf("%d inputs map alike under two keys, %d under two domains; want 0", same, sameDomain)
	}
}

// The tabulated permutation is the permutation.
func TestTable32(t *testing.T) {
	p := testFeistel(t, 3)
	tab := newTable32(p, domainV4)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		x := rng.Uint32()
		y := tab.perm(x)
		if want := p.perm32(domainV4, x); y != want {
			t.Fatalf("table perm(%#x) = %#x, feistel gives %#x", x, y, want)
		}
		if got := tab.unperm(y); got != x {
			t.Fatalf("unperm(perm(%#x)) = %#x", x, got)
		}
	}
}
