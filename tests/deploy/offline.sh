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
