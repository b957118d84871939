#!/usr/bin/env bash
# End-to-end test of rpi-deploy.sh without a Raspberry Pi.
#
# A Debian bookworm arm64 userland (what Raspberry Pi OS is built on; tests/deploy/rootfs.sh, cached
# in /var/cache/edge-deploy-test/rootfs) runs under qemu-user through binfmt_misc
# (tests/deploy/binfmt.sh). Each run mounts a fresh overlay of it, starts the chroot's own arm64 sshd
# on 127.0.0.1:$EDGE_TEST_SSH_PORT with a generated host key, and logs in as user `pi` (passwordless
# sudo, like Raspberry Pi OS) with a generated key. Then the real ./rpi-deploy.sh, over real ssh:
#   1. --dry-run changes nothing on the "Pi"
#   2. without --no-systemd the preflight refuses (systemd is not PID 1 in a chroot) and says what to do
#   3. deploys the real cross-published edge, the sample model (int8) and a replay config: checksums,
#      `edge selftest` on the Pi, `systemd-analyze verify` of the unit, the unit's ExecStart started
#      under supervise.sh (--no-systemd), and the health check sees forecasts in the service's log
#   4. deploys the same again: same version, nothing switched, the service not restarted
#   5. --status
#   6. a binary whose every command fails: refused by `edge selftest`, nothing switched
#   7. a binary whose `run` fails: switched, health check fails, rolled back automatically (exit 3);
#      the first release runs again and logs new forecasts
#   8. a second good release (other config), then --rollback by hand, and --keep pruning
#   9. --uninstall
# The sshd, the service and the chroot's mounts are removed at exit (trap). Every wait is bounded.
#
# Needs root and (Debian): debootstrap qemu-user-static openssh-client rsync shellcheck, plus what
# rpi-deploy.sh needs to cross-publish (dotnet, clang, lld, gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross, python3). The first run downloads ~55 MB of Debian packages (the mirror
# apt uses) and takes ~4 min more for debootstrap under qemu; then 2.5 to 6 min a run (docs/deploy.md).
#
# Environment: EDGE_TEST_ROOTFS (the cache), EDGE_TEST_SSH_PORT (default 2222), EDGE_TEST_CONFIG
# (an `edge run` config with a replay source instead of the sample), EDGE_TEST_BINARY
# (deploy this edge instead of cross-publishing; it must have `run`), EDGE_TEST_KEEP=1 (leave the
# work directory), EDGE_ARTIFACTS (build folder, default /tmp/edge-deploy-test/artifacts).
# Usage: sudo tests/deploy/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
rootfs=${EDGE_TEST_ROOTFS:-/var/cache/edge-deploy-test/rootfs}
port=${EDGE_TEST_SSH_PORT:-2222}
export EDGE_ARTIFACTS=${EDGE_ARTIFACTS:-/tmp/edge-deploy-test/artifacts}
t_start=$SECONDS

# shellcheck source=tests/deploy/lib.sh
. "$here/lib.sh"

[[ $(id -u) == 0 ]] || fail "run as root (debootstrap, chroot, mounts, binfmt_misc)"
missing=()
for tool in debootstrap qemu-aarch64-static ssh ssh-keygen rsync shellcheck aarch64-linux-gnu-gcc python3 timeout; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
((${#missing[@]} == 0)) || fail "missing: ${missing[*]} (apt-get install -y debootstrap qemu-user-static openssh-client rsync shellcheck gcc-aarch64-linux-gnu python3)"

work=$(mktemp -d /tmp/edge-deploy-test.XXXXXX)
pi=$work/pi
sshd_pid=""
cleanup() {
  local rc=$? pid root
  set +e
  # Only what this test started: processes whose root is this chroot (sshd, supervise.sh, edge).
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    root=$(readlink "/proc/$pid/root" 2>/dev/null) || continue
    [[ "$root" == "$pi" ]] && kill -KILL "$pid" 2>/dev/null
  done
  [[ -n "$sshd_pid" ]] && kill -KILL "$sshd_pid" 2>/dev/null
  sleep 0.5
  for m in dev/pts dev proc run tmp ""; do
    mountpoint -q "$pi/$m" 2>/dev/null && umount -l "$pi/$m"
  done
  if [[ "${EDGE_TEST_KEEP:-0}" == 1 ]]; then
    echo "kept $work"
  elif findmnt -rn -o TARGET | grep -q "^$work"; then
    echo "not removing $work: something is still mounted under it" >&2
  else
    rm -rf --one-file-system "$work"
  fi
  printf '\ntests/deploy/run.sh: %s in %d s (rootfs %s)\n' "$([[ $rc == 0 ]] && echo PASS || echo FAIL)" \
    $((SECONDS - t_start)) "$([[ ${rootfs_s:-0} -gt 30 ]] && echo "built in ${rootfs_s} s" || echo cached)"
  exit "$rc"
}
trap cleanup EXIT INT TERM

# ---------------------------------------------------------------- the model and its replay config
# Default: the bundled sample (samples/forecaster: the trained forecaster as ONNX + meta.json, and
# its held-out recording), converted to int8 here the way demo.sh does, and replayed at 5 days a
# second: the first forecast comes after its 50-day window, ~10 s. The recording is repeated 10
# times with continued dates so the service outlives the test. EDGE_TEST_CONFIG=FILE.json: another
# `edge run` config with a replay source instead (its "model" and "source.path" relative to it).
template=${EDGE_TEST_CONFIG:-}
if [[ -z "$template" ]]; then
  sample=$repo/samples/forecaster
  for f in forecaster.onnx meta.json holdout.csv; do
    [[ -f "$sample/$f" ]] || fail "samples/forecaster/$f is missing (tools/train_forecaster.py makes it), or set EDGE_TEST_CONFIG"
  done
  log "the sample model: convert samples/forecaster/forecaster.onnx to int8"
  timeout 900 dotnet run -c Release --project "$repo/Quantizer" -v quiet -- convert "$sample/forecaster.onnx" \
    --output "$work/forecaster.edge" --precision int8 --metadata "$sample/meta.json" >"$work/convert.log" 2>&1 ||
    { cat "$work/convert.log"; fail "edge-quantize convert failed"; }
  make_replay "$sample/holdout.csv" "$work/replay.csv" 10
  template=$work/sample.json
  cat >"$template" <<EOF
{
  "model": "$work/forecaster.edge",
  "resample": "none",
  "source": { "kind": "replay", "path": "$work/replay.csv", "format": "csv", "time_field": "timestamp", "speed": "432000" }
}
EOF
fi
[[ -f "$template" ]] || fail "EDGE_TEST_CONFIG $template: no such file"
model=$(python3 -c 'import json, os, sys; c = json.load(open(sys.argv[1])); print(os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), c["model"]))' "$template")
[[ -f "$model" ]] || fail "the config's model $model does not exist"

log "shellcheck"
shellcheck "$repo/rpi-deploy.sh" "$repo"/deploy/*.sh "$here"/*.sh
pass "shellcheck clean: rpi-deploy.sh deploy/*.sh tests/deploy/*.sh"

# ---------------------------------------------------------------- the "Pi"
log "arm64 userland"
"$here/binfmt.sh"
t0=$SECONDS
"$here/rootfs.sh" "$rootfs"
rootfs_s=$((SECONDS - t0))

# A fresh, throw-away Pi on every run (lib.sh), logged in to as `pi` with a key made here.
ssh-keygen -q -t ed25519 -N '' -C edge-deploy-test -f "$work/id_ed25519"
: >"$work/known_hosts"
make_pi "$rootfs" "$pi" "$work" "$port" "$work/id_ed25519.pub" "$work/known_hosts"
chroot "$pi" uname -m | grep -qx aarch64 || fail "the chroot does not run arm64 programs (binfmt_misc?)"
log "sshd (arm64, in the chroot) on 127.0.0.1:$port"
chroot "$pi" /usr/sbin/sshd -D -e >"$work/sshd.log" 2>&1 &
sshd_pid=$!
disown "$sshd_pid" # killed by the trap; no job notice

ssh_opts=(-i "$work/id_ed25519" -p "$port" -o "UserKnownHostsFile=$work/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=5)
pi_ssh() { timeout 120 ssh "${ssh_opts[@]}" pi@127.0.0.1 "$@"; }
for ((i = 0; i < 60; i++)); do
  pi_ssh true 2>/dev/null && break
  kill -0 "$sshd_pid" 2>/dev/null || { cat "$work/sshd.log"; fail "sshd exited"; }
  sleep 1
done
[[ "$(pi_ssh 'uname -m; sudo -n id -u')" == $'aarch64\n0' ]] || { cat "$work/sshd.log"; fail "no ssh login as pi with sudo within 60 s"; }
pass "ssh pi@127.0.0.1:$port: an arm64 Debian bookworm with passwordless sudo ($(pi_ssh 'cat /etc/debian_version'))"

# ---------------------------------------------------------------- inputs of the deploy
deploy() { # args...: rpi-deploy.sh against the chroot; output in $work/out, status in $rc
  rc=0
  timeout 1200 "$repo/rpi-deploy.sh" --port "$port" --identity "$work/id_ed25519" \
    --ssh-option "UserKnownHostsFile=$work/known_hosts" --ssh-option StrictHostKeyChecking=yes \
    "$@" pi@127.0.0.1 >"$work/out" 2>&1 || rc=$?
  sed 's/^/    | /' "$work/out"
}
expect() { grep -Eq -- "$1" "$work/out" || fail "expected /$1/ in the output above"; }
# shellcheck disable=SC2016 # these expand on the Pi
current() { pi_ssh 'basename "$(readlink /opt/edge/current)"' 2>/dev/null || true; }
main_pid() { pi_ssh 'cat /run/edge-supervise/main.pid' 2>/dev/null || true; }
forecasts() { pi_ssh 'grep -c "\"forecast\":\[" /var/log/edge/edge.log' 2>/dev/null || echo 0; }

# The replay config as a user would write it, naming local files (rpi-deploy.sh ships them), with
# a stdout sink (the forecasts the health check looks for) and a device name; two versions of it
# (device names differ) make two releases.
make_config() { # device out
  python3 - "$template" "$1" "$2" <<'PY'
import json, os, sys
src, device, out = sys.argv[1:]
c = json.load(open(src))
base = os.path.dirname(os.path.abspath(src))
c["model"] = os.path.join(base, c["model"])
c["source"]["path"] = os.path.join(base, c["source"]["path"])
c["device"] = device
c["sinks"] = [{"kind": "stdout"}]
c.setdefault("stats_interval_s", 10)
json.dump(c, open(out, "w"), indent=2)
PY
}
mkdir -p "$work/site"
make_config pi-test "$work/site/edge.json"
make_config pi-test-2 "$work/site/edge-2.json"

binary_args=()
if [[ -n "${EDGE_TEST_BINARY:-}" ]]; then
  binary_args=(--binary "$EDGE_TEST_BINARY")
fi
aarch64-linux-gnu-gcc -static -O2 -DBROKEN_SELFTEST "$here/edge-double.c" -o "$work/edge-broken-selftest"
aarch64-linux-gnu-gcc -static -O2 "$here/edge-double.c" -o "$work/edge-broken-run"

# ---------------------------------------------------------------- 1. dry run
log "1. --dry-run"
deploy --dry-run --no-systemd --model "$model" --config "$work/site/edge.json" "${binary_args[@]}"
((rc == 0)) || fail "dry run exited $rc"
expect 'would run on .* as root: deploy/remote.sh activate'
[[ -z "$(pi_ssh 'ls /opt/edge 2>/dev/null')" ]] || fail "the dry run changed the Pi"
pass "--dry-run prints the steps and changes nothing"

# ---------------------------------------------------------------- 2. systemd is not running
log "2. preflight without --no-systemd"
deploy --model "$model" --config "$work/site/edge.json" "${binary_args[@]}"
((rc == 1)) || fail "expected exit 1, got $rc"
expect 'systemd is not running here.*--no-systemd'
pass "preflight refuses a Pi without systemd and names --no-systemd"

# ---------------------------------------------------------------- 3. the first release
log "3. deploy the real edge (cross-publish, copy, verify, selftest, switch, health)"
t0=$SECONDS
deploy --no-systemd --keep 2 --health-timeout 180 --model "$model" --config "$work/site/edge.json" "${binary_args[@]}"
first_deploy_s=$((SECONDS - t0))
((rc == 0)) || fail "deploy exited $rc"
v1=$(current)
[[ -n "$v1" ]] || fail "/opt/edge/current is not set"
expect "checksums ok"
expect "systemd-analyze verify: edge.service ok"
expect "edge selftest passed"
expect "healthy: active, first forecast"
pi_ssh "cd /opt/edge/releases/$v1 && sudo -n sha256sum --quiet -c SHA256SUMS" || fail "release $v1 does not match its checksums"
pi_ssh "sudo -n grep -q '\"path\": \"files/' /opt/edge/releases/$v1/config.json && sudo -n grep -q '\"model\": \"model.edge\"' /opt/edge/releases/$v1/config.json" ||
  fail "the replay CSV was not shipped or the config not rewritten"
# shellcheck disable=SC2016
pi_ssh 'ps -o user= -p "$(cat /run/edge-supervise/main.pid)"' | grep -qx edge || fail "edge does not run as user edge"
mkdir -p "$work/v1"
built=${EDGE_TEST_BINARY:-$EDGE_ARTIFACTS/rpi-deploy/arm64/publish/Edge.Device/release_linux-arm64/edge}
cp "$built" "$work/v1/edge"
for lib in "$(dirname "$built")"/*.so; do
  [[ -f "$lib" ]] && cp "$lib" "$work/v1/"
done
pass "release $v1 deployed in ${first_deploy_s} s: checksums, unit verified, selftest on the Pi, runs as user edge, forecasts from the replay source ($(forecasts) so far)"

# ---------------------------------------------------------------- 4. idempotent
log "4. deploy the same again"
pid1=$(main_pid)
# The very binary of step 3: the shared checkout may have changed since (a commit changes the
# binary's informational version), and a rebuilt binary is rightly a new release.
deploy --no-systemd --keep 2 --model "$model" --config "$work/site/edge.json" --binary "$work/v1/edge"
((rc == 0)) || fail "re-deploy exited $rc"
expect "already current and the service is active: nothing to switch"
[[ "$(current)" == "$v1" && "$(main_pid)" == "$pid1" ]] || fail "the re-deploy switched or restarted (pid $pid1 -> $(main_pid))"
pass "re-deploying the same build is a no-op (same version $v1, same process)"

# ---------------------------------------------------------------- 5. status
log "5. --status"
deploy --no-systemd --status
((rc == 0)) || fail "--status exited $rc"
expect "current: +$v1"
expect '"forecast":\['
pass "--status shows the release and the service's log"

# ---------------------------------------------------------------- 6. selftest refuses
log "6. a release whose edge fails everything"
deploy --no-systemd --keep 2 --model "$model" --config "$work/site/edge.json" --binary "$work/edge-broken-selftest"
((rc == 1)) || fail "expected exit 1, got $rc"
expect "edge selftest failed on release"
[[ "$(current)" == "$v1" && "$(main_pid)" == "$pid1" ]] || fail "a release that failed selftest was switched to"
pass "a release failing edge selftest on the Pi is refused before the switch; $v1 keeps running"

# ---------------------------------------------------------------- 7. automatic rollback
log "7. a release whose edge run fails: automatic rollback"
deploy --no-systemd --keep 2 --health-timeout 60 --model "$model" --config "$work/site/edge.json" --binary "$work/edge-broken-run"
((rc == 3)) || fail "expected exit 3 (rolled back), got $rc"
expect "ROLLBACK: release .* failed its health check; switching back to $v1"
expect "ROLLED BACK"
[[ "$(current)" == "$v1" ]] || fail "current is $(current), not $v1"
pid2=$(main_pid)
[[ -n "$pid2" && "$pid2" != "$pid1" ]] || fail "the service was not restarted on $v1"
n=$(forecasts)
for ((i = 0; i < 60; i++)); do
  (($(forecasts) > n)) && break
  sleep 1
done
(($(forecasts) > n)) || fail "no new forecasts after the rollback within 60 s"
pass "a release failing its health check is rolled back automatically (exit 3); $v1 runs again and forecasts"

# ---------------------------------------------------------------- 8. second release, manual rollback, keep
log "8. a second release, --rollback, --keep 2"
deploy --no-systemd --keep 2 --health-timeout 180 --model "$model" --config "$work/site/edge-2.json" "${binary_args[@]}"
((rc == 0)) || fail "deploy of the second release exited $rc"
v2=$(current)
[[ -n "$v2" && "$v2" != "$v1" ]] || fail "a different config did not give a different version"
deploy --no-systemd --rollback --health-timeout 180
((rc == 0)) || fail "--rollback exited $rc"
[[ "$(current)" == "$v1" ]] || fail "--rollback went to $(current), not $v1"
releases=$(pi_ssh 'ls /opt/edge/releases' | LC_ALL=C sort | tr '\n' ' ')
[[ "$releases" == "$(printf '%s\n' "$v1" "$v2" | LC_ALL=C sort | tr '\n' ' ')" ]] || fail "releases kept: $releases (expected $v1 $v2)"
pass "second release $v2, --rollback back to $v1; --keep 2 kept exactly: $releases"

# ---------------------------------------------------------------- 9. uninstall
log "9. --uninstall"
deploy --no-systemd --uninstall
((rc == 0)) || fail "--uninstall exited $rc"
[[ -z "$(pi_ssh 'ls /opt/edge 2>/dev/null; cat /run/edge-supervise/main.pid 2>/dev/null')" ]] || fail "/opt/edge or the service is still there"
pass "--uninstall stops the service and removes /opt/edge"

echo
printf 'passed:\n'
printf '  %s\n' "${passed[@]}"
