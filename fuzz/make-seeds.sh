#!/usr/bin/env bash
# Builds the seed corpus of every edge-fuzz target from the repo's own fixtures (small files only:
# AFL works best on inputs of a few KB). Usage: fuzz/make-seeds.sh OUT_DIR [EDGE_QUANTIZE]
# EDGE_QUANTIZE (default: the Debug build next to the tests) makes the .edge seeds. See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: fuzz/make-seeds.sh OUT_DIR [EDGE_QUANTIZE]}
quantize=${2:-Runtime.Tests/bin/Debug/net10.0/edge-quantize}
fixtures=Runtime.Tests/Fixtures
mkdir -p "$out"/{edge,metadata,onnx,pt,pickle,safetensors,h5,keras,npy,config,lines}

small() { find "$fixtures" -name "*.$1" -size -"${2:-64}"k | sort | head -n "${3:-12}"; }
copy() { local dir=$1; shift; local i=0; for f in "$@"; do cp "$f" "$out/$dir/$i-$(basename "$f")"; i=$((i + 1)); done; }

copy onnx $(small onnx)
copy pt $(small pt) "$fixtures"/pt/foreign/legacy_state_dict.pt "$fixtures"/pt/foreign/whole_module.pt "$fixtures"/pt/foreign/checkpoint_scaler.pt
copy safetensors $(small safetensors)
copy h5 $(small h5)
copy keras $(small keras 256)
copy npy $(small npy 4 16)
i=0
for f in $(small pt); do
  unzip -p "$f" '*/data.pkl' > "$out/pickle/$i.pkl" 2>/dev/null || rm -f "$out/pickle/$i.pkl"
  i=$((i + 1))
done

# .edge: a small Keras fixture (one input, one output) converted, fp32 and int8, with the device
# metadata edge run reads.
meta=$(mktemp)
printf '%s' '{"features": [{"name": "a", "unit": "u"}, {"name": "b", "unit": "u"}, "c"], "targets": ["a", "b", "c"],
  "normalization": {"kind": "minmax", "min": [0, 0, 0], "max": [1, 2, 3]}, "sample_period_s": 60, "window": 10, "horizon": 2}' > "$meta"
for p in fp32 int8; do
  "$quantize" convert "$fixtures/keras/conv_forecaster/model.h5" --precision "$p" --metadata "$meta" -o "$out/edge/conv_$p.edge" >/dev/null
done
rm -f "$meta"

# Metadata: what the .edge seeds carry, and variants with every key edge run reads.
mkdir -p "$out/metadata"
printf '%s' '{"features": [{"name": "a", "unit": "u", "min": 0, "max": 1}, {"name": "b", "mean": 1, "std": 2}, "c"], "targets": ["a", "b", "c"], "normalization": {"kind": "minmax", "min": [0, 0, 0], "max": [1, 2, 3]}, "sample_period_s": 60, "window": 4, "horizon": 2}' > "$out/metadata/full.json"
printf '%s' '{"features": ["a", "b", "c"], "normalization": {"type": "standard", "mean": [0, 1, 2], "scale": [1, 1, 1]}, "sample_period_seconds": 0.5, "window_length": 4, "horizon": 24}' > "$out/metadata/aliases.json"
printf '%s' '{"normalization": {"kind": "none"}}' > "$out/metadata/minimal.json"

# Config: the example of docs/config.md and the sample configs.
awk '/^## The config file/{on=1} on&&/^```json/{grab=1;next} grab&&/^```/{exit} grab' docs/config.md > "$out/config/docs-example.json"
cp samples/*.json "$out/config/"

# Lines: a selector byte for each parser (docs/fuzzing.md), a line limit of 64, reads of 7 bytes.
head -c 1500 samples/forecaster/holdout.csv | { printf '\x00\x3f\x06'; cat; } > "$out/lines/csv-header"
printf '\x00\x3f\x06%s' $'21.5,40\n22,41\r\n,\n1,2,3\nnan,null\n' > "$out/lines/csv-positional"
printf '\x01\x3f\x06%s' $'2026-03-21T09:53:25Z;40;x;21.5\n1700000000;41;;22\n' > "$out/lines/csv-columns"
printf '\x02\x3f\x06%s' $'{"t": 21.5, "h": null, "time": "2026-03-21T09:53:25Z"}\n{"temperature": "22", "humidity": 41}\n' > "$out/lines/json"
printf '\x03\x3f\x06%s' $'t=21.5 h:40;time=1700000000\nT=22,RH=41\n' > "$out/lines/kv"
echo "seeds in $out:"; for d in "$out"/*; do echo "  $(basename "$d"): $(ls "$d" | wc -l)"; done
