#!/bin/bash
# Brings the corpus files of manifest.tsv into $CORPUS_DIR (default /work/corpus-files) as NNN/<file name>
# (with an ONNX model's external data files beside it), each checked against its sha256. The files stay out of the repository (their licences are unknown).
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
# get GIT_DIR COMMIT REPO_PATH OUT SHA: from the snapshot, else raw.githubusercontent.com; kept only if the sha256 matches
get() {
  if [[ -d $1 ]] && git --git-dir="$1" cat-file blob "$2:$3" > "$4.part" 2>/dev/null; then :
  elif curl -fsSL --max-time 120 -o "$4.part" "https://raw.githubusercontent.com/$repo/$2/$3" 2>/dev/null; then :
  else echo "fetch.sh: $id $repo $3: not in $mirror and not downloadable" >&2; rm -f "$4.part"; return 1; fi
  local got; got=$(sha256sum "$4.part" | cut -d' ' -f1)
  if [[ $got != "$5" ]]; then echo "fetch.sh: $id $repo $3: sha256 $got, manifest says $5; not kept" >&2; rm -f "$4.part"; return 1; fi
  mv "$4.part" "$4"
}
while IFS=$'\t' read -r id repo commit path format sha bytes status query companions; do
  [[ -z $ids || $ids == *",$id,"* ]] || continue
  [[ $status == ok ]] || continue
  dir=$files/$(printf '%03d' "$id"); mkdir -p "$dir"
  git_dir=$mirror/${repo/\//+}/repo
  [[ -d $git_dir/.git ]] && git_dir=$git_dir/.git
  ok=1
  for c in ${companions//,/ }; do
    [[ $c == - ]] && continue
    name=${c%%=*} csha=${c#*=}
    [[ $csha == missing ]] && continue
    [[ -f $dir/$name && $(sha256sum "$dir/$name" | cut -d' ' -f1) == "$csha" ]] && continue
    src=$(dirname "$path")/$name; src=${src#./}
    get "$git_dir" "$commit" "$src" "$dir/$name" "$csha" || ok=0
  done
  out=$dir/$(basename "$path")
  if ! [[ -f $out && $(sha256sum "$out" | cut -d' ' -f1) == "$sha" ]]; then
    get "$git_dir" "$commit" "$path" "$out" "$sha" || ok=0
  fi
  if [[ $ok = 1 ]]; then have=$((have + 1)); else missing=$((missing + 1)); fi
done < <(tail -n +2 "$here/manifest.tsv")
echo "fetch.sh: $have files in $files, $missing missing"
[[ $missing = 0 ]]
