#!/usr/bin/python3
"""Turn perf/'s results and tools/bench_pytorch.py's JSON into the tables of docs/benchmarks.md.

    /usr/bin/python3 perf/summarize.py --per-call PERCALL.json --pytorch PYTORCH.json [BDN-report.csv ...]

--per-call (`perf -- --per-call --json`) and --pytorch give the peer table: per-call medians [p10..p90] of Edge
(every path), ONNX Runtime and PyTorch, then per step and the ratios. BenchmarkDotNet CSVs (one or more passes
of the same run) give the per-ISA-job tables: per benchmark the median over the passes of BenchmarkDotNet's
median, with the spread (lowest..highest pass). Only the standard library: runs with any python3.
"""

import argparse
import csv
import json
import re
import statistics
import sys

UNITS = {"ns": 1e-3, "us": 1.0, "μs": 1.0, "µs": 1.0, "ms": 1e3, "s": 1e6}
CASES = ["lstm200 T=1", "lstm200 T=50", "gru200 T=1", "gru200 T=50", "forecaster50"]
STEPS = {"lstm200 T=1": 1, "lstm200 T=50": 50, "gru200 T=1": 1, "gru200 T=50": 50, "forecaster50": 1}
MACS = {"lstm200": 4 * 200 * (8 + 200), "gru200": 3 * 200 * (8 + 200),
        "forecaster50": 50 * 4 * 200 * (6 + 200) + 4 * 200 * (200 + 200) + 6 * 200 * 4}


def microseconds(text):
    m = re.match(r"\s*([0-9.,]+)\s*(ns|us|μs|µs|ms|s)\s*$", text or "")
    if not m:
        return None
    return float(m.group(1).replace(",", "")) * UNITS[m.group(2)]


def load(paths):
    """(type, method, job, params...) -> list of pass medians in us."""
    runs = {}
    for path in paths:
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                key = (row.get("Type", "KernelBenchmarks"), row["Method"].strip("'"), row["Job"], row.get("Case", "?"), row.get("Precision", "?"),
                       row.get("Shape", "?"), row.get("Cell", "?"), row.get("Steps", "?"))
                median = microseconds(row.get("Median"))
                if median is not None:
                    runs.setdefault(key, []).append((median, microseconds(row.get("Min")), row.get("Allocated", "")))
    return runs


def stat(values):
    medians = [v[0] for v in values]
    return statistics.median(medians), min(medians), max(medians), values[0][2]


def fmt(us):
    if us is None:
        return "-"
    return f"{us:,.0f}" if us >= 1000 else f"{us:.1f}" if us >= 10 else f"{us:.2f}"


def per_call_tables(path, torch):
    with open(path, encoding="utf-8") as f:
        rows = json.load(f)["results"]
    isas = [i for i in ["scalar", "avx2", "avx512", "neon", "neondot"] if any(r["isa"] == i for r in rows)]
    get = lambda case, engine, precision, isa: next((r for r in rows if r["case"] == case and r["engine"] == engine
                                                    and r["precision"] == precision and r["isa"] == isa), None)
    cell = lambda r: "-" if r is None else f"{fmt(r['median_us'])} [{fmt(r['p10_us'])}..{fmt(r['p90_us'])}]"
    head = ["case"] + [f"Edge fp32 {i}" for i in isas] + [f"Edge int8 {i}" for i in isas] + ["ONNX Runtime fp32", "PyTorch fp32", "PyTorch int8"]
    print("<!-- perf/summarize.py --per-call: per call, microseconds, median [p10..p90] -->")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for case in CASES + ["forecaster50 stream push"]:
        if not any(r["case"] == case for r in rows):
            continue
        cells = [case] + [cell(get(case, "edge", p, i)) for p in ("fp32", "int8") for i in isas] + [cell(get(case, "onnxruntime", "fp32", None))]
        for p in ("fp32", "int8"):
            t = torch.get((case, p))
            cells.append("-" if t is None else f"{fmt(t[0])} [{fmt(t[1])}..{fmt(t[2])}]")
        print("| " + " | ".join(cells) + " |")
    print()
    print("| case | per step (µs): Edge int8 | Edge fp32 | ONNX Runtime | PyTorch fp32 | PyTorch int8 | ONNX Runtime ÷ Edge int8 | ONNX Runtime ÷ Edge fp32 | PyTorch int8 ÷ Edge int8 | PyTorch fp32 ÷ Edge fp32 | Edge int8 GMAC/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for case in CASES:
        n = STEPS[case]
        best = lambda p: min((r for r in rows if r["case"] == case and r["engine"] == "edge" and r["precision"] == p and r["isa"] != "scalar"),
                             key=lambda r: r["median_us"], default=None)
        bi, bf, o = best("int8"), best("fp32"), get(case, "onnxruntime", "fp32", None)
        ti, tf = torch.get((case, "int8")), torch.get((case, "fp32"))
        v = lambda r: None if r is None else r["median_us"]
        t0 = lambda t: None if t is None else t[0]
        per = lambda x: "-" if x is None else fmt(x / n)
        ratio = lambda a, b: "-" if a is None or b is None else f"{a / b:.2f}"
        macs = MACS[case.split()[0]] * (n if case != "forecaster50" else 1)
        gmacs = "-" if bi is None else f"{macs / bi['median_us'] / 1e3:.1f}"
        print(f"| {case} | {per(v(bi))} ({bi['isa'] if bi else '-'}) | {per(v(bf))} ({bf['isa'] if bf else '-'}) | {per(v(o))} | "
              f"{per(t0(tf))} | {per(t0(ti))} | {ratio(v(o), v(bi))} | {ratio(v(o), v(bf))} | {ratio(t0(ti), v(bi))} | {ratio(t0(tf), v(bf))} | "
              f"{gmacs} |")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv", nargs="*")
    ap.add_argument("--pytorch")
    ap.add_argument("--per-call")
    args = ap.parse_args()
    runs = load(args.csv)
    torch = {}
    if args.pytorch:
        with open(args.pytorch, encoding="utf-8") as f:
            for r in json.load(f)["results"]:
                torch[(r["case"], r["precision"])] = (r["median_us"], r["p10_us"], r["p90_us"])
    if args.per_call:
        per_call_tables(args.per_call, torch)
    if not runs:
        return 0

    def edge(case, precision, job):
        v = runs.get(("ModelBenchmarks", "Edge", job, case, precision, "?", "?", "?"))
        return stat(v) if v else None

    def ort(case):
        v = runs.get(("OnnxRuntimeBenchmarks", "ONNX Runtime", "peer", case, "?", "?", "?", "?"))
        return stat(v) if v else None

    jobs = sorted({k[2] for k in runs if k[0] == "ModelBenchmarks"}, key=["scalar", "avx2", "avx512", "neon", "neondot"].index)
    if not jobs:
        other_table(runs)
        return 0
    passes = max((len(v) for v in runs.values()), default=0)
    print(f"<!-- perf/summarize.py over {len(args.csv)} pass(es); cells: median of the pass medians in us, [lowest..highest pass] -->")
    head = ["case"] + [f"Edge fp32 {j}" for j in jobs] + [f"Edge int8 {j}" for j in jobs] + ["ONNX Runtime fp32", "PyTorch fp32", "PyTorch int8 (dynamic)"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    best = {}
    for case in CASES:
        cells = [case]
        for precision in ("fp32", "int8"):
            for j in jobs:
                s = edge(case, precision, j)
                cells.append("-" if s is None else f"{fmt(s[0])} [{fmt(s[1])}..{fmt(s[2])}]" if passes > 1 else fmt(s[0]))
                if s is not None and j != "scalar":
                    key = (case, precision)
                    best[key] = min(best.get(key, (1e99, j)), (s[0], j))
        o = ort(case)
        cells.append("-" if o is None else f"{fmt(o[0])} [{fmt(o[1])}..{fmt(o[2])}]" if passes > 1 else fmt(o[0]))
        for precision in ("fp32", "int8"):
            t = torch.get((case, precision))
            cells.append("-" if t is None else f"{fmt(t[0])} [{fmt(t[1])}..{fmt(t[2])}]")
        print("| " + " | ".join(cells) + " |")

    print()
    print("| case | per step: Edge int8 (best path) | Edge fp32 (best path) | ONNX Runtime | PyTorch fp32 | PyTorch int8 | ONNX Runtime / Edge int8 | ONNX Runtime / Edge fp32 | PyTorch int8 / Edge int8 | achieved int8 GMAC/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case in CASES:
        n = STEPS[case]
        bi, bf, o = best.get((case, "int8")), best.get((case, "fp32")), ort(case)
        ti, tf = torch.get((case, "int8")), torch.get((case, "fp32"))
        per = lambda v: None if v is None else v / n
        ratio = lambda a, b: "-" if a is None or b is None else f"{a / b:.2f}x"
        macs = MACS[case.split()[0]] * (n if case != "forecaster50" else 1)
        gmacs = "-" if bi is None else f"{macs / bi[0] / 1e3:.1f}"
        print(f"| {case} | {fmt(per(bi and bi[0]))} ({bi[1] if bi else '-'}) | {fmt(per(bf and bf[0]))} ({bf[1] if bf else '-'}) | "
              f"{fmt(per(o and o[0]))} | {fmt(per(tf and tf[0]))} | {fmt(per(ti and ti[0]))} | "
              f"{ratio(o and o[0], bi and bi[0])} | {ratio(o and o[0], bf and bf[0])} | {ratio(ti and ti[0], bi and bi[0])} | {gmacs} |")

    other_table(runs)


def other_table(runs):
    other = sorted(k for k in runs if k[0] not in ("ModelBenchmarks", "OnnxRuntimeBenchmarks"))
    if other:
        print()
        print("| suite | benchmark | path | params | median us | spread | allocated |")
        print("|---|---|---|---|---|---|---|")
        for k in other:
            m, lo, hi, alloc = stat(runs[k])
            params = " ".join(p for p in k[3:] if p != "?")
            print(f"| {k[0]} | {k[1]} | {k[2]} | {params} | {fmt(m)} | {fmt(lo)}..{fmt(hi)} | {alloc} |")


if __name__ == "__main__":
    sys.exit(main())
