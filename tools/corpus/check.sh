#!/bin/bash
# Converts every retrievable corpus file (manifest.tsv) with edge-quantize in fp32 and int8, one file at a
# time, records the result and the exact one-line message of a refusal, and where a framework reference can
# be run (ONNX Runtime for .onnx, tools/keras_reference.py for Keras, the rebuilt module of torch_models.py
# for state_dicts) the max abs error of Edge's output against it. Prints the summary table.
#
#   tools/corpus/fetch.sh                 # once: the files into $CORPUS_DIR (default /work/corpus-files)
#   tools/corpus/check.sh [--ids 1,5,9] [--no-build] [--update-docs]
#
# --update-docs rewrites the generated part of docs/coverage.md (between its corpus:begin/end markers).
# Output: $CORPUS_OUT (default /tmp/edge-corpus)/results.tsv and summary.md (the tables docs/coverage.md holds).
# Needs: dotnet, /usr/bin/python3 with numpy, h5py, torch, onnx (Debian's python3-torch, python3-onnx, python3-h5py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
files=${CORPUS_DIR:-/work/corpus-files}
out=${CORPUS_OUT:-/tmp/edge-corpus}
py=/usr/bin/python3
ids="" build=1 docs=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --ids) ids=",$2,"; shift 2 ;;
    --no-build) build=0; shift ;;
    --update-docs) docs=(--docs "$root/docs/coverage.md"); shift ;;
    *) echo "check.sh: unknown option '$1' (known: --ids LIST, --no-build, --update-docs)" >&2; exit 1 ;;
  esac
done
[[ -n $ids && ${#docs[@]} -gt 0 ]] && { echo "check.sh: --update-docs writes the whole corpus's tables; it cannot be combined with --ids" >&2; exit 1; }
[[ -d $files ]] || { echo "check.sh: no corpus folder '$files' (run tools/corpus/fetch.sh first, or set CORPUS_DIR)" >&2; exit 1; }
if [[ $build = 1 ]]; then
  for p in Quantizer/Edge.Quantizer.csproj Device/Edge.Device.csproj tools/corpus/ort-run/OrtRun.csproj; do
    nice dotnet build "$root/$p" -c Release -v q -nologo > "$out.build.log" 2>&1 ||
      { echo "check.sh: building $p failed (see $out.build.log)" >&2; exit 1; }
  done
fi
eq="dotnet $root/Quantizer/bin/Release/net10.0/edge-quantize.dll"
edge="dotnet $root/Device/bin/Release/net10.0/edge.dll"
ort="dotnet $root/tools/corpus/ort-run/bin/Release/net10.0/ort-run.dll"
mkdir -p "$out"
results=$out/results.tsv
printf 'id\trepo\tpath\tformat\tfp32\tfp32_message\tint8\tint8_message\treference\tmax_err_fp32\tmax_err_int8\tmax_abs_ref\n' > "$results"

# One line for the table: the refusal's own message (from edge-quantize's "error:" line on, a spec's list of
# problems joined with " | "), else the last line; tabs flattened, the corpus folder taken out of paths, cut
# at 600 characters.
last_line() {
  if grep -q ': error: ' "$1"; then sed -n '/: error: /,$p' "$1" | sed 's/^ *//' | paste -sd'|' | sed 's/|/ | /g'
  else grep -v '^\s*$' "$1" | tail -n 1; fi | tr '\t' ' ' | sed "s|$files/||g" | cut -c1-600
}

convert() { # convert FILE SPEC PRECISION BLOB LOG -> prints converted/refused/crashed/timeout
  local rc=0
  timeout 600 $eq convert "$1" ${2:+--spec "$2"} --precision "$3" --output "$4" > "$5" 2>&1 || rc=$?
  case $rc in 0) echo converted ;; 1) echo refused ;; 124) echo timeout ;; *) echo "crashed(exit $rc)" ;; esac
}

tail -n +2 "$here/manifest.tsv" | while IFS=$'\t' read -r id repo commit path format sha bytes status query companions; do
  [[ -z $ids || $ids == *",$id,"* ]] || continue
  [[ $status == ok ]] || continue
  n=$(printf '%03d' "$id")
  file=$files/$n/$(basename "$path")
  d=$out/$n; rm -rf "$d"; mkdir -p "$d"
  if [[ ! -f $file ]] || [[ $(sha256sum "$file" | cut -d' ' -f1) != "$sha" ]]; then
    printf '%s\t%s\t%s\t%s\tmissing\tfile absent or sha256 differs (run fetch.sh)\t-\t-\t-\t-\t-\t-\n' "$id" "$repo" "$path" "$format" >> "$results"
    continue
  fi
  spec=""
  if [[ $format == torch || $format == safetensors ]]; then
    spec=$here/specs/$n.json
    if [[ ! -f $spec ]]; then
      # specs/NNN.none says why no spec can be written (e.g. the repository has no forward())
      why="no spec written for it yet"; [[ -f $here/specs/$n.none ]] && why="no spec: $(head -n 1 "$here/specs/$n.none")"
      printf '%s\t%s\t%s\t%s\tno spec\t%s\tno spec\t%s\t-\t-\t-\t-\n' "$id" "$repo" "$path" "$format" "$why" "$why" >> "$results"
      continue
    fi
  fi
  r32=$(convert "$file" "$spec" fp32 "$d/fp32.edge" "$d/fp32.log"); m32=-
  [[ $r32 == converted ]] || m32=$(last_line "$d/fp32.log")
  r8=$(convert "$file" "$spec" int8 "$d/int8.edge" "$d/int8.log"); m8=-
  [[ $r8 == converted ]] || m8=$(last_line "$d/int8.log")
  ref=- e32=- e8=- scale=-
  if [[ $r32 == converted || $r8 == converted ]]; then
    rc=0; $py "$here/reference.py" inputs "$id" "$format" "$file" "$d/ref" > "$d/ref.log" 2>&1 || rc=$?
    if [[ $rc = 0 ]]; then
      if [[ $format == onnx ]]; then
        $ort "$file" "$d/ref" >> "$d/ref.log" 2>&1 || rc=$?; ref=onnxruntime
      else
        $py "$here/reference.py" outputs "$id" "$format" "$file" "$d/ref" >> "$d/ref.log" 2>&1 || rc=$?
        [[ $format == torch ]] && ref=pytorch || ref=keras_reference
      fi
    fi
    if [[ $rc != 0 ]]; then
      ref="none: $(last_line "$d/ref.log")"
    else
      mapfile -t names < <($py -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))))' "$d/ref/inputs.json")
      for p in fp32 int8; do
        [[ -f $d/$p.edge ]] || continue
        args=()
        if [[ ${#names[@]} = 1 ]]; then args=(--input "$d/ref/in_0.npy")
        else for i in "${!names[@]}"; do args+=(--input "${names[$i]}=$d/ref/in_$i.npy"); done; fi
        e="run failed"
        if timeout 600 $edge predict --model "$d/$p.edge" "${args[@]}" --output-dir "$d/out_$p" > "$d/predict_$p.log" 2>&1; then
          e=$($py "$here/reference.py" compare "$d/ref" "$d/out_$p" 2>&1 | tail -n 1) || true
        else
          e="edge predict: $(last_line "$d/predict_$p.log")"
        fi
        if [[ $e =~ ^([0-9.e+-]+)\ ([0-9.e+-]+)$ ]]; then
          [[ $p == fp32 ]] && e32=${BASH_REMATCH[1]} || e8=${BASH_REMATCH[1]}
          scale=${BASH_REMATCH[2]}
        else
          [[ $p == fp32 ]] && e32="($e)" || e8="($e)"
        fi
      done
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$repo" "$path" "$format" "$r32" "$m32" "$r8" "$m8" "$ref" "$e32" "$e8" "$scale" >> "$results"
  printf '%s %-10s fp32 %-10s int8 %-10s ref %s %s %s\n' "$n" "$format" "$r32" "$r8" "${ref:0:40}" "$e32" "$e8"
done

$py "$here/summary.py" "$here/manifest.tsv" "$results" "${docs[@]}" > "$out/summary.md"
cat "$out/summary.md"
