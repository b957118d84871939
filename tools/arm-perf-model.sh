#!/usr/bin/env bash
# Static cycle model of the ARM kernels: publishes `edge` with NativeAOT for linux-arm64 (as
# tools/arm64-selftest.sh does, into the same folder, so CI reuses that publish with --no-publish), then
# tools/arm_perf_model.py finds each hot kernel by symbol (edge.dbg), extracts its inner loop and the per-block
# code around it from the binary, runs llvm-mca for Cortex-A53 (Pi 3), Cortex-A55, the Cortex-A57 model (LLVM's
# stand-in for the Pi 4's A72) and Neoverse N1 (A76-derived, +dotprod: the Pi 5), and prints cycles/iteration,
# MAC/cycle against each core's peak and lower bounds of an LSTM(200, input 8) step and of a seed-forecaster
# forecast on Pi 3/4/5. The model is deterministic for a given binary; with the committed floors
# (tools/arm-perf-floors.txt) it exits 1 when a figure is worse. See docs/benchmarks.md, "ARM".
#
# Needs (Debian 12): llvm-19 (llvm-mca-19, llvm-objdump-19, llvm-nm-19), python3, and for the publish what
# tools/arm64-selftest.sh needs.
#
# Usage: tools/arm-perf-model.sh [--no-publish] [--show-loops] [--no-floors]
#        (EDGE_ARTIFACTS selects the build folder, default /tmp/edge-arm64)
set -euo pipefail
cd "$(dirname "$0")/.."

publish=1 floors=(--floors tools/arm-perf-floors.txt) extra=()
for a in "$@"; do
  case "$a" in
    --no-publish) publish=0 ;;
    --no-floors) floors=() ;;
    --show-loops) extra+=(--show-loops) ;;
    *) echo "arm-perf-model: unknown option $a (expected --no-publish, --show-loops, --no-floors)" >&2; exit 2 ;;
  esac
done
for tool in llvm-mca-19 llvm-objdump-19 llvm-nm-19; do
  command -v "$tool" >/dev/null || { echo "arm-perf-model: $tool not found (apt-get install -y llvm-19)" >&2; exit 2; }
done

export EDGE_ARTIFACTS="${EDGE_ARTIFACTS:-/tmp/edge-arm64}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
out="$EDGE_ARTIFACTS/publish/Edge.Device/release_linux-arm64"
if ((publish)); then
  # shellcheck disable=SC2086
  dotnet publish Device/Edge.Device.csproj -c Release -r linux-arm64 -p:PublishAot=true \
    -p:TreatWarningsAsErrors=true ${EDGE_PUBLISH_ARGS:-} -v quiet -nologo
fi
for f in edge edge.dbg; do
  [[ -f "$out/$f" ]] || { echo "arm-perf-model: $out/$f not found (publish first, or drop --no-publish)" >&2; exit 1; }
done
start=$(date +%s)
/usr/bin/python3 tools/arm_perf_model.py "$out/edge" "$out/edge.dbg" "${floors[@]}" "${extra[@]}"
echo "arm-perf-model: done in $(( $(date +%s) - start )) s"
