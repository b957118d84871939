#!/usr/bin/env bash
# Builds (once) a Debian bookworm arm64 userland that stands in for Raspberry Pi OS, in a cache
# directory that later runs reuse. Needs root, debootstrap, qemu-user-static and binfmt_misc
# (tests/deploy/binfmt.sh). The mirror is the one apt uses here (EDGE_TEST_MIRROR overrides it).
#
# Usage: tests/deploy/rootfs.sh [DIR]     (default /var/cache/edge-deploy-test/rootfs)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${1:-${EDGE_TEST_ROOTFS:-/var/cache/edge-deploy-test/rootfs}}
# What a Pi OS Lite image has and the deploy script relies on: sshd, rsync, sudo, systemd
# (systemctl, journalctl, systemd-analyze), procps, coreutils (sha256sum), util-linux (flock).
packages=openssh-server,rsync,sudo,systemd,procps,coreutils,util-linux,passwd,iproute2

if [[ -f "$root/.edge-rootfs-complete" ]]; then
  echo "rootfs: reusing $root"
  exit 0
fi

mirror=${EDGE_TEST_MIRROR:-}
if [[ -z "$mirror" ]]; then
  # deb822 (URIs:) or one-line (deb URL suite ...) sources; the first Debian main archive wins.
  mirror=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
    | grep -oE 'https?://[^ ]+/debian/?' | grep -v security | head -n 1 || true)
fi
[[ -n "$mirror" ]] || mirror=http://deb.debian.org/debian

"$here/binfmt.sh"
rm -rf "$root.partial"
mkdir -p "$(dirname "$root")"
echo "rootfs: debootstrap bookworm arm64 from $mirror into $root (several minutes under qemu)"
debootstrap --arch=arm64 --variant=minbase --include="$packages" bookworm "$root.partial" "$mirror"
# The downloaded packages (~45 MB) are not needed once installed.
rm -f "$root.partial"/var/cache/apt/archives/*.deb
touch "$root.partial/.edge-rootfs-complete"
rm -rf "$root"
mv "$root.partial" "$root"
echo "rootfs: ready at $root"
