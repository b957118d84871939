#!/usr/bin/env bash
# Puts `edge-quantize` and `edge` on PATH from this checkout, as .NET tools (README "Install").
#   ./install.sh                       both tools for this user (dotnet tool install --global: ~/.dotnet/tools)
#   ./install.sh --tool-path DIR       into DIR instead (no PATH change; CI uses this)
#   ./install.sh --device RID          also publish the device's NativeAOT `edge` for RID (linux-arm64 for a
#                                      Raspberry Pi, linux-x64) to artifacts/device/RID/ (edge + the serial port library);
#                                      linux-x64 is the AVX-512 (x86-64-v4) build when this CPU has AVX-512 and
#                                      AVX-VNNI, else x86-64-v3 (EDGE_X64_BUILD=v3|v4 forces one; docs/deploy.md)
# The tools are packed from this checkout into artifacts/tools/ and installed from there only: no other
# package source is consulted, so a same-named package elsewhere can never be picked up instead.
set -euo pipefail
repo=$(cd "$(dirname "$0")" && pwd)
usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }

tool_path=""
devices=()
while (($#)); do
  case $1 in
    --tool-path) [[ $# -ge 2 && -n $2 ]] || { echo "install.sh: --tool-path needs a folder" >&2; exit 1; }; tool_path=$2; shift 2 ;;
    --device)
      [[ $# -ge 2 ]] || { echo "install.sh: --device needs a runtime identifier (linux-arm64 or linux-x64)" >&2; exit 1; }
      case $2 in linux-arm64|linux-x64) devices+=("$2") ;; *) echo "install.sh: --device '$2': expected linux-arm64 or linux-x64" >&2; exit 1 ;; esac
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (see ./install.sh --help)" >&2; exit 1 ;;
  esac
done
case "${EDGE_X64_BUILD:-}" in '' | auto | v3 | v4) ;; *) echo "install.sh: EDGE_X64_BUILD=$EDGE_X64_BUILD: expected v3, v4 or auto" >&2; exit 1 ;; esac
command -v dotnet >/dev/null || { echo "install.sh: the .NET 10 SDK (dotnet) is not on PATH" >&2; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

feed="$repo/artifacts/tools"
rm -rf "$feed"
mkdir -p "$feed"
dotnet pack "$repo/Quantizer/Edge.Quantizer.csproj" -c Release -o "$feed" -v quiet -nologo
dotnet pack "$repo/Device/Edge.Device.csproj" -c Release -o "$feed" -v quiet -nologo

# A nuget.config whose only source is the folder just packed.
config="$feed/nuget.config"
cat > "$config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration><packageSources><clear /><add key="edge-local" value="$feed" /></packageSources></configuration>
XML

version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$repo/Directory.Build.props" | head -n1)
if [[ -n $tool_path ]]; then scope=(--tool-path "$tool_path"); else scope=(--global); fi
for tool in edge-quantize edge; do
  # Same version from a newer checkout: replace it rather than keep the old build.
  dotnet tool uninstall "${scope[@]}" "$tool" >/dev/null 2>&1 || true
  dotnet tool install "${scope[@]}" "$tool" --version "$version" --configfile "$config"
done

for rid in "${devices[@]}"; do
  out="$repo/artifacts/device/$rid"
  isa_args=() build=""
  if [[ $rid == linux-x64 ]]; then
    # This machine's CPU picks the instruction-set build (deploy/x64-build.sh; EDGE_X64_BUILD=v3|v4 forces one).
    choice=$("$repo/deploy/x64-build.sh") || exit 1
    build=${choice%% *}
    [[ $build == v4 ]] && isa_args=(-p:EdgeX64Avx512=true)
    echo "linux-x64 build: x86-64-$build (${choice#* })"
  fi
  dotnet publish "$repo/Device/Edge.Device.csproj" -c Release -r "$rid" -p:PublishAot=true "${isa_args[@]}" -o "$out" -v quiet -nologo
  echo "device binary: $out/edge (NativeAOT${build:+, x86-64-$build}; copy it with libSystem.IO.Ports.Native.so to the device, or use ./rpi-deploy.sh)"
done

if [[ -z $tool_path ]]; then
  case ":$PATH:" in
    *":$HOME/.dotnet/tools:"*) ;;
    *) echo "note: add ~/.dotnet/tools to PATH (e.g. echo 'export PATH=\"\$PATH:\$HOME/.dotnet/tools\"' >> ~/.bashrc)" ;;
  esac
fi
