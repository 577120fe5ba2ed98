#!/usr/bin/env bash
# Runs .ci/run, as CI would, on Debian 13 (trixie: OpenSSL 3.5, GCC 14, clang 19) inside a chroot
# on this Debian 12 machine, against a fresh clone of this repository's HEAD. CI machines may be
# either release; this is how a change is checked on the one CI is not running on. By hand, as
# root; it takes about as long as CI plus 5 minutes of downloads the first time.
#
#   bash scripts/debian13-check.sh [ROOT]     ROOT defaults to /tmp/ekms-trixie (reused if there)
#
# Node.js is the machine's own (its nodejs package files and npm, copied in), as on a CI machine,
# where Node comes with the image, not from Debian. The last line is .ci/run's `N passed, N failed`;
# the exit status is its own.
set -euo pipefail
root=${1:-/tmp/ekms-trixie}
repo=$(cd "$(dirname "$0")/.." && pwd)

if [ ! -x "$root/usr/bin/apt-get" ]; then
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  echo "debootstrap trixie into $root"
  debootstrap --variant=minbase --include=ca-certificates trixie "$root" http://deb.debian.org/debian >"$root.debootstrap.log" 2>&1 ||
    { tail -n 20 "$root.debootstrap.log"; exit 1; }
fi

# The machine's certificate authorities (a proxy's among them) and name resolution.
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
chroot "$root" update-ca-certificates >/dev/null 2>&1 || true

# Node.js and npm as installed here.
dpkg -L nodejs | while read -r f; do if [ -f "$f" ] || [ -L "$f" ]; then echo "$f"; fi; done | tar -cf - -T - 2>/dev/null | tar -xf - -C "$root"
rm -rf "$root/usr/lib/node_modules/npm" && cp -a /usr/lib/node_modules/npm "$root/usr/lib/node_modules/"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
[ -f "$HOME/.npmrc" ] && cp "$HOME/.npmrc" "$root/root/.npmrc"

mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true; done
}
trap cleanup EXIT
for d in proc sys dev dev/pts dev/shm; do
  if ! mountpoint -q "$root/$d"; then
    mount --bind "/$d" "$root/$d"
    mounted+=("$root/$d")
  fi
done

rm -rf "$root/root/ci" "$root/root/shared"
git clone -q "$repo" "$root/root/ci"
# AWS's reference files, found by the tests beside the clone (test/cli/reference.ts).
if [ -d "$repo/../shared/reference" ]; then
  mkdir -p "$root/root/shared" && cp -a "$repo/../shared/reference" "$root/root/shared/"
fi
echo "Debian $(cat "$root/etc/debian_version"), clone of $(git -C "$repo" rev-parse --short HEAD)"
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  CI=true TERM=dumb NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt /bin/bash -c 'cd /root/ci && bash .ci/run'
