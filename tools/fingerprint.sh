#!/usr/bin/env bash
# Usage: tools/fingerprint.sh OUT_DIR
# Records what every fixture model does today: converts each model under Runtime.Tests/Fixtures, samples/ and
# perf/models (fp32 and int8), runs it in a batch session and as a ForecastStream, once per kernel path this
# machine supports (EDGE_ISA), and writes OUT_DIR/<isa>.txt with one sha256 per run. Run it on the commit before
# a refactor that must not change behaviour and on the commit after, then `diff -r BEFORE AFTER`.
# The hashes come from Edge itself: this compares Edge with Edge, it is not a correctness check.
set -euo pipefail
out=${1:?usage: tools/fingerprint.sh OUT_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
dotnet build -c Release "$root/perf" -v q -nologo >/dev/null
perf_dll=$(ls "$root"/perf/bin/Release/net*/Edge.Perf.dll | head -1)
isas="scalar avx2"
grep -q avx512_vnni /proc/cpuinfo && isas="$isas avx512"
[ "$(uname -m)" = aarch64 ] && isas="scalar neon neondot"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# One tree of models so relative paths (and so the seeded inputs) are the same on every checkout.
for d in Runtime.Tests/Fixtures samples perf/models; do
  [ -d "$root/$d" ] && mkdir -p "$stage/$d" && cp -r "$root/$d/." "$stage/$d/"
done
for isa in $isas; do
  echo "== $isa" >&2
  EDGE_ISA=$isa dotnet "$perf_dll" --fingerprint "$stage" "$out/$isa.txt"
done
