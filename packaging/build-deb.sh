#!/bin/bash
# packaging/build-deb.sh: build depot_<version>_<arch>.deb from this
# repository with dpkg-deb, which every Debian system has (no nfpm, no
# debhelper: the package is one static binary and a few text files).
#
#   bash packaging/build-deb.sh [OUTDIR]     # default OUTDIR: the repository
#   VERSION=1.2.0 DEB_ARCH=arm64 bash packaging/build-deb.sh /tmp/out
#
# The package holds /usr/bin/depot (static, -trimpath, VCS-stamped), the
# systemd units, /usr/lib/tmpfiles.d/depot.conf, the example configuration
# as the conffile /etc/depot/depot.toml, a man page per command, and the
# maintainer scripts of packaging/debian/. The version is VERSION, or the
# git tag vX.Y.Z on HEAD, or X.Y.Z~gitYYYYMMDDhhmmss.<commit> after the last
# tag (0.0.0 before any), with +dirty for uncommitted changes.
# Needs: go, git, dpkg-deb, gzip.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$repo}" && cd "${1:-$repo}" && pwd)
for tool in go git dpkg-deb gzip; do
	command -v "$tool" >/dev/null || { echo "build-deb.sh: $tool is not installed" >&2; exit 1; }
done

arch=${DEB_ARCH:-$(dpkg --print-architecture 2>/dev/null || go env GOARCH)}
goarm=
case "$arch" in
amd64 | arm64 | riscv64 | s390x) goarch=$arch ;;
i386) goarch=386 ;;
armhf) goarch=arm goarm=7 ;;
ppc64el) goarch=ppc64le ;;
*) echo "build-deb.sh: no Go architecture for Debian's $arch" >&2; exit 1 ;;
esac

if [ -z "${VERSION:-}" ]; then
	cd "$repo"
	if tag=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null); then
		VERSION=${tag#v}
	else
		base=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null || echo v0.0.0)
		VERSION="${base#v}~git$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S).$(git rev-parse --short=12 HEAD)"
	fi
	if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
		VERSION="$VERSION+dirty"
	fi
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/lib/systemd/system" "$root/usr/lib/tmpfiles.d" \
	"$root/etc/depot" "$root/usr/share/man/man1" "$root/usr/share/doc/depot"

# The binary. -buildvcs=true overrides a GOFLAGS=-buildvcs=false; the go
# command can stamp the commit only in a clone (not in a git worktree),
# and `depot version` then says the commit is unknown.
(cd "$repo" && CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm \
	go build -trimpath -buildvcs=true "-ldflags=-s -w -buildid=" -o "$root/usr/bin/depot" ./cmd/depot)

install -m 0644 "$repo"/packaging/systemd/depot.service "$repo"/packaging/systemd/depot-stats.service \
	"$repo"/packaging/systemd/depot-stats.timer "$root/usr/lib/systemd/system/"
install -m 0644 "$repo/packaging/depot.tmpfiles" "$root/usr/lib/tmpfiles.d/depot.conf"
install -m 0644 "$repo/examples/depot.toml" "$root/etc/depot/depot.toml"

# Man pages from the cobra commands, by the binary itself (go run when
# cross-building).
if [ "$goarch" = "$(go env GOARCH)" ]; then
	"$root/usr/bin/depot" manpages "$stage/man" >/dev/null
else
	(cd "$repo" && go run ./cmd/depot manpages "$stage/man" >/dev/null)
fi
for page in "$stage"/man/*.1; do
	gzip -9n <"$page" >"$root/usr/share/man/man1/$(basename "$page").gz"
done

install -m 0644 "$repo/packaging/debian/copyright" "$root/usr/share/doc/depot/copyright"
gzip -9n <"$repo/README.md" >"$root/usr/share/doc/depot/README.md.gz"
gzip -9n >"$root/usr/share/doc/depot/changelog.Debian.gz" <<CHANGELOG
depot ($VERSION) unstable; urgency=medium

  * Built from commit $(cd "$repo" && git rev-parse HEAD 2>/dev/null || echo unknown).

 -- depot maintainers <depot@localhost>  $(LC_ALL=C date -u -R -d "@${SOURCE_DATE_EPOCH:-$(cd "$repo" && git log -1 --format=%ct 2>/dev/null || date +%s)}")
CHANGELOG

for script in postinst prerm postrm; do
	install -m 0755 "$repo/packaging/debian/$script" "$root/DEBIAN/$script"
done
echo /etc/depot/depot.toml >"$root/DEBIAN/conffiles"
cat >"$root/DEBIAN/control" <<CONTROL
Package: depot
Version: $VERSION
Architecture: $arch
Maintainer: depot maintainers <depot@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: adduser
Recommends: tor
Section: httpd
Priority: optional
Homepage: https://example.org/depot
Description: privacy-respecting web and package repository server
 depot serves a software project's static website and its yum and apt
 repositories, writes nginx-compatible logs on clearnet listeners and none
 on onion listeners, rotates and prunes them by a retention policy,
 estimates the monthly userbase (Tor users included) from aggregates only,
 watches volunteer mirrors with live DNF metalinks, runs an allowlisted
 updates proxy over Tor, and checks its own privacy policy (depot audit).
CONTROL
(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"

deb="$out/depot_${VERSION}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
