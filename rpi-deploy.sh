#!/usr/bin/env bash
# rpi-deploy.sh: one command from this desktop to `edge run` as a supervised service on a Raspberry Pi.
# See ./rpi-deploy.sh --help and docs/deploy.md. The Pi's half is deploy/remote.sh, piped over ssh.
set -euo pipefail

repo=$(cd "$(dirname "$0")" && pwd)
readonly repo
readonly remote_base=/opt/edge

usage() {
  cat <<'EOF'
Usage: ./rpi-deploy.sh [options] USER@HOST

Cross-publishes `edge` (NativeAOT, linux-arm64), packages a release (binary, model, config, systemd
unit, VERSION, SHA256SUMS), copies it to HOST:/opt/edge/releases/<version> with rsync, verifies the
checksums and runs `edge selftest` there, then switches /opt/edge/current atomically, installs the
unit (edge.service, Type=notify, user edge), restarts it and waits for a first forecast in its log.
A release that fails the health check is rolled back automatically to the previous one.
Running it again with the same build, model and config changes nothing (the version is a content hash).

Deploy:
  --model FILE.edge      the model to serve (copied as model.edge; the config's "model" is pointed at it)
  --config FILE.json     the `edge run` configuration (docs/config.md; comments allowed); the input
                         files it names (the replay source's path, a sink's password_file or
                         ca_file) are shipped in the release's files/ and the paths rewritten
  --target BOARD         pi3 | pi4 | pi5 | arm64 | x64 | x64-v3 | x64-v4 (default arm64). pi5 builds for
                         Cortex-A76 with the dot-product extension (and refuses a CPU without it); pi3/pi4
                         (Cortex-A53/A72, no dot product) and arm64 build the portable binary that picks
                         its kernels at run time. x64 is an x86_64 Linux machine: the preflight reads its
                         /proc/cpuinfo and builds x86-64-v4 (the avx512 kernels) when it has AVX-512 and
                         AVX-VNNI, else x86-64-v3 (deploy/x64-build.sh); x64-v3 / x64-v4 force one
  --binary FILE          deploy this `edge` (linux-arm64; linux-x64 for the x64 targets) instead of
                         publishing one (a CI artifact;
                         the end-to-end test deploys deliberately broken binaries this way)
  --model-only           a new model and config for the binary already on the Pi: nothing is built and
                         the binary is not copied (the new release links the current release's); checked
                         on the Pi by that binary (`edge model-check`: loads, contract matches the config,
                         a forecast runs) before the switch, which is a reload (SIGHUP: the service keeps
                         running and its queued forecasts) when the running edge supports it; --rollback
                         goes back to the previous model
  --keep N               releases kept on the Pi (default 3; current and previous always are)
  --health-timeout S     seconds to wait for the service to be active and log a forecast (default 120)
  --health-pattern RE    what counts as a forecast in the log (extended regex, case-insensitive;
                         default '"forecast":\[|forecasts=[1-9]': a stdout sink's JSON line, or a
                         counters line once forecasts were made, for configs without a stdout sink)
  --groups LIST          supplementary groups for the service (comma-separated) instead of the ones
                         derived from the config (serial ports: dialout, bme280: i2c, mcp3008:
                         spi, dht22: gpio)

Other actions (instead of a deploy):
  --rollback             switch back to the previous release and restart
  --status               current and previous release, service state, recent log
  --uninstall            stop and remove the service and /opt/edge (keeps the edge user, /var/lib/edge)
  --bench                run `edge bench --isa all` on the Pi (the deployed binary and model, or --binary
                         and --model), bring the JSON back next to a run of the same model here, and
                         print the comparison (tools/bench-on-pi.sh; docs/benchmarks.md)

Packaging for other tools (deploy/ansible/ uses it):
  --package-only DIR     package the release into DIR/<version> (build, config, checksums as a deploy
                         does) and print one line "package: version=... dir=... groups=... need_mb=...
                         glibc=... features=... model_only=..."; no USER@HOST, no ssh
  --current-from FILE    with --package-only --model-only: the output of `deploy/remote.sh current` on
                         the Pi (the binary's checksums the new release keeps)

Connection and mode:
  --port N               ssh port (default 22)
  --identity FILE        ssh private key
  --ssh-option OPT       extra `ssh -o OPT` (repeatable), e.g. UserKnownHostsFile=FILE
  --dry-run              print every step and change nothing (the read-only preflight still runs; when
                         the Pi cannot be reached, the whole plan is still printed with the checks on
                         the Pi marked "not run: host unreachable", and it exits 0)
  --no-systemd           the Pi has no running systemd (a chroot or container): run the unit's
                         ExecStart under the release's supervise.sh (Restart=on-failure emulated,
                         log in /var/log/edge/edge.log) instead of systemctl; the unit is still
                         checked with systemd-analyze verify. Also EDGE_DEPLOY_NO_SYSTEMD=1
  -h, --help             this help

USER needs passwordless sudo on the Pi (Raspberry Pi OS's first user has it) or must be root.
Build needs (Debian): dotnet SDK 10, clang, lld, gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, python3.
Environment: EDGE_ARTIFACTS (build folder, default ./artifacts), EDGE_PUBLISH_ARGS (extra publish args).
Exit codes: 0 deployed (or nothing to do), 1 failed (nothing switched, or see the message),
            2 usage, 3 the new release failed its health check and the previous one runs again.
EOF
}

die() { printf 'rpi-deploy: error: %s\n' "$*" >&2; exit 1; }
usage_error() { printf 'rpi-deploy: %s (see --help)\n' "$*" >&2; exit 2; }
step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }

# ---------------------------------------------------------------- options
model="" config="" target=arm64 binary=${EDGE_DEPLOY_BINARY:-} keep=3 health_timeout=120
health_pattern='"forecast":\[|forecasts=[1-9]' groups_override="" port=22 identity="" dry_run=0 action=deploy
no_systemd=${EDGE_DEPLOY_NO_SYSTEMD:-0} dest="" model_only=0 package_only="" current_file=""
ssh_extra=() ssh_extra_raw=()

need_arg() { [[ $# -ge 2 && -n "$2" ]] || usage_error "$1 needs a value"; }
while (($#)); do
  case "$1" in
    --model) need_arg "$@"; model=$2; shift ;;
    --config) need_arg "$@"; config=$2; shift ;;
    --target) need_arg "$@"; target=$2; shift ;;
    --binary) need_arg "$@"; binary=$2; shift ;;
    --keep) need_arg "$@"; keep=$2; shift ;;
    --health-timeout) need_arg "$@"; health_timeout=$2; shift ;;
    --health-pattern) need_arg "$@"; health_pattern=$2; shift ;;
    --groups) need_arg "$@"; groups_override=$2; shift ;;
    --port) need_arg "$@"; port=$2; shift ;;
    --identity) need_arg "$@"; identity=$2; shift ;;
    --ssh-option) need_arg "$@"; ssh_extra+=(-o "$2"); ssh_extra_raw+=(--ssh-option "$2"); shift ;;
    --dry-run) dry_run=1 ;;
    --model-only) model_only=1 ;;
    --package-only) need_arg "$@"; package_only=$2; shift ;;
    --current-from) need_arg "$@"; current_file=$2; shift ;;
    --no-systemd) no_systemd=1 ;;
    --rollback) action=rollback ;;
    --status) action=status ;;
    --uninstall) action=uninstall ;;
    --bench) action=bench ;;
    -h | --help) usage; exit 0 ;;
    -*) usage_error "unknown option $1" ;;
    *)
      [[ -z "$dest" ]] || usage_error "one USER@HOST only (got '$dest' and '$1')"
      dest=$1
      ;;
  esac
  shift
done

if [[ -n "$package_only" ]]; then
  # Packaging for another tool (the Ansible role): no host, no ssh.
  [[ "$action" == deploy && -z "$dest" ]] || usage_error "--package-only DIR takes no USER@HOST and no other action"
  ((!model_only)) || [[ -f "$current_file" ]] || usage_error "--package-only --model-only needs --current-from FILE (deploy/remote.sh current's output from the Pi)"
  dest=package@localhost
fi
[[ -n "$dest" ]] || usage_error "USER@HOST is missing"
[[ "$dest" == *@* ]] || usage_error "'$dest' is not USER@HOST"
[[ "$port" =~ ^[0-9]+$ ]] || usage_error "--port '$port' is not a number"
[[ "$keep" =~ ^[1-9][0-9]*$ ]] || usage_error "--keep '$keep' is not a positive number"
[[ "$health_timeout" =~ ^[1-9][0-9]*$ ]] || usage_error "--health-timeout '$health_timeout' is not a positive number of seconds"
[[ -z "$groups_override" || "$groups_override" =~ ^[a-z_][a-z0-9_-]*(,[a-z_][a-z0-9_-]*)*$ ]] ||
  usage_error "--groups '$groups_override' is not a comma-separated list of group names"
case "$no_systemd" in 0 | 1) ;; *) usage_error "EDGE_DEPLOY_NO_SYSTEMD must be 0 or 1" ;; esac
if ((model_only)); then
  [[ "$action" == deploy ]] || usage_error "--model-only is a deploy: it takes no --$action"
  [[ -z "$binary" ]] || usage_error "--model-only keeps the Pi's binary: it takes no --binary"
fi

# Per board: the ILC instruction set (empty: the portable build, kernels chosen at run time by
# Dp.IsSupported) and the /proc/cpuinfo features the build relies on.
# x64 targets: the runtime identifier, the machine uname -m must report, and x64_build: v3, v4, or auto (chosen
# from the target's /proc/cpuinfo after the preflight).
rid=linux-arm64 want_arch=aarch64 x64_build=""
case "$target" in
  pi3 | pi4 | arm64) ilc_isa="" cpu_features="" ;;
  pi5) ilc_isa="armv8.2-a,dotprod" cpu_features="asimddp" ;;
  x64) ilc_isa="" cpu_features="" x64_build=auto ;;
  x64-v3) ilc_isa="" cpu_features="" x64_build=v3 ;;
  # What the v4 binary refuses to start without (deploy/x64-build.sh has the whole list).
  x64-v4) ilc_isa="" cpu_features="avx512f,avx512bw,avx512vl,avx_vnni" x64_build=v4 ;;
  *) usage_error "--target '$target' is not one of pi3, pi4, pi5, arm64, x64, x64-v3, x64-v4" ;;
esac
[[ -z "$x64_build" ]] || rid=linux-x64 want_arch=x86_64

# ---------------------------------------------------------------- bench
if [[ "$action" == bench ]]; then
  bench_args=(--port "$port")
  [[ -n "$identity" ]] && bench_args+=(--identity "$identity")
  [[ -n "$model" ]] && bench_args+=(--model "$model")
  [[ -n "$binary" ]] && bench_args+=(--binary "$binary")
  ((dry_run)) && bench_args+=(--dry-run)
  exec "$(dirname "$0")/tools/bench-on-pi.sh" "${bench_args[@]}" "${ssh_extra_raw[@]}" "$dest"
fi

# ---------------------------------------------------------------- ssh
ssh_cmd=(ssh -p "$port" -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=15 -o ServerAliveCountMax=4)
[[ -n "$identity" ]] && ssh_cmd+=(-i "$identity")
ssh_cmd+=("${ssh_extra[@]}")
remote_user=${dest%@*}
sudo=(sudo -n)
[[ "$remote_user" == root ]] && sudo=()

# remote [--unprivileged] ACTION ARGS...: deploy/remote.sh on the Pi, as root unless --unprivileged.
remote() {
  local as=("${sudo[@]}")
  if [[ "$1" == --unprivileged ]]; then
    as=()
    shift
  fi
  local cmd
  cmd=$(printf '%q ' "${as[@]}" env "EDGE_NO_SYSTEMD=$no_systemd" bash -s -- "$@")
  "${ssh_cmd[@]}" "$dest" "$cmd" <"$repo/deploy/remote.sh"
}

# Commands that change something: printed in a dry run, run otherwise.
change() {
  if ((dry_run)); then
    if [[ "$1" == remote ]]; then
      printf '    would run on %s as root: deploy/remote.sh %s\n' "$dest" "${*:2}"
      plan_of "${@:2}"
    else
      printf '    would run: %s\n' "$*"
    fi
  else
    "$@"
  fi
}

# plan_of ACTION ARGS...: what a step of deploy/remote.sh does, for the dry run's plan.
plan_of() {
  case "$1" in
    prepare) info "      create the system user edge if missing, $remote_base/releases/" ;;
    adopt) info "      hard-link edge and its libraries of the current release into releases/$2 (the binary is not copied)" ;;
    verify) info "      sha256sum -c SHA256SUMS in $remote_base/releases/$2, owners root, config.json and files/ readable by group edge only" ;;
    selftest) info "      as user edge, with the old release still running: systemd-analyze verify edge.service, edge --version, edge selftest, edge model-check --config config.json (the model loads, its contract matches the config, a forecast runs), edge run --config config.json --print-config" ;;
    activate)
      info "      stop edge, switch $remote_base/current -> releases/$2 (rename), previous -> the old release, install the unit, start;"
      info "      health check: active and a line matching /$5/ within $4 s, else roll back to the previous release (exit 3); keep the newest $3 releases" ;;
  esac
}

# ssh_problem: empty when ssh reaches the Pi, else one line saying why not and what to do.
ssh_problem() {
  local out
  out=$("${ssh_cmd[@]}" "$dest" true 2>&1) && return 0
  printf '%s\n' "$out" | sed 's/^/    ssh: /' >&2
  case "$out" in
    *"Host key verification failed"* | *"No ED25519 host key"* | *"host key for"*)
      echo "$dest's host key is not known: connect once by hand to check and accept it (ssh -p $port $dest), then run this again" ;;
    *"Permission denied"*)
      echo "ssh to $dest refused the key: copy yours with ssh-copy-id -p $port $dest (or pass --identity FILE)" ;;
    *"Connection refused"*)
      echo "nothing listens for ssh on $dest port $port: enable ssh on the Pi (sudo raspi-config nonint do_ssh 0) or pass --port" ;;
    *"Could not resolve"* | *"Name or service not known"*)
      echo "cannot resolve ${dest#*@}: use the Pi's IP address or HOSTNAME.local (avahi)" ;;
    *)
      echo "cannot reach $dest by ssh on port $port (is the Pi on and on the network?)" ;;
  esac
}

# check_ssh: dies when the Pi cannot be reached, except in a dry run: there the plan is still printed
# whole (a deploy can be previewed before the Pi is on the network) and reachable=0 marks every step
# that needs the Pi as not run.
reachable=1
check_ssh() {
  local why
  why=$(ssh_problem)
  if [[ -z "$why" ]]; then
    info "ok: ssh $dest (port $port)"
  elif ((dry_run)); then
    reachable=0
    info "not run: host unreachable: $why"
    info "(dry run: the plan below is printed without the Pi; the checks on the Pi are marked not run)"
  else
    die "$why"
  fi
}

# ---------------------------------------------------------------- other actions
if [[ "$action" != deploy ]]; then
  [[ -z "$model$config$binary" ]] || usage_error "--$action takes no --model, --config or --binary"
  step "$action on $dest"
  check_ssh
  if ((!reachable)); then
    case "$action" in
      status) info "would show on $dest: current and previous release, service state, recent log (not run: host unreachable)" ;;
      rollback) info "would switch /opt/edge/current back to /opt/edge/previous, restart edge and check its health (not run: host unreachable)" ;;
      uninstall) info "would stop and disable edge.service, remove the unit and /opt/edge (keeping the edge user and /var/lib/edge)" ;;
    esac
    echo
    echo "rpi-deploy: dry run: nothing was changed ($dest was not reachable)"
    exit 0
  fi
  case "$action" in
    status) remote status ;;
    rollback)
      if ((dry_run)); then
        info "would switch /opt/edge/current back to /opt/edge/previous, restart edge and check its health"
        remote status
      else
        remote rollback "$health_timeout" "$health_pattern"
      fi
      ;;
    uninstall)
      if ((dry_run)); then
        info "would stop and disable edge.service, remove the unit and /opt/edge (keeping the edge user and /var/lib/edge)"
      else
        remote uninstall
      fi
      ;;
  esac
  exit 0
fi

# ---------------------------------------------------------------- deploy: local preflight
[[ -n "$model" ]] || usage_error "--model FILE.edge is required to deploy"
[[ -n "$config" ]] || usage_error "--config FILE.json is required to deploy"
step "preflight (local)"
[[ -f "$model" ]] || die "--model $model: no such file"
[[ "$(head -c 4 "$model")" == EDGE ]] || die "--model $model is not an .edge file (convert it with edge-quantize convert MODEL --output FILE.edge)"
[[ -f "$config" ]] || die "--config $config: no such file"
for tool in ssh rsync sha256sum python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed here: sudo apt-get install -y ${tool/sha256sum/coreutils}"
done
if [[ -n "$binary" ]]; then
  [[ -f "$binary" ]] || die "--binary $binary: no such file"
elif ((!model_only)); then
  command -v dotnet >/dev/null || die "the .NET SDK is not installed: see https://dot.net (global.json pins the SDK)"
fi
if [[ -z "$binary" && "$rid" == linux-arm64 ]] && ((!model_only)); then
  missing=()
  command -v clang >/dev/null || missing+=(clang)
  command -v ld.lld >/dev/null || missing+=(lld)
  command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
  [[ -e /usr/aarch64-linux-gnu/lib/libc.so ]] || missing+=(libc6-dev-arm64-cross)
  ((${#missing[@]} == 0)) || die "cross-compiling for arm64 needs: sudo apt-get install -y ${missing[*]}"
fi
info "ok: model, config, tools"
if [[ -n "$package_only" ]]; then
  reachable=0
else
  check_ssh
fi

# ---------------------------------------------------------------- the config
step "the config"
stage=$(mktemp -d "${TMPDIR:-/tmp}/edge-release.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/files"
# "model" becomes the shipped model.edge; the input files the config names (the replay source's
# path, a sink's password_file or ca_file) are shipped under files/; the device groups are read off
# the kinds and /dev paths of its source, sensors and sinks. Prints the groups.
groups=$(python3 - "$config" "$stage" <<'PY'
import json, os, shutil, sys
src, stage = sys.argv[1], sys.argv[2]
base = os.path.dirname(os.path.abspath(src))
def strip_jsonc(text):
    """edge reads its config with // and /* */ comments and trailing commas allowed: drop them
    (outside strings) so that Python's json can read it. Comments first, then the commas."""
    def scan(text, skip):
        out, i, n, in_str = [], 0, len(text), False
        while i < n:
            c = text[i]
            if in_str:
                out.append(text[i:i + 2] if c == "\\" else c)
                in_str = c != '"'
                i += 2 if c == "\\" else 1
                continue
            in_str = c == '"'
            j = skip(text, i)
            if j > i:
                i = j
                continue
            out.append(c)
            i += 1
        return "".join(out)
    def comment(text, i):
        if text.startswith("//", i):
            end = text.find("\n", i)
            return len(text) if end < 0 else end
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            return len(text) if end < 0 else end + 2
        return i
    def trailing_comma(text, i):
        return i + 1 if text[i] == "," and text[i + 1:].lstrip()[:1] in ("}", "]") else i
    return scan(scan(text, comment), trailing_comma)
try:
    cfg = json.loads(strip_jsonc(open(src, encoding="utf-8").read()))
except ValueError as e:
    sys.exit("rpi-deploy: --config %s is not valid JSON: %s" % (src, e))
if not isinstance(cfg, dict):
    sys.exit("rpi-deploy: --config %s is not a JSON object" % src)
groups, shipped = set(), {}
# Source, sink and sensor kinds (docs/config.md) and the group that owns their device on Pi OS.
KIND_GROUP = {"serial": "dialout", "gpio": "gpio", "i2c": "i2c", "spi": "spi",
              "bme280": "i2c", "mcp3008": "spi", "dht22": "gpio"}
DEV_GROUP = (("/dev/tty", "dialout"), ("/dev/serial", "dialout"), ("/dev/rfcomm", "dialout"),
             ("/dev/gpiochip", "gpio"), ("/dev/gpiomem", "gpio"), ("/dev/i2c", "i2c"), ("/dev/spidev", "spi"))
def note(msg):
    print("    " + msg, file=sys.stderr)
def ship(where, value):
    """An input file the config names: copied into files/, the path rewritten (edge resolves
    relative paths against the config's folder, the release on the Pi)."""
    if not isinstance(value, str) or value.startswith("/dev/"):
        return value
    path = os.path.abspath(value if os.path.isabs(value) else os.path.join(base, value))
    if not os.path.isfile(path):
        note("warning: %s '%s' is not a file here: left as it is, it must exist on the Pi" % (where, value))
        return value
    name = shipped.get(path) or os.path.basename(path)
    while name in shipped.values() and shipped.get(path) != name:
        name = "_" + name
    shipped[path] = name
    shutil.copyfile(path, os.path.join(stage, "files", name))
    note("shipped %s (%s) as files/%s" % (path, where, name))
    return "files/" + name
def device_groups(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "kind" and isinstance(v, str) and v.lower() in KIND_GROUP:
                groups.add(KIND_GROUP[v.lower()])
            device_groups(v)
    elif isinstance(node, list):
        for v in node:
            device_groups(v)
    elif isinstance(node, str):
        for prefix, g in DEV_GROUP:
            if node.startswith(prefix):
                groups.add(g)
device_groups(cfg)
cfg["model"] = "model.edge"
source = cfg.get("source") or {}
if source.get("path") is not None:
    source["path"] = ship("source.path", source["path"])
for i, sink in enumerate(cfg.get("sinks") or []):
    for key in ("password_file", "ca_file"):
        if sink.get(key) is not None:
            sink[key] = ship("sinks[%d].%s" % (i, key), sink[key])
    if sink.get("kind") == "csv" and not str(sink.get("path") or "").startswith("/var/lib/edge/"):
        note("warning: sinks[%d] writes '%s', not under /var/lib/edge/: the service can only write its "
             "StateDirectory (ProtectSystem=strict)" % (i, sink.get("path")))
with open(os.path.join(stage, "config.json"), "w") as fh:
    json.dump(cfg, fh, indent=2)
    fh.write("\n")
print(",".join(sorted(groups)))
PY
) || exit 1
[[ -n "$groups_override" ]] && groups=$groups_override
info "service groups: ${groups:-none}"

# ---------------------------------------------------------------- preflight on the Pi (read-only)
# Before the build, so a Pi that cannot take the release costs no compile. The glibc check needs the
# binary: with --binary it is done here, after a publish below.
binary_glibc() { # the newest glibc symbol version the binary needs (none when it is static)
  local v
  v=$( (readelf -V --wide "$1" 2>/dev/null || true) | { grep -o 'GLIBC_[0-9][0-9.]*' || true; } | sed 's/GLIBC_//' | sort -V | tail -n 1)
  echo "${v:-2.17}"
}
[[ -n "$package_only" ]] || step "preflight on $dest"
glibc_min="" bin_mb=40
if [[ -f "$binary" ]]; then
  glibc_min=$(binary_glibc "$binary")
  bin_mb=$(($(stat -c %s "$binary") / 1048576 + 1))
fi
need_mb=$((bin_mb * 2 + $(du -sm "$stage" | cut -f 1) + $(du -sm "$model" | cut -f 1) + 20))
if [[ -n "$package_only" ]]; then
  :
elif ((reachable)); then
  remote --unprivileged preflight "$groups" "$need_mb" "$glibc_min" "$cpu_features" "$want_arch"
else
  info "not run: host unreachable: the read-only checks on the Pi ($want_arch, sudo without a password, ${need_mb} MB free under $remote_base, groups: ${groups:-none}${cpu_features:+, CPU features: $cpu_features}${glibc_min:+, glibc >= $glibc_min}, rsync, coreutils, util-linux, systemd or --no-systemd)"
fi

# The x64 instruction-set build: from the target's CPU flags (read-only, like the preflight) unless forced.
if [[ "$x64_build" == auto ]] && ((!model_only)) && [[ -z "$binary" ]]; then
  if ((reachable)); then
    x64_choice=$("${ssh_cmd[@]}" "$dest" cat /proc/cpuinfo | EDGE_X64_BUILD='' "$repo/deploy/x64-build.sh" -) ||
      die "cannot choose the x64 build from $dest's /proc/cpuinfo (above); force one with --target x64-v3 or x64-v4"
  else
    x64_choice="v3 not run: host unreachable: its CPU flags decide; without them the x86-64-v3 build, which runs on every x86-64-v3 CPU"
  fi
  x64_build=${x64_choice%% *}
  info "x64 build: x86-64-$x64_build (${x64_choice#* })"
elif [[ -n "$x64_build" && "$x64_build" != auto ]]; then
  info "x64 build: x86-64-$x64_build (forced by --target $target)"
fi

# ---------------------------------------------------------------- build
art=${EDGE_ARTIFACTS:-$repo/artifacts}/rpi-deploy/$target
adopted="" cur_version=""
if ((model_only)); then
  step "the binary on $dest (--model-only: nothing is built or copied)"
  if [[ -n "$current_file" ]]; then
    # Ansible's script module returns the Pi's output through a terminal: CRLF line ends.
    cur_info=$(tr -d '\r' <"$current_file")
  elif ((reachable)); then
    cur_info=$(remote --unprivileged current) || die "--model-only needs a release on the Pi (above)"
  fi
  if [[ -n "${cur_info:-}" ]]; then
    cur_version=$(sed -n 1p <<<"$cur_info")
    # The current release's checksums of the binary and its libraries: the new release lists the same.
    adopted=$(sed '1,/^--$/d' <<<"$cur_info" | awk '$2 == "edge" || $2 ~ /\.so$/')
    grep -q '  edge$' <<<"$adopted" || die "the current release $cur_version on $dest lists no edge binary in its SHA256SUMS"
    info "keeps edge of release $cur_version ($(sed -n 's/^target=//p' <<<"$cur_info")): $(awk '{ printf "%s %s  ", $2, substr($1, 1, 12) }' <<<"$adopted")"
  else
    info "not run: host unreachable: the binary of the current release (its SHA256SUMS) is read on the Pi"
  fi
elif [[ -z "$binary" ]]; then
  step "publish edge (NativeAOT, $rid, target $target${ilc_isa:+: $ilc_isa}${x64_build:+: x86-64-$x64_build})"
  publish=(dotnet publish "$repo/Device/Edge.Device.csproj" -c Release -r "$rid" -p:PublishAot=true -nologo -v quiet)
  [[ "$x64_build" == v4 ]] && publish+=(-p:EdgeX64Avx512=true)
  # MSBuild splits -p: values at commas: %2C is its escaped comma.
  [[ -n "$ilc_isa" ]] && publish+=("-p:IlcInstructionSet=${ilc_isa//,/%2C}")
  # shellcheck disable=SC2206 # EDGE_PUBLISH_ARGS is a list of words on purpose
  publish+=(${EDGE_PUBLISH_ARGS:-})
  binary=$art/publish/Edge.Device/release_$rid/edge
  if ((dry_run)); then
    change env "EDGE_ARTIFACTS=$art" "${publish[@]}"
    [[ -f "$binary" ]] && info "(the dry run packages the binary of the last publish: $binary)"
  else
    EDGE_ARTIFACTS=$art DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 "${publish[@]}" ||
      die "dotnet publish failed (above); tools/arm64-selftest.sh shows which cross-compile flags this machine needs (EDGE_PUBLISH_ARGS)"
  fi
  if [[ -f "$binary" ]]; then
    glibc_min=$(binary_glibc "$binary")
    if [[ -n "$package_only" ]]; then
      :
    elif ((reachable)); then
      remote --unprivileged glibc "$glibc_min" || die "the Pi cannot run this build (above); nothing was changed"
    else
      info "not run: host unreachable: the Pi's glibc is at least $glibc_min (what the binary needs)"
    fi
  fi
fi
if [[ -f "$binary" ]]; then
  # ELF header: class 2 (64-bit) at byte 4, machine 0xb7 (aarch64) or 0x3e (x86-64) at byte 18.
  if [[ "$rid" == linux-arm64 ]]; then elf=02b700; else elf=023e00; fi
  [[ "$(od -An -tx1 -j4 -N1 "$binary" | tr -d ' ')$(od -An -tx1 -j18 -N2 "$binary" | tr -d ' ')" == "$elf" ]] ||
    die "$binary is not a $rid ($want_arch) executable${x64_build:+ (--target $target deploys linux-x64)}"
fi

# ---------------------------------------------------------------- package the release
step "package the release"
cp "$model" "$stage/model.edge"
if [[ -f "$binary" ]]; then
  install -m 0755 "$binary" "$stage/edge"
  # Native libraries the published binary loads from its own folder (System.IO.Ports' shim).
  for lib in "$(dirname "$binary")"/*.so; do
    [[ -f "$lib" ]] && install -m 0644 "$lib" "$stage/"
  done
fi
sed "s/@SUPPLEMENTARY_GROUPS@/${groups//,/ }/" "$repo/deploy/edge.service" >"$stage/edge.service"
cp "$repo/deploy/supervise.sh" "$stage/supervise.sh"
rmdir "$stage/files" 2>/dev/null || true

# The version: the project's (a git tag if HEAD has one) and a hash of exactly what is shipped, with
# no timestamp, so the same build, model and config give the same version and a re-deploy is a no-op.
base_version=$(git -C "$repo" describe --tags --exact-match 2>/dev/null || sed -n '0,/<Version>/s:.*<Version>\(.*\)</Version>.*:\1:p' "$repo/Directory.Build.props")
if [[ -n "$adopted" ]]; then
  # Model-only: the same hash a full deploy of this binary, model and config gives (the binary's
  # lines come from the Pi's SHA256SUMS), so re-sending the same model is a no-op there too.
  content_hash=$( { (cd "$stage" && find . -type f -print0 | xargs -0 sha256sum); printf '%s\n' "${adopted//  /  ./}"; } |
    LC_ALL=C sort -k 2 | sha256sum | cut -c 1-12)
  version=${base_version:-0}-$content_hash
  {
    echo "$version"
    sed -n 's/^target=/target=/p' <<<"$cur_info"
    echo "model=$(basename "$model") sha256=$(sha256sum "$model" | cut -c 1-64)"
    echo "config=$(basename "$config")"
    echo "model-only: the binary of $cur_version"
  } >"$stage/VERSION"
  sums=$( { (cd "$stage" && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs sha256sum); printf '%s\n' "$adopted"; } | LC_ALL=C sort -k 2)
  printf '%s\n' "$sums" >"$stage/SHA256SUMS"
  local_release=$stage
  info "release $version (model-only): $(find "$stage" -type f | wc -l) files to copy, $(du -sh "$stage" | cut -f 1); edge and its libraries from $cur_version on the Pi"
  ((dry_run)) && info "files: $(cd "$stage" && find . -type f -printf '%P\n' | LC_ALL=C sort | tr '\n' ' ')"
elif [[ -f "$stage/edge" ]]; then
  content_hash=$(cd "$stage" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c 1-12)
  version=${base_version:-0}-$content_hash
  {
    echo "$version"
    echo "target=$target${ilc_isa:+ ($ilc_isa)}"
    echo "model=$(basename "$model") sha256=$(sha256sum "$model" | cut -c 1-64)"
    echo "config=$(basename "$config")"
  } >"$stage/VERSION"
  sums=$(cd "$stage" && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs sha256sum)
  printf '%s\n' "$sums" >"$stage/SHA256SUMS"
  local_release=$art/releases/$version
  if ((!dry_run)); then
    mkdir -p "$art/releases"
    rm -rf "$local_release"
    cp -a "$stage" "$local_release"
    chmod 0755 "$local_release"
  else
    local_release=$stage
  fi
  info "release $version: $(find "$local_release" -type f | wc -l) files, $(du -sh "$local_release" | cut -f 1) ($local_release)"
  ((dry_run)) && info "files: $(cd "$local_release" && find . -type f -printf '%P\n' | LC_ALL=C sort | tr '\n' ' ')"
else
  info "no binary yet (dry run): the version is computed after the $( ((model_only)) && echo "Pi's SHA256SUMS are read" || echo build)"
  version="<version>"
  local_release=$stage
  info "would package: edge ($( ((model_only)) && echo "linked from the current release on the Pi, not copied" || echo "the publish above")), $(cd "$stage" && find . -type f -printf '%P\n' | LC_ALL=C sort | tr '\n' ' ')VERSION SHA256SUMS"
fi

if [[ -n "$package_only" ]]; then
  [[ "$version" != "<version>" ]] || die "--package-only: no binary was built"
  mkdir -p "$package_only"
  out_dir=$(cd "$package_only" && pwd)/$version
  rm -rf "$out_dir"
  cp -a "$local_release" "$out_dir"
  chmod 0755 "$out_dir"
  # One line for the caller (the Ansible role reads it): what the remote steps take as arguments.
  printf 'package: version=%s dir=%s groups=%s need_mb=%s glibc=%s features=%s model_only=%s\n' "$version" "$out_dir" \
    "${groups:--}" "$need_mb" "${glibc_min:--}" "${cpu_features:--}" "$model_only"
  exit 0
fi

# ---------------------------------------------------------------- copy, verify, selftest
release_dir=$remote_base/releases/$version
step "copy to $dest:$release_dir"
change remote prepare
rsync_ssh=""
for word in "${ssh_cmd[@]}"; do
  [[ "$word" != *"'"* ]] || die "ssh argument '$word' contains a single quote, which rsync -e cannot pass"
  rsync_ssh+="'$word' "
done
rsync_path=rsync
((${#sudo[@]})) && rsync_path="sudo -n rsync"
change rsync -rlt --checksum --delete --mkpath --info=stats1 -e "$rsync_ssh" --rsync-path="$rsync_path" \
  "$local_release/" "$dest:$release_dir/"

if ((model_only)); then
  change remote adopt "$version"
fi
step "verify checksums and run edge selftest on $dest"
change remote verify "$version"
if ((model_only)); then
  change remote selftest "$version" require-model-check
else
  change remote selftest "$version"
fi

# ---------------------------------------------------------------- switch, restart, health, rollback
step "switch /opt/edge/current to $version, restart edge, health check (${health_timeout} s)"
status=0
change remote activate "$version" "$keep" "$health_timeout" "$health_pattern" || status=$?
case "$status" in
  0)
    if ((dry_run)); then
      echo
      echo "rpi-deploy: dry run: nothing was changed$( ((reachable)) || echo " ($dest was not reachable: the checks on the Pi were not run)")"
      exit 0
    fi
    echo
    echo "rpi-deploy: $dest runs edge $version ($( ((no_systemd)) && echo "supervise.sh" || echo "systemd: edge.service"))"
    ;;
  3)
    echo >&2
    echo "rpi-deploy: ROLLED BACK: release $version failed its health check on $dest; the previous release runs again (./rpi-deploy.sh --status $dest shows its log)" >&2
    exit 3
    ;;
  *)
    echo >&2
    echo "rpi-deploy: deploy of $version to $dest failed (above)" >&2
    exit 1
    ;;
esac
