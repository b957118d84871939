# shellcheck shell=bash
# Shared by tests/deploy/run.sh and tests/deploy/fleet.sh (sourced, not run): the test's log lines and
# an emulated Pi made from the cached arm64 Debian userland (tests/deploy/rootfs.sh).

# shellcheck disable=SC2154 # t_start: set by the test that sources this, at its start
log() { printf '\n### %s (%d s)\n' "$*" $((SECONDS - t_start)); }
fail() { printf '\nFAIL: %s\n' "$*" >&2; exit 1; }
pass() { printf 'PASS: %s\n' "$*"; passed+=("$*"); }
passed=()

# A throw-away Pi at ROOT: an overlay on the cached ROOTFS (upper and work folders under WORK; a copy
# where overlayfs is not available), /proc, /dev, /run and /tmp mounted, the user `pi` with
# passwordless sudo (Raspberry Pi OS's first user) logging in with PUBKEY, a fresh host key appended to
# KNOWN_HOSTS, and its sshd configured for 127.0.0.1:PORT (started by the caller). The caller's trap
# unmounts ROOT's mounts.
make_pi() { # rootfs root work port pubkey known_hosts
  local rootfs=$1 root=$2 work=$3 port=$4 pubkey=$5 known=$6
  mkdir -p "$root" "$work/upper" "$work/overlay-work"
  mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$work/upper,workdir=$work/overlay-work" "$root" 2>/dev/null ||
    cp -a "$rootfs/." "$root/"
  mount -t proc proc "$root/proc"
  mount --bind /dev "$root/dev"
  mount --bind /dev/pts "$root/dev/pts"
  mount -t tmpfs tmpfs "$root/run"
  mount -t tmpfs tmpfs "$root/tmp"
  echo "127.0.1.1 $(hostname)" >>"$root/etc/hosts" # what sudo looks up
  chroot "$root" useradd --create-home --shell /bin/bash --groups sudo pi
  echo 'pi ALL=(ALL) NOPASSWD:ALL' >"$root/etc/sudoers.d/010_pi-nopasswd"
  chmod 0440 "$root/etc/sudoers.d/010_pi-nopasswd"
  install -d -m 0700 -o 1000 -g 1000 "$root/home/pi/.ssh"
  install -m 0600 -o 1000 -g 1000 "$pubkey" "$root/home/pi/.ssh/authorized_keys"
  rm -f "$root"/etc/ssh/ssh_host_*
  ssh-keygen -q -t ed25519 -N '' -f "$root/etc/ssh/ssh_host_ed25519_key"
  printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d ' ' -f 1,2 "$root/etc/ssh/ssh_host_ed25519_key.pub")" >>"$known"
  printf 'Port %s\nListenAddress 127.0.0.1\nHostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\n' "$port" \
    >"$root/etc/ssh/sshd_config.d/edge-test.conf"
  mkdir -p "$root/run/sshd"
}

# make_replay SRC DST REPEATS: the held-out recording SRC repeated REPEATS times with continued daily dates,
# so a replay source runs longer than the test without a jump back in time.
make_replay() {
  python3 - "$1" "$2" "$3" <<'PY'
import csv, datetime, sys
rows = list(csv.reader(open(sys.argv[1])))
header, rows = rows[0], rows[1:]
t = header.index("timestamp")
start = datetime.datetime.fromisoformat(rows[0][t])
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(header)
    for i in range(int(sys.argv[3]) * len(rows)):
        r = list(rows[i % len(rows)])
        r[t] = (start + datetime.timedelta(days=i)).isoformat()
        w.writerow(r)
PY
}
