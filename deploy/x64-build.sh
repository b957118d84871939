#!/usr/bin/env bash
# Which NativeAOT linux-x64 `edge` build a CPU runs best, from its /proc/cpuinfo (a file, or stdin).
# Prints one line: "v4 <why>" or "v3 <why>". install.sh --device linux-x64 (the local CPU) and
# rpi-deploy.sh --target x64 (the target's CPU, read over ssh) use it; docs/deploy.md explains the choice.
#   v4: dotnet publish -r linux-x64 -p:EdgeX64Avx512=true (x86-64-v4 + AVX-VNNI: the avx512 kernel path).
#       NativeAOT makes every instruction set of that baseline mandatory: the binary refuses to start on a CPU
#       missing one, so all of them must be in the flags. The path's vpdpbusd comes from .NET's AvxVnni class
#       (flag avx_vnni); avx512_vnni alone (Ice Lake, Cascade Lake) does not give it, and such a CPU gets v3.
#   v3: the default publish (x86-64-v3: AVX2, FMA, BMI; the avx2 path), every x86-64 CPU since 2013.
# EDGE_X64_BUILD=v3|v4 forces the answer (a build for another machine, or to compare the two).
# Usage: deploy/x64-build.sh [CPUINFO]   (default /proc/cpuinfo; - reads stdin)
set -euo pipefail
src=${1:-/proc/cpuinfo}
case "${EDGE_X64_BUILD:-}" in
  v3 | v4) echo "$EDGE_X64_BUILD forced by EDGE_X64_BUILD=$EDGE_X64_BUILD"; exit 0 ;;
  '' | auto) ;;
  *) echo "x64-build: EDGE_X64_BUILD=$EDGE_X64_BUILD: expected v3, v4 or auto" >&2; exit 1 ;;
esac
if [[ "$src" == - ]]; then text=$(cat); else
  [[ -r "$src" ]] || { echo "x64-build: $src: cannot read the CPU's flags" >&2; exit 1; }
  text=$(cat -- "$src")
fi
# The first processor's flags (every core of one machine has the same).
flags=" $(sed -n 's/^flags[[:space:]]*:[[:space:]]*//p' <<<"$text" | head -n 1) "
[[ "$flags" != "  " ]] || { echo "x64-build: ${src/#-/stdin}: no 'flags' line (not an x86-64 /proc/cpuinfo)" >&2; exit 1; }
missing=()
# x86-64-v3, then x86-64-v4's AVX-512 subsets, then AVX-VNNI. Not lzcnt: Linux lists it as abm, which some
# hypervisors hide (this CI VM runs the v3 build without it).
for f in avx2 bmi1 bmi2 fma f16c movbe avx512f avx512bw avx512cd avx512dq avx512vl avx_vnni; do
  [[ "$flags" == *" $f "* ]] || missing+=("$f")
done
if ((${#missing[@]} == 0)); then
  echo "v4 the CPU has AVX-512 (f, bw, cd, dq, vl) and AVX-VNNI: the x86-64-v4 build (avx512 kernels)"
else
  echo "v3 the CPU lacks ${missing[*]}: the x86-64-v3 build (avx2 kernels)"
fi
