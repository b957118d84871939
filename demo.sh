#!/usr/bin/env bash
# Edge's main job on its bundled default, no hardware needed: convert the bundled PyTorch forecaster
# (an LSTM encoder -> RepeatVector -> LSTM decoder -> Conv1D 'same' head, exported to ONNX) into an
# .edge blob, inspect it, and run it on a bundled batch of sensor windows.
set -euo pipefail
cd "$(dirname "$0")"
sample=Runtime.Tests/Fixtures/models/forecaster
out=${1:-"${TMPDIR:-/tmp}/edge-demo"}
mkdir -p "$out"

dotnet build -c Release -v quiet --nologo Edge.sln >/dev/null
dotnet run -c Release --no-build --project Quantizer -- convert "$sample/model.onnx" --output "$out/forecaster.edge"
dotnet run -c Release --no-build --project Quantizer -- inspect "$out/forecaster.edge" | tail -n 4
dotnet run -c Release --no-build --project Device -- predict --model "$out/forecaster.edge" \
  --input "x=$sample/x.npy" --output-dir "$out"
echo "forecasts written to $out (compare with $sample/forecast.npy, PyTorch's own output)"
