#!/usr/bin/env bash
# rpi-deploy.sh --dry-run without a reachable Pi (issue 14): the whole plan is printed (what would be
# built, packaged, copied, checked and switched), the checks on the Pi are marked "not run: host
# unreachable", and it exits 0; a real deploy to the same host still stops with one line and exit 1.
# Needs no root and no network: the hosts are an unresolvable name (.invalid, RFC 2606) and a closed
# port on 127.0.0.1. Needs ssh, rsync, python3, aarch64-linux-gnu-gcc (the --binary stand-in), and for
# the plan without --binary what rpi-deploy.sh checks before a cross-publish (dotnet, clang, lld, ...).
# Usage: tests/deploy/offline.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/edge-offline-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0 passes=0
fail() { printf 'FAIL: %s\n' "$*" >&2; fails=$((fails + 1)); }
pass() { printf 'PASS: %s\n' "$*"; passes=$((passes + 1)); }

# A closed port: bound by nothing (a port the kernel just handed out and that was released again).
closed_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

# Only the first 4 bytes ("EDGE") of the model are read before a deploy; the dry run loads nothing.
printf 'EDGE (offline test: never loaded)' >"$work/model.edge"
printf 'timestamp,t\n2024-01-01T00:00:00,1\n' >"$work/replay.csv"
cat >"$work/edge.json" <<'EOF'
{
  // as a user writes it: comments, a trailing comma, a local replay file
  "model": "other.edge",
  "source": { "kind": "replay", "path": "replay.csv", "time_field": "timestamp" },
}
EOF
aarch64-linux-gnu-gcc -static -O2 "$here/edge-double.c" -o "$work/edge"

run() { # expected-exit args...: rpi-deploy.sh, output in $work/out
  local want=$1 rc=0
  shift
  # An empty build folder: a dry run would otherwise package the binary of an earlier publish.
  EDGE_ARTIFACTS=$work/artifacts timeout 120 "$repo/rpi-deploy.sh" "$@" >"$work/out" 2>&1 || rc=$?
  sed 's/^/    | /' "$work/out"
  if [[ "$rc" != "$want" ]]; then
    fail "rpi-deploy.sh $* exited $rc, expected $want"
    return 1
  fi
}
has() { # name regex...: every regex is in the output
  local name=$1 re missing=()
  shift
  for re in "$@"; do grep -Eq -- "$re" "$work/out" || missing+=("$re"); done
  if ((${#missing[@]})); then fail "$name: not in the output: ${missing[*]}"; else pass "$name"; fi
}

plan=(
  'preflight on pi@'
  'not run: host unreachable: .*read-only checks on the Pi \(aarch64, sudo'
  'package the release'
  'would run: rsync .* pi@[^ ]*:/opt/edge/releases/'
  'deploy/remote.sh prepare'
  'deploy/remote.sh verify'
  'sha256sum -c SHA256SUMS'
  'deploy/remote.sh selftest'
  'edge selftest, edge model-check --config config.json \(the model loads, its contract matches the config, a forecast runs\), edge run --config config.json --print-config'
  'deploy/remote.sh activate'
  'switch /opt/edge/current -> releases/'
  'roll back to the previous release'
  'dry run: nothing was changed \(.* was not reachable'
)

echo "### --dry-run, unresolvable host, cross-publish plan"
if run 0 --dry-run --model "$work/model.edge" --config "$work/edge.json" pi@raspberrypi.invalid; then
  has "dry run to an unresolvable host prints the whole plan and exits 0" \
    'not run: host unreachable: cannot resolve raspberrypi.invalid' \
    'would run: .*dotnet publish .*-r linux-arm64' \
    'would package: edge \(the publish above\), config.json edge.service files/replay.csv model.edge supervise.sh VERSION SHA256SUMS' \
    "${plan[@]}"
fi

echo "### --dry-run --binary, nothing listening on the port"
if run 0 --dry-run --binary "$work/edge" --model "$work/model.edge" --config "$work/edge.json" --port "$closed_port" pi@127.0.0.1; then
  has "dry run with --binary to a closed port prints the whole plan, the version and the glibc check as not run" \
    "not run: host unreachable: nothing listens for ssh on pi@127.0.0.1 port $closed_port" \
    'not run: host unreachable: the Pi.s glibc is at least|glibc >= [0-9]' \
    'release 0\.[0-9.]+-[0-9a-f]{12}: ' \
    'files: SHA256SUMS VERSION config.json edge edge.service files/replay.csv model.edge supervise.sh' \
    "${plan[@]}"
  if grep -q '<version>' "$work/out"; then fail "the dry run with --binary left <version> unresolved"; fi
fi

echo "### --dry-run --model-only, unreachable"
if run 0 --dry-run --model-only --model "$work/model.edge" --config "$work/edge.json" pi@raspberrypi.invalid; then
  has "a model-only dry run builds nothing, plans to link the Pi's binary and to run edge model-check" \
    'not run: host unreachable: the binary of the current release' \
    'would package: edge \(linked from the current release on the Pi, not copied\)' \
    'deploy/remote.sh adopt' 'hard-link edge and its libraries of the current release' \
    'deploy/remote.sh selftest <version> require-model-check' 'dry run: nothing was changed'
  if grep -q 'dotnet publish' "$work/out"; then fail "a model-only dry run plans a build"; fi
fi
if run 2 --model-only --binary "$work/edge" --model "$work/model.edge" --config "$work/edge.json" pi@127.0.0.1; then
  has "--model-only with --binary is a usage error" 'model-only keeps the Pi.s binary: it takes no --binary'
fi

echo "### the other actions in a dry run"
for action in status rollback uninstall; do
  if run 0 --dry-run "--$action" pi@raspberrypi.invalid; then
    has "--dry-run --$action offline: says what it would do, exits 0" 'not run: host unreachable' 'would (show|switch|stop)'
  fi
done

echo "### a real deploy to the unreachable host"
if run 1 --binary "$work/edge" --model "$work/model.edge" --config "$work/edge.json" --port "$closed_port" pi@127.0.0.1; then
  has "a deploy (not a dry run) to an unreachable host stops with one clear line, exit 1" \
    "rpi-deploy: error: nothing listens for ssh on pi@127.0.0.1 port $closed_port"
  if grep -q '==> package the release' "$work/out"; then fail "a deploy to an unreachable host went on to package"; fi
fi

echo "### x64: which instruction-set build a CPU gets (deploy/x64-build.sh, fake /proc/cpuinfo)"
v3flags="fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt avx avx2 fma bmi1 bmi2 f16c movbe abm"
avx512="avx512f avx512dq avx512cd avx512bw avx512vl"
pick() { # expected-first-word name flags...
  local want=$1 name=$2 got
  shift 2
  printf 'processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: %s\n\nprocessor\t: 1\nflags\t\t: %s\n' "$*" "$*" >"$work/cpuinfo"
  got=$(EDGE_X64_BUILD='' "$repo/deploy/x64-build.sh" "$work/cpuinfo" 2>&1) || got="exit $?: $got"
  if [[ "${got%% *}" == "$want" ]]; then pass "x64 build for $name: $got"; else fail "x64 build for $name: expected $want, got: $got"; fi
}
pick v4 "AVX-512 + AVX-VNNI (Zen 4/5, Sapphire Rapids)" "$v3flags $avx512 avx512_vnni avx_vnni"
pick v3 "AVX-512 + AVX512-VNNI without AVX-VNNI (Ice Lake, Cascade Lake)" "$v3flags $avx512 avx512_vnni"
pick v3 "AVX-VNNI without AVX-512 (Alder Lake)" "$v3flags avx_vnni"
pick v3 "AVX-512 without avx512vl" "$v3flags avx512f avx512dq avx512cd avx512bw avx512_vnni avx_vnni"
pick v3 "AVX2 only (Haswell)" "$v3flags"
if EDGE_X64_BUILD=v4 "$repo/deploy/x64-build.sh" /dev/null | grep -q '^v4 forced'; then pass "EDGE_X64_BUILD=v4 forces the v4 build"; else fail "EDGE_X64_BUILD=v4 does not force v4"; fi
if out=$(EDGE_X64_BUILD=avx512 "$repo/deploy/x64-build.sh" "$work/cpuinfo" 2>&1); then
  fail "EDGE_X64_BUILD=avx512 was accepted: $out"
elif [[ "$out" == *"EDGE_X64_BUILD=avx512: expected v3, v4 or auto"* ]]; then pass "a bad EDGE_X64_BUILD is one clear line, exit 1"
else fail "a bad EDGE_X64_BUILD: $out"; fi
printf 'processor\t: 0\nCPU implementer\t: 0x41\nFeatures\t: fp asimd\n' >"$work/cpuinfo-arm"
if out=$(EDGE_X64_BUILD='' "$repo/deploy/x64-build.sh" "$work/cpuinfo-arm" 2>&1); then
  fail "an ARM cpuinfo got an x64 build: $out"
else pass "an ARM cpuinfo is refused: $out"; fi

echo "### --dry-run --target x64, unresolvable host: the v3 build, said so"
if run 0 --dry-run --target x64 --model "$work/model.edge" --config "$work/edge.json" pc@edgebox.invalid; then
  has "x64 dry run without the host: v3, publish for linux-x64, preflight for x86_64" \
    'x64 build: x86-64-v3 \(not run: host unreachable' \
    'would run: .*dotnet publish .*-r linux-x64 ' \
    'read-only checks on the Pi \(x86_64, '
  if grep -q 'EdgeX64Avx512' "$work/out"; then fail "the x64 dry run without the host's flags plans the v4 build"; fi
fi
if run 0 --dry-run --target x64-v4 --model "$work/model.edge" --config "$work/edge.json" pc@edgebox.invalid; then
  has "--target x64-v4 forces the AVX-512 build and checks its CPU features on the target" \
    'x64 build: x86-64-v4 \(forced by --target x64-v4\)' \
    'would run: .*dotnet publish .*-r linux-x64 .*-p:EdgeX64Avx512=true' \
    'CPU features: avx512f,avx512bw,avx512vl,avx_vnni'
fi
if run 1 --dry-run --target x64 --binary "$work/edge" --model "$work/model.edge" --config "$work/edge.json" pc@edgebox.invalid; then
  has "an arm64 --binary for an x64 target is refused" 'is not a linux-x64 \(x86_64\) executable'
fi

echo "### deploy/prometheus: the example config and alert rules"
if command -v promtool >/dev/null; then
  if promtool check config "$repo/deploy/prometheus/prometheus.yml" >"$work/out" 2>&1 &&
    promtool test rules "$here/edge-alerts.test.yml" >>"$work/out" 2>&1; then
    pass "promtool: the example scrape config is valid and the alert rules fire (and stay silent) as tests/deploy/edge-alerts.test.yml expects"
  else
    sed 's/^/    | /' "$work/out"
    fail "promtool rejects deploy/prometheus (above)"
  fi
else
  fail "promtool is not installed (apt-get install -y prometheus)"
fi

printf '\ntests/deploy/offline.sh: %d passed, %d failed\n' "$passes" "$fails"
((fails == 0))
