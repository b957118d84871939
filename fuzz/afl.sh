#!/usr/bin/env bash
# Fuzzes one edge-fuzz target with AFL++ for a while (docs/fuzzing.md).
#   fuzz/afl.sh TARGET [SECONDS=60] [WORK_DIR=/tmp/edge-fuzz]
# Builds edge-fuzz (Release) into WORK_DIR/bin, makes the seed corpus (fuzz/make-seeds.sh) while the
# binaries are still plain, instruments Edge's three assemblies with SharpFuzz, then runs afl-fuzz.
# Needs: afl++ (apt-get install afl++), the SharpFuzz tool (dotnet tool install --global
# SharpFuzz.CommandLine --version 2.3.0). Crashes land in WORK_DIR/findings/TARGET/default/crashes;
# replay them with: WORK_DIR/bin/edge-fuzz run TARGET WORK_DIR/findings/TARGET/default/crashes
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: fuzz/afl.sh TARGET [SECONDS] [WORK_DIR]}
seconds=${2:-60}
work=${3:-/tmp/edge-fuzz}
export PATH="$PATH:$HOME/.dotnet/tools"
command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install afl++" >&2; exit 1; }
command -v sharpfuzz >/dev/null || { echo "sharpfuzz not found: dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0" >&2; exit 1; }

if [[ ! -f "$work/bin/.instrumented" ]]; then
  rm -rf "$work/bin" "$work/seeds"
  dotnet build fuzz/Edge.Fuzz.csproj -c Release -o "$work/bin" >/dev/null
  fuzz/make-seeds.sh "$work/seeds" "$work/bin/edge-quantize" >/dev/null
  for assembly in Edge.Runtime.dll edge-quantize.dll edge.dll; do sharpfuzz "$work/bin/$assembly"; done
  touch "$work/bin/.instrumented"
fi

# dotnet is not an AFL-instrumented binary (the coverage comes from SharpFuzz's IL rewriting);
# the fork server of a .NET process needs longer than AFL's default to come up.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_FORKSRV_INIT_TMOUT=120000
# A 1 GB managed heap: an input that makes a reader allocate past it fails with OutOfMemoryException,
# which AFL records as a crash (the resource budget of issue 15).
export DOTNET_GCHeapHardLimit=0x40000000
mkdir -p "$work/findings"
dict=()
[[ $target == metadata || $target == config ]] && dict=(-x fuzz/dict/json.dict)
afl-fuzz -V "$seconds" -t 10000 -m none "${dict[@]}" -i "$work/seeds/$target" -o "$work/findings/$target" -- "$work/bin/edge-fuzz" afl "$target"
grep -E "execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs" "$work/findings/$target/default/fuzzer_stats"
