#!/usr/bin/env bash
# bench-on-pi.sh: run `edge bench` on a Raspberry Pi over ssh, bring the JSON back next to a run of the same
# model on this machine, and print the comparison (`edge bench --compare`, plus the HTML page).
#
#   tools/bench-on-pi.sh [options] USER@HOST
#
# It is the body of `./rpi-deploy.sh --bench USER@HOST`: rpi-deploy.sh can call it with the binary it
# cross-published and its own ssh options (--port, --identity, --ssh-option pass straight through).
#
# Options:
#   --model FILE.edge     model to measure (repeatable; default: the Pi's deployed /opt/edge/current/model.edge,
#                         fetched so the local run measures the same blob)
#   --binary FILE         linux-arm64 `edge` to copy and run on the Pi (default: the deployed
#                         /opt/edge/current/edge there)
#   --local-edge FILE     `edge` for the local run (default: publish Device with NativeAOT for this machine's
#                         RID into $EDGE_ARTIFACTS, as the Pi's binary is built; `--no-local` skips the local run)
#   --out DIR             where the JSON and HTML go (default bench-results/<host>-<UTC time>)
#   --steps N, --warmup N, --batch B, --isa ISA      passed to both runs (default --isa all)
#   --port N, --identity FILE, --ssh-option OPT      ssh/scp connection (as rpi-deploy.sh)
#   --dry-run             print the commands instead of running them
# Exit codes: 0 done, 1 a step failed, 2 usage.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

models=() binary="" local_edge="" out="" no_local=0 dry=0 host=""
bench_args=() ssh_opts=()
steps=1000 warmup=100 batch=1 isa=all
while (($#)); do
  case "$1" in
    --model) models+=("$2"); shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --local-edge) local_edge=$2; shift 2 ;;
    --no-local) no_local=1; shift ;;
    --out) out=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --isa) isa=$2; shift 2 ;;
    --port) ssh_opts+=(-o "Port=$2"); shift 2 ;;
    --identity) ssh_opts+=(-i "$2"); shift 2 ;;
    --ssh-option) ssh_opts+=(-o "$2"); shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage 0 ;;
    -*) echo "bench-on-pi: unknown option $1" >&2; usage 2 ;;
    *) [[ -z $host ]] || { echo "bench-on-pi: one USER@HOST only" >&2; exit 2; }; host=$1; shift ;;
  esac
done
[[ -n $host ]] || { echo "bench-on-pi: USER@HOST is required" >&2; usage 2; }
for m in "${models[@]}"; do [[ -f $m ]] || { echo "bench-on-pi: --model $m: no such file" >&2; exit 1; }; done
[[ -z $binary || -f $binary ]] || { echo "bench-on-pi: --binary $binary: no such file" >&2; exit 1; }
bench_args=(--steps "$steps" --warmup "$warmup" --batch "$batch" --isa "$isa")
out=${out:-bench-results/${host#*@}-$(date -u +%Y%m%dT%H%M%SZ)}

SSH=${SSH:-ssh} SCP=${SCP:-scp}
run() { if ((dry)); then printf '+ %q' "$1"; shift; printf ' %q' "$@"; echo; else "$@"; fi; }
remote() { run "$SSH" "${ssh_opts[@]}" -o BatchMode=yes "$host" "$@"; }

run mkdir -p "$out"
tmp=$( ((dry)) && echo /tmp/edge-bench.DRY || "$SSH" "${ssh_opts[@]}" -o BatchMode=yes "$host" mktemp -d /tmp/edge-bench.XXXXXX)
trap '((dry)) || "$SSH" "${ssh_opts[@]}" -o BatchMode=yes "$host" rm -rf "$tmp" >/dev/null 2>&1 || true' EXIT

pi_edge=/opt/edge/current/edge
if [[ -n $binary ]]; then
  run "$SCP" "${ssh_opts[@]}" -q "$binary" "$host:$tmp/edge"
  pi_edge=$tmp/edge
fi
if ((${#models[@]} == 0)); then
  run "$SCP" "${ssh_opts[@]}" -q "$host:/opt/edge/current/model.edge" "$out/model.edge"
  models=("$out/model.edge")
else
  for m in "${models[@]}"; do run "$SCP" "${ssh_opts[@]}" -q "$m" "$host:$tmp/$(basename "$m")"; done
fi

if ((!no_local)) && [[ -z $local_edge ]]; then
  case "$(uname -m)" in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; *) echo "bench-on-pi: no RID for $(uname -m); pass --local-edge or --no-local" >&2; exit 1 ;; esac
  export EDGE_ARTIFACTS=${EDGE_ARTIFACTS:-$PWD/artifacts}
  run dotnet publish Device/Edge.Device.csproj -c Release -r "$rid" -p:PublishAot=true -v quiet -nologo
  local_edge=$EDGE_ARTIFACTS/publish/Edge.Device/release_$rid/edge
fi

for m in "${models[@]}"; do
  name=$(basename "$m" .edge)
  echo "== $host: edge bench $name"
  remote "$pi_edge" bench --model "$tmp/$(basename "$m")" "${bench_args[@]}" --json "$tmp/$name.json"
  run "$SCP" "${ssh_opts[@]}" -q "$host:$tmp/$name.json" "$out/pi-$name.json"
  files=("$out/pi-$name.json")
  if ((!no_local)); then
    echo "== local: edge bench $name"
    run "$local_edge" bench --model "$m" "${bench_args[@]}" --json "$out/local-$name.json"
    files+=("$out/local-$name.json")
    compare_edge=$local_edge
  else
    compare_edge=${local_edge:-}
  fi
  if ((${#files[@]} > 1)) && [[ -n $compare_edge ]]; then
    echo "== comparison ($name)"
    run "$compare_edge" bench --compare "${files[@]}" --html "$out/$name-compare.html"
  fi
done
echo "bench-on-pi: results in $out"
