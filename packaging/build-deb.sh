#!/usr/bin/env bash
# Builds a minimal Debian package from a Release build:
#
#   packaging/build-deb.sh [--no-build] [OUTDIR]      (default OUTDIR: build/)
#
# It holds /usr/bin/clonefs, /usr/bin/clonectl and /usr/bin/clonefs-export, the clonefs@.service unit, the example
# /etc/clonefs/clonefs.conf (a conffile), bash completion for clonectl, man pages built from docs/CLI.md and the docs. Depends are the packages that own the
# shared libraries the binaries link against, plus fuse3.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CLONEFS_BUILD_DIR:-$root/build}"
if [[ "${1:-}" == --no-build ]]; then
  shift
else
  "$root/tools/build.sh" >/dev/null
fi
out="${1:-$build}"

version="$(sed -n 's/^project(clonefs VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")"
arch="$(dpkg --print-architecture)"
stage="$(mktemp -d)"
chmod 755 "$stage"
trap 'rm -rf "$stage"' EXIT

install -Dm755 -s "$build/tools/clonefs" "$stage/usr/bin/clonefs"
install -Dm755 -s "$build/tools/clonectl" "$stage/usr/bin/clonectl"
install -Dm755 -s "$build/tools/clonefs-export" "$stage/usr/bin/clonefs-export"
install -Dm644 "$root/packaging/clonefs@.service" "$stage/lib/systemd/system/clonefs@.service"
install -Dm644 "$root/packaging/clonefs.conf" "$stage/etc/clonefs/clonefs.conf"
install -Dm644 "$root/packaging/clonectl.bash-completion" \
  "$stage/usr/share/bash-completion/completions/clonectl"
install -Dm644 "$root/README.md" "$stage/usr/share/doc/clonefs/README.md"
install -Dm644 "$root/packaging/README.md" "$stage/usr/share/doc/clonefs/README.packaging.md"
install -Dm644 "$root/LICENSE" "$stage/usr/share/doc/clonefs/copyright"
install -d "$stage/var/lib/clonefs"
# Man pages, from docs/CLI.md (tools/make_man.py), gzipped as Debian wants them.
python3 "$root/tools/make_man.py" "$stage/man" >/dev/null
for page in "$stage"/man/*; do
  section="${page##*.}"
  install -Dm644 "$page" "$stage/usr/share/man/man$section/$(basename "$page")"
  gzip -9n "$stage/usr/share/man/man$section/$(basename "$page")"
done
rm -r "$stage/man"

# The package that ships one library file (dpkg knows it under /lib or /usr/lib).
owner() {
  local p
  for p in "$1" "${1#/usr}" "/usr$1" "$(readlink -f "$1")"; do
    dpkg -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1 && return 0
  done
  echo "build-deb: no package owns $1" >&2
  return 1
}
deps="$(ldd "$stage/usr/bin/clonefs" "$stage/usr/bin/clonectl" | awk '/=> \// {print $3}' | sort -u |
  while read -r lib; do owner "$lib"; done | sort -u | paste -sd, | sed 's/,/, /g')"

mkdir -p "$stage/DEBIAN"
cat >"$stage/DEBIAN/control" <<CONTROL
Package: clonefs
Version: $version
Architecture: $arch
Maintainer: clonefs maintainers <clonefs@localhost>
Depends: fuse3, $deps
Section: admin
Priority: optional
Description: volumes as sparse block-image files, with snapshots and clones
 clonefs is a FUSE filesystem that presents storage volumes as sparse block-image
 files to be loop-mounted. Volumes live in a copy-on-write page store.
CONTROL
echo /etc/clonefs/clonefs.conf >"$stage/DEBIAN/conffiles"
cat >"$stage/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
POSTINST
chmod 755 "$stage/DEBIAN/postinst"

mkdir -p "$out"
deb="$out/clonefs_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
echo "$deb"
