#!/bin/bash
# make-tree.sh regenerates tree/, the demo content embedded in depot, from
# src/. The output is byte-for-byte reproducible: every timestamp is
# SOURCE_DATE_EPOCH and the signatures are deterministic Ed25519.
#
#   internal/demo/make-tree.sh        # rewrite internal/demo/tree
#   internal/demo/make-tree.sh --check  # fail if tree/ is not what src/ makes
#
# Needs: rpmbuild, createrepo_c, dpkg-deb, apt-ftparchive, gpg, gzip.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$here/src
export SOURCE_DATE_EPOCH=1767225600 # 2026-01-01 00:00:00 UTC
export TZ=UTC LC_ALL=C
umask 022

for tool in rpmbuild createrepo_c dpkg-deb apt-ftparchive gpg gzip; do
	command -v "$tool" >/dev/null || { echo "make-tree.sh: $tool not found; install it (see .ci/run)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/tree
mkdir -p "$out"

# The demo signing key. DEMO ONLY: its secret half is in src/key.
export GNUPGHOME=$work/gnupg
mkdir -m 700 "$GNUPGHOME"
gpgq() {
	gpg --batch --no-tty --quiet --pinentry-mode loopback --passphrase '' \
		--faked-system-time "${SOURCE_DATE_EPOCH}!" --digest-algo SHA512 "$@" 2>/dev/null
}
gpgq --import "$src/key/secret.asc"
gpgq --armor --comment "DEMO ONLY: throwaway key, its secret half is public. Never trust it." \
	--export demo@depot.invalid >"$out/KEY.asc"

# Website.
cp "$src"/site/* "$out/"

# yum, laid out as Qubes does: <release>/current/host/<dist>/{rpm,repodata}.
yum=$out/yum/r4.2/current/host/fc37
mkdir -p "$yum/rpm" "$work/rpmbuild"
rpmbuild --quiet -bb "$src/rpm/depot-demo-hello.spec" \
	--define "_topdir $work/rpmbuild" \
	--define "_buildhost depot-demo" \
	--define "use_source_date_epoch_as_buildtime 1" \
	--define "clamp_mtime_to_source_date_epoch 1" \
	--define "_binary_payload w9.gzdio" \
	--define "_build_id_links none" >/dev/null
cp "$work"/rpmbuild/RPMS/noarch/depot-demo-hello-1.0-1.noarch.rpm "$yum/rpm/"
touch -d "@$SOURCE_DATE_EPOCH" "$yum"/rpm/*.rpm # createrepo_c records the mtime
createrepo_c --quiet --no-database --workers 1 --general-compress-type gz \
	--revision "$SOURCE_DATE_EPOCH" --set-timestamp-to-revision "$yum" >/dev/null
gpgq --armor --detach-sign -o "$yum/repodata/repomd.xml.asc" "$yum/repodata/repomd.xml"

# apt, laid out as Qubes does: <release>/<flavour>/{dists,pool}.
deb=$out/deb/r4.2/vm
pkg=$work/depot-demo-hello
cp -r "$src/deb/depot-demo-hello" "$pkg"
find "$pkg" -type d -exec chmod 755 {} +
find "$pkg" -type f -exec chmod 644 {} +
chmod 755 "$pkg/usr/bin/depot-demo-hello"
mkdir -p "$deb/pool/main/d/depot-demo-hello"
dpkg-deb --root-owner-group -Zgzip --build "$pkg" \
	"$deb/pool/main/d/depot-demo-hello/depot-demo-hello_1.0-1_all.deb" >/dev/null
(
	cd "$deb"
	for arch in amd64 arm64; do
		mkdir -p "dists/bookworm/main/binary-$arch"
		apt-ftparchive packages pool >"dists/bookworm/main/binary-$arch/Packages"
		gzip -9n <"dists/bookworm/main/binary-$arch/Packages" >"dists/bookworm/main/binary-$arch/Packages.gz"
	done
	apt-ftparchive \
		-o APT::FTPArchive::Release::Origin=depot-demo \
		-o APT::FTPArchive::Release::Label="depot demo (DEMO ONLY)" \
		-o APT::FTPArchive::Release::Suite=bookworm \
		-o APT::FTPArchive::Release::Codename=bookworm \
		-o APT::FTPArchive::Release::Architectures="amd64 arm64" \
		-o APT::FTPArchive::Release::Components=main \
		-o APT::FTPArchive::Release::Date="Thu, 01 Jan 2026 00:00:00 UTC" \
		-o APT::FTPArchive::Release::Description="depot's embedded demo repository; signed with a public demo key" \
		release dists/bookworm >"$work/Release"
	mv "$work/Release" dists/bookworm/Release
	gpgq --clearsign -o dists/bookworm/InRelease dists/bookworm/Release
	gpgq --armor --detach-sign -o dists/bookworm/Release.gpg dists/bookworm/Release
)

find "$out" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

if [[ ${1:-} == --check ]]; then
	diff -r "$here/tree" "$out" && echo "tree/ is up to date"
	exit
fi
rm -rf "$here/tree"
mv "$out" "$here/tree"
du -sb "$here/tree"
