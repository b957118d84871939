#!/usr/bin/env bash
# Edge's main job on its bundled default, no hardware needed: the bundled forecaster (the seed's
# LSTM encoder -> RepeatVector -> LSTM decoder -> Conv1D model, trained in PyTorch on NOAA daily
# weather at Seattle; samples/forecaster/) is converted to an int8 .edge blob, and the held-out tail
# of that recording is replayed through `edge run`: each day's forecast is printed next to what
# happened, with the running RMSE per feature, then a summary against a persistence baseline.
#
#   ./demo.sh            # ten days a second
#   ./demo.sh --fast     # as fast as it goes (a few seconds)
#   ./demo.sh [--fast] [more `edge run` flags, e.g. --horizon 7 --sink csv:/tmp/f.csv]
#
# The blob is made here, from the committed ONNX file and meta.json, rather than committed itself:
# it is a build product of two committed inputs and the quantizer (byte-identical for the same
# inputs), and a committed copy would go stale whenever the quantizer or the blob format changes.
set -euo pipefail
cd "$(dirname "$0")"
speed=()
if [[ "${1:-}" == "--fast" ]]; then speed=(--speed fast); shift; fi
sample=samples/forecaster
out=${EDGE_DEMO_DIR:-"${TMPDIR:-/tmp}/edge-demo"}
mkdir -p "$out"
if [[ ! -f "$sample/forecaster.onnx" ]]; then
  echo "demo.sh: $sample/forecaster.onnx is missing (made by tools/train_forecaster.py)" >&2
  exit 1
fi

dotnet build -c Release -v quiet --nologo Edge.sln >"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; exit 1; }
dotnet run -c Release --no-build --project Quantizer -- convert "$sample/forecaster.onnx" \
  --output "$out/forecaster.int8.edge" --precision int8 --metadata "$sample/meta.json" >"$out/convert.log" 2>&1 \
  || { cat "$out/convert.log" >&2; exit 1; }
# Logs (model, counters) go to $out/edge.log; the table is on stdout.
dotnet run -c Release --no-build --project Device -- run --config samples/demo.json \
  --model "$out/forecaster.int8.edge" "${speed[@]}" "$@" 2>"$out/edge.log" || { cat "$out/edge.log" >&2; exit 1; }
# latency_ms in edge.log runs from a reading's arrival to its forecast; a --fast replay reads the file
# ahead of the model, so there it is mostly queueing (the log line says so) and model_ms is the model.
echo "log and counters: $out/edge.log$([[ ${#speed[@]} -gt 0 ]] && echo " (--fast: its latency_ms is mostly queueing behind the model; model_ms is the model's own time)")"
