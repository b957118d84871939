#!/bin/bash
# Appends one file to the manifest in search order: add.sh QUERY REPO COMMIT PATH [MIRROR]
# Takes the file from the local bare snapshot MIRROR/OWNER+NAME/repo at COMMIT (HEAD if the snapshot lacks
# that commit), records sha256 and size, or "not retrievable" with the reason (LFS pointer, absent).
set -euo pipefail
query=$1 repo=$2 commit=$3 path=$4 mirror=${5:-/work/.mirror}
here=$(cd "$(dirname "$0")" && pwd)
manifest=$here/manifest.tsv
files=${CORPUS_DIR:-/work/corpus-files}
git_dir=$mirror/${repo/\//+}/repo; [[ -d $git_dir/.git ]] && git_dir=$git_dir/.git
[[ -f $manifest ]] || printf 'id\trepo\tcommit\tpath\tformat\tsha256\tbytes\tstatus\tquery\tcompanions\n' > "$manifest"
if grep -qP "^\d+\t\Q$repo\E\t[0-9a-f]+\t\Q$path\E\t" "$manifest"; then echo "already in manifest: $repo $path" >&2; exit 0; fi
id=$(($(tail -n +2 "$manifest" | wc -l) + 1))
case ${path,,} in
  *.h5|*.hdf5) format=keras-h5 ;; *.keras) format=keras-v3 ;; *.onnx) format=onnx ;;
  *.pt|*.pth|*.bin|*.ckpt) format=torch ;; *.safetensors) format=safetensors ;; *) format=other ;;
esac
status=ok sha=- bytes=-
if ! git --git-dir="$git_dir" cat-file -e "$commit^{commit}" 2>/dev/null; then
  commit=$(git --git-dir="$git_dir" rev-parse HEAD 2>/dev/null || echo "$commit")
fi
mkdir -p "$files/$(printf '%03d' "$id")"
out=$files/$(printf '%03d' "$id")/$(basename "$path")
if [[ -n ${REASON:-} ]]; then
  status="not retrievable: $REASON"
elif [[ ! -d $git_dir ]]; then
  status="not retrievable: no snapshot of the repository"
elif ! git --git-dir="$git_dir" cat-file -e "$commit:$path" 2>/dev/null; then
  status="not retrievable: not in the snapshot at $commit"
elif ! git --git-dir="$git_dir" cat-file blob "$commit:$path" > "$out" 2>/dev/null; then
  status="not retrievable: blob absent from the snapshot (>= 4 MiB)"; rm -f "$out"
elif head -c 200 "$out" | grep -q '^version https://git-lfs'; then
  status="not retrievable: Git LFS pointer"; rm -f "$out"
else
  sha=$(sha256sum "$out" | cut -d' ' -f1); bytes=$(stat -c %s "$out")
fi
# An ONNX model's external data files (torch 2.x writes weights beside the model) come with it, from the same
# folder of the same commit: recorded as NAME=SHA256 in the companions column.
companions=-
if [[ $format == onnx && $status == ok ]]; then
  for loc in $(/usr/bin/python3 -c 'import onnx,sys
m = onnx.load(sys.argv[1], load_external_data=False)
print(" ".join(sorted({e.value for t in m.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL for e in t.external_data if e.key == "location"})))' "$out"); do
    src=$(dirname "$path")/$loc; src=${src#./}
    if git --git-dir="$git_dir" cat-file blob "$commit:$src" > "$(dirname "$out")/$loc" 2>/dev/null; then
      c="$loc=$(sha256sum "$(dirname "$out")/$loc" | cut -d' ' -f1)"
      [[ $companions == - ]] && companions=$c || companions="$companions,$c"
    else
      rm -f "$(dirname "$out")/$loc"; [[ $companions == - ]] && companions="$loc=missing" || companions="$companions,$loc=missing"
    fi
  done
fi
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$repo" "$commit" "$path" "$format" "$sha" "$bytes" "$status" "$query" "$companions" >> "$manifest"
printf '%s %s %s %s\n' "$id" "$repo" "$path" "$status"
