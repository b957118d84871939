#!/bin/bash
# Brings the corpus files of manifest.tsv into $CORPUS_DIR (default /work/corpus-files) as NNN_<file name>,
# each checked against its sha256. The files stay out of the repository (their licences are unknown).
#
#   tools/corpus/fetch.sh [--mirror DIR] [--ids 1,5,9]
#
# Source, per file: the bare git snapshot DIR/OWNER+NAME/repo (what the tool library's `fetch` makes;
# default /work/.mirror), else https://raw.githubusercontent.com/OWNER/NAME/COMMIT/PATH (for a user with
# internet; nothing else is contacted). A file whose sha256 differs is deleted and reported; exit 1 if any
# retrievable file is missing at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
files=${CORPUS_DIR:-/work/corpus-files}
mirror=/work/.mirror ids=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --mirror) mirror=$2; shift 2 ;;
    --ids) ids=",$2,"; shift 2 ;;
    *) echo "fetch.sh: unknown option '$1' (known: --mirror DIR, --ids LIST)" >&2; exit 1 ;;
  esac
done
mkdir -p "$files"
missing=0 have=0
while IFS=$'\t' read -r id repo commit path format sha bytes status query; do
  [[ -z $ids || $ids == *",$id,"* ]] || continue
  [[ $status == ok ]] || continue
  out=$files/$(printf '%03d' "$id")_$(basename "$path")
  if [[ -f $out && $(sha256sum "$out" | cut -d' ' -f1) == "$sha" ]]; then have=$((have + 1)); continue; fi
  git_dir=$mirror/${repo/\//+}/repo
  [[ -d $git_dir/.git ]] && git_dir=$git_dir/.git
  if [[ -d $git_dir ]] && git --git-dir="$git_dir" cat-file blob "$commit:$path" > "$out.part" 2>/dev/null; then
    :
  elif curl -fsSL --max-time 120 -o "$out.part" "https://raw.githubusercontent.com/$repo/$commit/$path" 2>/dev/null; then
    :
  else
    echo "fetch.sh: $id $repo $path: not in $mirror and not downloadable" >&2
    rm -f "$out.part"; missing=$((missing + 1)); continue
  fi
  got=$(sha256sum "$out.part" | cut -d' ' -f1)
  if [[ $got != "$sha" ]]; then
    echo "fetch.sh: $id $repo $path: sha256 $got, manifest says $sha; not kept" >&2
    rm -f "$out.part"; missing=$((missing + 1)); continue
  fi
  mv "$out.part" "$out"; have=$((have + 1))
done < <(tail -n +2 "$here/manifest.tsv")
echo "fetch.sh: $have files in $files, $missing missing"
[[ $missing = 0 ]]
