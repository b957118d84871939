#!/usr/bin/env bash
# End-to-end test of the Ansible rollout (deploy/ansible/) on a fleet of three emulated Pis, and of
# Prometheus scraping them. No real Pi, everything on 127.0.0.0/8:
#   - three throw-away overlays of the cached arm64 Debian userland (tests/deploy/rootfs.sh), each with
#     its own arm64 sshd on 127.0.0.1:$port (pi1..pi3), user pi with passwordless sudo, as run.sh does
#   - driven by the real ansible-playbook through deploy/ansible/fleet.sh (one command + summary):
#     1. first rollout to all three (canary pi1, then a batch of pi2 and pi3), each Pi serving its
#        forecasts and /metrics on its own loopback port
#     2. --check with new inputs changes nothing (same release, same process on every Pi)
#     3. a second release where pi3's config is broken (its serial port is /dev/null: the device node
#        exists, so the checks before the switch pass, but it is no serial line: the service starts
#        and never forecasts): pi1 and pi2 run the new release, pi3 alone is rolled
#        back to the first and forecasts again, the playbook fails (max_fail_percentage 0)
#     4. a model-only update: a new .edge to all three, the binary not copied (same inode as the
#        release before), checked by `edge model-check` on each Pi; then rpi-deploy.sh --rollback on
#        pi1 goes back to the previous model alone
#     5. a real Prometheus (Debian's, on 127.0.0.1, bounded) scrapes the three /metrics; its HTTP API
#        shows forecasts counted per host and edge_model_info's sha256 equal to the deployed blob's
# Every wait is bounded; every process it starts (sshd, the services, Prometheus) is stopped at exit.
# Needs root and what run.sh needs, plus ansible (ansible-playbook, ansible.posix) and prometheus.
# Environment: EDGE_TEST_ROOTFS, EDGE_TEST_BINARY (deploy this arm64 edge instead of publishing one),
# EDGE_TEST_MODELS (a folder with forecaster-int8.edge and forecaster-fp32.edge from an earlier run),
# EDGE_TEST_FLEET_SKIP ("2 3": skip those steps while working on a later one; CI runs them all),
# EDGE_TEST_FLEET_PORT (first ssh port, default 2231), EDGE_TEST_KEEP=1, EDGE_ARTIFACTS.
# Usage: sudo tests/deploy/fleet.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
rootfs=${EDGE_TEST_ROOTFS:-/var/cache/edge-deploy-test/rootfs}
port0=${EDGE_TEST_FLEET_PORT:-2231}
export EDGE_ARTIFACTS=${EDGE_ARTIFACTS:-/tmp/edge-deploy-test/artifacts}
export ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0
t_start=$SECONDS
hosts=(pi1 pi2 pi3)

# shellcheck source=tests/deploy/lib.sh
. "$here/lib.sh"

[[ $(id -u) == 0 ]] || fail "run as root (chroot, mounts, binfmt_misc)"
missing=()
for tool in ansible-playbook prometheus ssh ssh-keygen rsync python3 timeout curl; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
((${#missing[@]} == 0)) || fail "missing: ${missing[*]} (apt-get install -y ansible prometheus openssh-client rsync python3 curl)"

work=$(mktemp -d /tmp/edge-fleet-test.XXXXXX)
prom_pid=""
declare -A sshd_pid=() ssh_port=() metrics_port=()
cleanup() {
  local rc=$? pid root h m
  set +e
  [[ -n "$prom_pid" ]] && kill -TERM "$prom_pid" 2>/dev/null && sleep 1 && kill -KILL "$prom_pid" 2>/dev/null
  # Only what this test started: processes whose root is one of its chroots, and its sshds.
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    root=$(readlink "/proc/$pid/root" 2>/dev/null) || continue
    [[ "$root" == "$work"/* ]] && kill -KILL "$pid" 2>/dev/null
  done
  for h in "${!sshd_pid[@]}"; do kill -KILL "${sshd_pid[$h]}" 2>/dev/null; done
  sleep 0.5
  for h in "${hosts[@]}"; do
    for m in dev/pts dev proc run tmp ""; do
      mountpoint -q "$work/$h/root/$m" 2>/dev/null && umount -l "$work/$h/root/$m"
    done
  done
  if [[ "${EDGE_TEST_KEEP:-0}" == 1 ]]; then
    echo "kept $work"
  elif findmnt -rn -o TARGET | grep -q "^$work"; then
    echo "not removing $work: something is still mounted under it" >&2
  else
    rm -rf --one-file-system "$work"
  fi
  printf '\ntests/deploy/fleet.sh: %s in %d s\n' "$([[ $rc == 0 ]] && echo PASS || echo FAIL)" $((SECONDS - t_start))
  exit "$rc"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# ---------------------------------------------------------------- models, replay, binary
sample=$repo/samples/forecaster
log "the sample model, twice: int8 (the first releases) and fp32 (the model-only update)"
for precision in int8 fp32; do
  if [[ -f "${EDGE_TEST_MODELS:-}/forecaster-$precision.edge" ]]; then
    cp "$EDGE_TEST_MODELS/forecaster-$precision.edge" "$work/"
    continue
  fi
  timeout 900 dotnet run -c Release --project "$repo/Quantizer" -v quiet -- convert "$sample/forecaster.onnx" \
    --output "$work/forecaster-$precision.edge" --precision "$precision" --metadata "$sample/meta.json" >"$work/convert.log" 2>&1 ||
    { cat "$work/convert.log"; fail "edge-quantize convert --precision $precision failed"; }
done
# The held-out recording repeated 40 times with continued dates, at 5 days a second: a first forecast
# ~10 s after a start (the 50-day window) and ~35 min of forecasts, longer than the test.
make_replay "$sample/holdout.csv" "$work/replay.csv" 40

binary=${EDGE_TEST_BINARY:-}
if [[ -z "$binary" ]]; then
  log "cross-publish edge once (NativeAOT, linux-arm64) for the whole fleet"
  EDGE_ARTIFACTS=$EDGE_ARTIFACTS/rpi-deploy/arm64 timeout 1800 dotnet publish "$repo/Device/Edge.Device.csproj" -c Release -r linux-arm64 \
    -p:PublishAot=true -nologo -v quiet >"$work/publish.log" 2>&1 || { tail -n 30 "$work/publish.log"; fail "dotnet publish failed"; }
  binary=$EDGE_ARTIFACTS/rpi-deploy/arm64/publish/Edge.Device/release_linux-arm64/edge
fi
[[ -f "$binary" ]] || fail "no edge binary at $binary"

# ---------------------------------------------------------------- three Pis
log "three arm64 Pis"
"$here/binfmt.sh"
"$here/rootfs.sh" "$rootfs"
ssh-keygen -q -t ed25519 -N '' -C edge-fleet-test -f "$work/id_ed25519"
: >"$work/known_hosts"
start_pi() { # name port
  local h=$1 p=$2 root=$work/$1/root i
  make_pi "$rootfs" "$root" "$work/$h" "$p" "$work/id_ed25519.pub" "$work/known_hosts"
  chroot "$root" /usr/sbin/sshd -D -e >"$work/$h/sshd.log" 2>&1 &
  sshd_pid[$h]=$!
  disown "${sshd_pid[$h]}"
  ssh_port[$h]=$p
  for ((i = 0; i < 60; i++)); do
    pi_ssh "$h" true 2>/dev/null && return 0
    kill -0 "${sshd_pid[$h]}" 2>/dev/null || { cat "$work/$h/sshd.log"; fail "$h: sshd exited"; }
    sleep 1
  done
  fail "$h: no ssh login within 60 s"
}
pi_ssh() { # host command...
  local h=$1
  shift
  timeout 120 ssh -i "$work/id_ed25519" -p "${ssh_port[$h]}" -o "UserKnownHostsFile=$work/known_hosts" -o StrictHostKeyChecking=yes \
    -o BatchMode=yes -o ConnectTimeout=5 pi@127.0.0.1 "$@"
}
i=0
for h in "${hosts[@]}"; do
  start_pi "$h" $((port0 + i))
  metrics_port[$h]=$(free_port)
  i=$((i + 1))
done
pass "three arm64 Pis: ssh on 127.0.0.1:${ssh_port[pi1]}, ${ssh_port[pi2]}, ${ssh_port[pi3]}"

# shellcheck disable=SC2016 # these expand on the Pi
current() { pi_ssh "$1" 'basename "$(readlink /opt/edge/current)"' 2>/dev/null || true; }
main_pid() { pi_ssh "$1" 'cat /run/edge-supervise/main.pid' 2>/dev/null || true; }
forecasts() { pi_ssh "$1" 'grep -c "\"forecast\":\[" /var/log/edge/edge.log' 2>/dev/null || echo 0; }
scrape() { curl -fsS --max-time 10 "http://127.0.0.1:${metrics_port[$1]}/metrics"; }

# ---------------------------------------------------------------- configs and inventory
make_config() { # host device out [serial-port]: the replay config (or a broken serial one) with metrics
  python3 - "$work/replay.csv" "${metrics_port[$1]}" "$2" "$3" "${4:-}" <<'PY'
import json, sys
replay, port, device, out, serial = sys.argv[1:]
source = ({"kind": "serial", "port": serial, "columns": ["precipitation", "temp_max", "temp_min", "wind"]} if serial else
          {"kind": "replay", "path": replay, "format": "csv", "time_field": "timestamp", "speed": "432000"})
json.dump({"model": "unused.edge", "device": device, "resample": "none", "source": source,
           "sinks": [{"kind": "stdout"}], "stats_interval_s": 10,
           "metrics": {"listen": "127.0.0.1:" + port}}, open(out, "w"), indent=2)
PY
}
for h in "${hosts[@]}"; do
  make_config "$h" "$h" "$work/$h/edge-1.json"
  make_config "$h" "$h-r2" "$work/$h/edge-2.json"
done
make_config pi3 pi3-r2 "$work/pi3/edge-2-broken.json" /dev/null

inventory() { # model suffix-of-config [pi3-config-suffix]: writes $work/inventory.yml
  local model=$1 cfg=$2 cfg3=${3:-$2} h
  {
    echo "all:"
    echo "  children:"
    echo "    edge:"
    echo "      vars:"
    echo "        ansible_host: 127.0.0.1"
    echo "        ansible_user: pi"
    echo "        ansible_ssh_private_key_file: $work/id_ed25519"
    echo "        ansible_ssh_common_args: -o UserKnownHostsFile=$work/known_hosts -o StrictHostKeyChecking=yes"
    echo "        edge_target: arm64"
    echo "        edge_binary: $binary"
    echo "        edge_model: $model"
    echo "        edge_no_systemd: true"
    echo "        edge_health_timeout: 180"
    echo "        edge_package_dir: $work/releases"
    echo "      hosts:"
    for h in "${hosts[@]}"; do
      echo "        $h:"
      echo "          ansible_port: ${ssh_port[$h]}"
      if [[ "$h" == pi3 ]]; then
        echo "          edge_config: $work/$h/edge-$cfg3.json"
        # The broken host's failure is known sooner.
        if [[ "$cfg3" == *broken* ]]; then echo "          edge_health_timeout: 45"; fi
      else
        echo "          edge_config: $work/$h/edge-$cfg.json"
      fi
    done
  } >"$work/inventory.yml"
}
fleet() { # args...: deploy/ansible/fleet.sh with the inventory; output in $work/out, status in $rc
  rc=0
  timeout 2400 "$repo/deploy/ansible/fleet.sh" -v -i "$work/inventory.yml" -e '{"edge_serial": [1, 2]}' "$@" >"$work/out" 2>&1 || rc=$?
  sed 's/^/    | /' "$work/out"
}
expect() { grep -Eq -- "$1" "$work/out" || fail "expected /$1/ in the output above"; }
sum_row() { # host version: the fleet summary's row of host shows that version
  grep -Eq "^$1 +$2 " "$work/out" || fail "the fleet summary has no row '$1 $2 ...'"
}

# ---------------------------------------------------------------- 1. first rollout
log "1. first rollout to the fleet"
inventory "$work/forecaster-int8.edge" 1
fleet
((rc == 0)) || fail "the first rollout exited $rc"
declare -A v1_of=()
for h in "${hosts[@]}"; do
  v1_of[$h]=$(current "$h")
  [[ -n "${v1_of[$h]}" ]] || fail "$h has no current release"
  sum_row "$h" "${v1_of[$h]}"
  # Bounded: an emulated Pi under a loaded machine can take seconds to answer a scrape.
  for ((i = 0; i < 30; i++)); do
    scrape "$h" 2>/dev/null | grep -q '^edge_forecasts_total' && break
    sleep 2
  done
  scrape "$h" | grep -q '^edge_forecasts_total' || fail "$h serves no edge_forecasts_total on 127.0.0.1:${metrics_port[$h]} (60 s)"
done
expect 'PLAY RECAP'
pass "first rollout: ${v1_of[pi1]}, ${v1_of[pi2]}, ${v1_of[pi3]} on pi1..pi3, each serving /metrics; the summary lists them"

# ---------------------------------------------------------------- 2. --check
skip() { [[ " ${EDGE_TEST_FLEET_SKIP:-} " == *" $1 "* ]] && echo "(step $1 skipped: EDGE_TEST_FLEET_SKIP)"; }
if ! skip 2; then
log "2. --check with the second release's inputs"
inventory "$work/forecaster-int8.edge" 2
before=$(for h in "${hosts[@]}"; do pi_ssh "$h" 'ls /opt/edge/releases; readlink /opt/edge/current /opt/edge/previous; cat /run/edge-supervise/main.pid'; done)
fleet --check
((rc == 0)) || fail "--check exited $rc"
expect 'would deploy [^ ]+ to pi1, which runs'
after=$(for h in "${hosts[@]}"; do pi_ssh "$h" 'ls /opt/edge/releases; readlink /opt/edge/current /opt/edge/previous; cat /run/edge-supervise/main.pid'; done)
[[ "$before" == "$after" ]] || fail "--check changed the fleet: $before -> $after"
pass "--check previews each host's new version and changes nothing (releases, links, processes)"
fi

# ---------------------------------------------------------------- 3. one host's health check fails
if ! skip 3; then
log "3. second release, pi3's config broken: pi3 alone rolled back"
inventory "$work/forecaster-int8.edge" 2 2-broken
fleet
((rc != 0)) || fail "the rollout with a broken host exited 0"
expect 'ROLLED BACK: release [^ ]+ failed its health check'
for h in pi1 pi2; do
  v=$(current "$h")
  [[ -n "$v" && "$v" != "${v1_of[$h]}" ]] || fail "$h does not run the second release (runs $v)"
  sum_row "$h" "$v"
done
[[ "$(current pi3)" == "${v1_of[pi3]}" ]] || fail "pi3 runs $(current pi3), not its first release ${v1_of[pi3]}"
sum_row pi3 "${v1_of[pi3]}"
n=$(forecasts pi3)
for ((i = 0; i < 90; i++)); do
  (($(forecasts pi3) > n)) && break
  sleep 1
done
(($(forecasts pi3) > n)) || fail "pi3 makes no forecasts after its rollback"
pass "pi1 (canary) and pi2 run the second release; pi3's failed its health check and pi3 alone was rolled back (and forecasts); the playbook failed (rc $rc)"
fi

# ---------------------------------------------------------------- 4. model-only update
log "4. model-only update (fp32 model) to the fleet"
inventory "$work/forecaster-fp32.edge" 2 1
declare -A before_inode=()
for h in "${hosts[@]}"; do before_inode[$h]=$(pi_ssh "$h" 'stat -L -c %i /opt/edge/current/edge'); done
fleet -e edge_model_only=true
((rc == 0)) || fail "the model-only rollout exited $rc"
expect 'model-check: ok'
sha_fp32=$(sha256sum "$work/forecaster-fp32.edge" | cut -c 1-64)
declare -A v3_of=()
for h in "${hosts[@]}"; do
  v3_of[$h]=$(current "$h")
  pi_ssh "$h" "grep -q 'sha256=$sha_fp32' /opt/edge/current/VERSION" || fail "$h does not serve the new model"
  [[ "$(pi_ssh "$h" 'stat -L -c %i /opt/edge/current/edge')" == "${before_inode[$h]}" ]] || fail "$h: the binary was copied, not kept"
  sum_row "$h" "${v3_of[$h]}"
done
pass "model-only update: every Pi serves the new model (sha ${sha_fp32:0:12}), checked by edge model-check on the Pi; the binary is the same file as before (not copied)"

log "4b. rpi-deploy.sh --rollback on pi1: the previous model alone"
# shellcheck disable=SC2016 # expands on the Pi
prev1=$(pi_ssh pi1 'basename "$(readlink /opt/edge/previous)"')
rc=0
timeout 600 "$repo/rpi-deploy.sh" --no-systemd --rollback --health-timeout 180 --port "${ssh_port[pi1]}" --identity "$work/id_ed25519" \
  --ssh-option "UserKnownHostsFile=$work/known_hosts" --ssh-option StrictHostKeyChecking=yes pi@127.0.0.1 >"$work/out" 2>&1 || rc=$?
sed 's/^/    | /' "$work/out"
((rc == 0)) || fail "--rollback exited $rc"
[[ "$(current pi1)" == "$prev1" ]] || fail "pi1 runs $(current pi1) after --rollback, not $prev1"
pi_ssh pi1 "grep -q 'sha256=$sha_fp32' /opt/edge/current/VERSION" && fail "pi1 still serves the new model after --rollback"
[[ "$(pi_ssh pi1 'stat -L -c %i /opt/edge/current/edge')" == "${before_inode[pi1]}" ]] || fail "pi1: the rollback changed the binary"
pass "--rollback after a model-only update restores the previous model with the same binary"
# Forward again for the metrics check.
inventory "$work/forecaster-fp32.edge" 2 1
fleet -e edge_model_only=true --limit pi1
((rc == 0)) || fail "re-applying the model-only release to pi1 exited $rc"

# ---------------------------------------------------------------- 5. Prometheus
log "5. Prometheus scrapes the fleet"
prom_port=$(free_port)
{
  echo "global: { scrape_interval: 2s, evaluation_interval: 2s }"
  echo "scrape_configs:"
  echo "  - job_name: edge"
  echo "    static_configs:"
  for h in "${hosts[@]}"; do
    echo "      - targets: ['127.0.0.1:${metrics_port[$h]}']"
    echo "        labels: { pi: $h }"
  done
} >"$work/prometheus.yml"
promtool check config "$work/prometheus.yml" >/dev/null || fail "the generated Prometheus config is invalid"
timeout 300 prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom-data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
query() { curl -fsS --max-time 10 "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1"; }
ok=0
for ((i = 0; i < 90; i++)); do
  if query 'edge_forecasts_total > 0' 2>/dev/null | python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; sys.exit(0 if len({x["metric"]["pi"] for x in r}) == 3 else 1)'; then
    ok=1
    break
  fi
  sleep 1
done
((ok)) || { tail -n 20 "$work/prometheus.log"; fail "Prometheus did not get forecasts from all three Pis within 90 s"; }
query 'edge_forecasts_total' | python3 -c '
import json, sys
for x in json.load(sys.stdin)["data"]["result"]:
    print("    forecasts on %s: %s" % (x["metric"]["pi"], x["value"][1]))'
query 'edge_model_info' >"$work/model_info.json"
python3 - "$work/model_info.json" "$sha_fp32" <<'PY' || fail "edge_model_info's sha256 is not the deployed blob's on every Pi"
import json, sys
r = json.load(open(sys.argv[1]))["data"]["result"]
shas = {x["metric"]["pi"]: x["metric"]["sha256"] for x in r}
print("    edge_model_info sha256:", shas)
sys.exit(0 if sorted(shas) == ["pi1", "pi2", "pi3"] and set(shas.values()) == {sys.argv[2]} else 1)
PY
pass "Prometheus (127.0.0.1:$prom_port) scrapes all three: forecasts counted per host, edge_model_info sha256 = the deployed blob's"

echo
printf 'passed:\n'
printf '  %s\n' "${passed[@]}"
