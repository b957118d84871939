#!/usr/bin/env bash
# Cross-publishes `edge` with NativeAOT for linux-arm64 and runs `edge selftest` under qemu-user on the
# three Raspberry Pi cores: Cortex-A53 (Pi 3, Zero 2: NEON), Cortex-A72 (Pi 4: NEON) and Cortex-A76
# (Pi 5: NEON + dot product, so the neondot path runs too). Exits non-zero on any failure and prints the
# kernel paths each CPU ran.
#
# Needs (Debian 12): clang, lld, gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user-static.
# With those installed the plain publish works here with no extra properties: the ILCompiler package picks
# clang as the cross linker and finds the arm64 sysroot of gcc-aarch64-linux-gnu by itself (checked with
# .NET SDK 10.0.401). If a machine needs it, pass e.g.
#   EDGE_PUBLISH_ARGS="-p:CppCompilerAndLinker=clang -p:SysRoot=/usr/aarch64-linux-gnu"
# `-L /usr/aarch64-linux-gnu` points qemu at the arm64 loader and libc (libc6-arm64-cross, which
# libc6-dev-arm64-cross pulls in). Run time here: about 25 s (20 s publish, ~1 s per emulated CPU).
#
# Usage: tools/arm64-selftest.sh [--no-publish]    (EDGE_ARTIFACTS selects the build folder, default /tmp/edge-arm64)
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in clang lld gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "arm64-selftest: missing Debian packages: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
  exit 2
fi

export EDGE_ARTIFACTS="${EDGE_ARTIFACTS:-/tmp/edge-arm64}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
out="$EDGE_ARTIFACTS/publish/Edge.Device/release_linux-arm64"
start=$(date +%s)
if [[ "${1:-}" != "--no-publish" ]]; then
  # shellcheck disable=SC2086
  dotnet publish Device/Edge.Device.csproj -c Release -r linux-arm64 -p:PublishAot=true \
    -p:TreatWarningsAsErrors=true ${EDGE_PUBLISH_ARGS:-} -v quiet -nologo
fi
bin="$out/edge"
[[ -x "$bin" ]] || { echo "arm64-selftest: $bin was not produced" >&2; exit 1; }
file "$bin" | grep -q 'ARM aarch64' || { echo "arm64-selftest: $bin is not an arm64 executable" >&2; exit 1; }
echo "arm64-selftest: $bin ($(stat -c %s "$bin") bytes), published in $(( $(date +%s) - start )) s"

status=0
# `edge selftest` checks both NEON int8 variants on every CPU (neon = out-of-order, neon-io = in-order). qemu-user
# shows the host's /proc/cpuinfo, not the emulated CPU's part, so the A53 run sets EDGE_NEON_KERNEL=inorder: the
# variant a real Cortex-A53 picks from its part (0xd03), which the run must report and PASS.
for cpu in cortex-a53 cortex-a72 cortex-a76; do
  t0=$(date +%s)
  env=()
  [[ $cpu == cortex-a53 ]] && env=(EDGE_NEON_KERNEL=inorder)
  echo "== ${env[*]:+${env[*]} }qemu-aarch64-static -cpu $cpu: edge selftest"
  log=$(mktemp)
  if env "${env[@]}" qemu-aarch64-static -L /usr/aarch64-linux-gnu -cpu "$cpu" "$bin" selftest | tee "$log" &&
    grep -q '^  neon-io .*int8 gemv parity .*PASS' "$log" &&
    { [[ $cpu != cortex-a53 ]] || grep -q 'neon int8 kernel: in-order (EDGE_NEON_KERNEL=inorder)' "$log"; }; then
    echo "== $cpu: PASS ($(( $(date +%s) - t0 )) s)"
  else
    echo "== $cpu: FAIL ($(( $(date +%s) - t0 )) s)"
    status=1
  fi
  rm -f "$log"
done
echo "arm64-selftest: $([[ $status == 0 ]] && echo PASS || echo FAIL) in $(( $(date +%s) - start )) s"
exit $status
