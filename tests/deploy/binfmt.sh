#!/usr/bin/env bash
# Registers qemu-aarch64 with binfmt_misc so that arm64 programs run on this x86_64 machine:
#   F  the interpreter is opened at registration, so a chroot runs arm64 programs with no qemu copy
#   C  credentials come from the program, not from qemu: setuid programs (sudo) work in the chroot
# Idempotent; an existing registration without F or C is replaced (and said so). Needs root and
# qemu-user-static. Usage: tests/deploy/binfmt.sh
set -euo pipefail
dir=/proc/sys/fs/binfmt_misc
conf=/usr/lib/binfmt.d/qemu-aarch64.conf
if [[ ! -e "$dir/register" ]]; then
  mount -t binfmt_misc binfmt_misc "$dir"
fi
if [[ -e "$dir/qemu-aarch64" ]]; then
  flags=$(sed -n 's/^flags: //p' "$dir/qemu-aarch64")
  if [[ "$flags" == *F* && "$flags" == *C* ]]; then
    exit 0
  fi
  echo "binfmt: qemu-aarch64 is registered with flags '$flags'; re-registering it with F and C"
  echo -1 > "$dir/qemu-aarch64"
fi
[[ -r "$conf" ]] || { echo "binfmt: $conf missing: apt-get install -y qemu-user-static" >&2; exit 1; }
line=$(grep -v '^#' "$conf" | head -n 1)
flags=${line##*:}
line=${line%:*}:
[[ "$flags" == *F* ]] || flags+=F
[[ "$flags" == *C* ]] || flags+=C
printf '%s%s' "$line" "$flags" > "$dir/register"
echo "binfmt: registered qemu-aarch64 ($(sed -n 's/^interpreter //p' "$dir/qemu-aarch64"), flags $(sed -n 's/^flags: //p' "$dir/qemu-aarch64"))"
