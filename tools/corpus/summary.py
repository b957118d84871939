#!/usr/bin/python3
"""summary.py MANIFEST RESULTS [--docs FILE]: the Markdown tables of docs/coverage.md from manifest.tsv and
check.sh's results.tsv, printed; with --docs, also written into FILE between its corpus:begin/end markers."""
import csv
import re
import sys
from collections import OrderedDict


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def pct(a, b):
    return f"{a} of {b} ({100.0 * a / b:.0f} %)" if b else "0 of 0"


def cause(msg):
    """Groups refusals: the message with file paths, numbers and quoted names taken out."""
    m = re.sub(r"^edge-quantize: error: ", "", msg)
    m = re.sub(r"^\S+\.(h5|keras|onnx|pth|pt|safetensors): ", "", m)  # the file the message names
    m = m.split("; Edge supports:")[0]
    m = re.sub(r"(\S*/)?\d{3}[/_](?=\S)", "", m)  # the corpus folder and id in front of a file name
    first = re.search(r"'[^']*'", m)  # the first quoted name is the cause (the op, the layer class); later ones are names
    if first:
        m = m[:first.end()] + re.sub(r"'[^']*'", "'…'", m[first.end():])
    m = re.sub(r"\([^()]*\)", "(…)", m)
    m = re.sub(r"\d+", "N", m)
    return m[:160]


def main():
    manifest = rows(sys.argv[1])
    results = {r["id"]: r for r in rows(sys.argv[2])}
    ok = [m for m in manifest if m["status"] == "ok"]
    gone = [m for m in manifest if m["status"] != "ok"]
    checked = [results[m["id"]] for m in ok if m["id"] in results]
    n = len(checked)
    f32 = sum(r["fp32"] == "converted" for r in checked)
    i8 = sum(r["int8"] == "converted" for r in checked)
    out = []
    p = out.append
    p(f"Files looked up: {len(manifest)}; not retrievable: {len(gone)}; in the corpus: {len(ok)}; checked in this run: {n}.")
    p("")
    p(f"- **fp32 converts: {pct(f32, n)}**; **int8 converts: {pct(i8, n)}**")
    by_fmt = OrderedDict()
    for r in checked:
        by_fmt.setdefault(r["format"], []).append(r)
    p("")
    p("| format | files | fp32 converts | int8 converts | reference run | worst max abs error fp32 / int8 | worst error / max abs ref, fp32 / int8 |")
    p("|---|---|---|---|---|---|---|")
    for fmt, rs in by_fmt.items():
        conv32 = sum(r["fp32"] == "converted" for r in rs)
        conv8 = sum(r["int8"] == "converted" for r in rs)
        refd = [r for r in rs if _num(r["max_err_fp32"]) and _num(r["max_err_int8"])]
        if refd:
            e32 = max(float(r["max_err_fp32"]) for r in refd)
            e8 = max(float(r["max_err_int8"]) for r in refd)
            rel32 = max(float(r["max_err_fp32"]) / max(float(r["max_abs_ref"]), 1e-30) for r in refd)
            rel8 = max(float(r["max_err_int8"]) / max(float(r["max_abs_ref"]), 1e-30) for r in refd)
            p(f"| {fmt} | {len(rs)} | {conv32} | {conv8} | {len(refd)} | {e32:.1e} / {e8:.1e} | {rel32:.1e} / {rel8:.1e} |")
        else:
            p(f"| {fmt} | {len(rs)} | {conv32} | {conv8} | 0 | - | - |")
    p("")
    p("### Every file")
    p("")
    p("Max abs error: Edge's output (fp32 blob, int8 blob) against the reference on the same seeded inputs "
      "(batch 2, 8 steps where the length is open); `max abs ref` is the largest reference value, for scale.")
    p("")
    p("| id | repository | path | commit | sha256 | format | fp32 | int8 | reference | max abs error fp32 | int8 | max abs ref |")
    p("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for m in ok:
        r = results.get(m["id"])
        if r is None:
            p(f"| {m['id']} | {m['repo']} | `{m['path']}` | {m['commit'][:12]} | `{m['sha256']}` | {m['format']} | not run | | | | | |")
            continue
        p(f"| {m['id']} | {m['repo']} | `{m['path']}` | {m['commit'][:12]} | `{m['sha256']}` | {m['format']} | {r['fp32']} | {r['int8']} "
          f"| {_esc(r['reference'])} | {_esc(r['max_err_fp32'])} | {_esc(r['max_err_int8'])} | {r['max_abs_ref']} |")
    p("")
    p("### Refusals and failures, grouped by cause (the exact message of each file)")
    p("")
    groups = OrderedDict()
    for r in checked:
        for prec in ("fp32", "int8"):
            if r[prec] != "converted":
                msg = r[f"{prec}_message"]
                groups.setdefault(cause(msg) if msg != "-" else r[prec], []).append((r, prec, msg))
    if not groups:
        p("None.")
    for c, items in groups.items():
        ids = sorted({int(r["id"]) for r, _, _ in items})
        p(f"- **{_esc(c)}** ({len(ids)} file{'s' if len(ids) != 1 else ''}: {', '.join(map(str, ids))})")
        seen = set()
        for r, prec, msg in items:
            if (r["id"], msg) in seen:
                continue
            seen.add((r["id"], msg))
            precs = "fp32 and int8" if r["fp32_message"] == r["int8_message"] else prec
            p(f"  - {r['id']} {r['repo']} ({precs}, {r[prec]}): `{_esc(msg)}`")
    p("")
    p("### Not retrievable (not counted)")
    p("")
    for m in gone:
        p(f"- {m['id']} {m['repo']} `{m['path']}`: {m['status'][len('not retrievable: '):]}")
    text = "\n".join(out)
    print(text)
    if len(sys.argv) > 4 and sys.argv[3] == "--docs":
        update_docs(sys.argv[4], text)


BEGIN, END = "<!-- corpus:begin (tools/corpus/check.sh --update-docs writes this part) -->", "<!-- corpus:end -->"


def update_docs(path, text):
    with open(path) as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        sys.exit(f"summary.py: {path} has no '{BEGIN}' ... '{END}' markers")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w") as f:
        f.write(head + BEGIN + "\n" + text + "\n" + END + tail)


def _num(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def _esc(s):
    return s.replace("|", "\\|")


if __name__ == "__main__":
    main()
