#!/usr/bin/python3
"""Time the benchmark models of perf/models/ in PyTorch: fp32, and int8 with
torch.quantization.quantize_dynamic (nn.LSTM / nn.GRU / nn.Linear weights int8 per tensor, activations
quantized dynamically: PyTorch's own answer to "run this RNN in int8 on a CPU").

    /usr/bin/python3 tools/bench_pytorch.py [--calls N] [--warmup SECONDS] [--json FILE]

The modules and their weights come from tools/make_bench_models.py's `build()` (same seeds as the exported
ONNX files), so the work is the one Edge and ONNX Runtime time in perf/: batch 1, LSTM/GRU(200, input 8) for
one step (T=1) and a 50-step sequence (T=50) from a non-zero initial state, and the seed forecaster over a
50-sample window.
torch.set_num_threads(1) and torch.inference_mode(); after a warm-up every call is timed on its own and the
median is reported with p10..p90 next to it (as `perf --per-call` does for Edge and ONNX Runtime: on a shared
machine a scheduler time slice inside a timed batch of calls moves a mean, not a per-call median). Prints a
table, and JSON with --json.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_bench_models as models  # noqa: E402

CASES = [("lstm200", 1), ("lstm200", 50), ("gru200", 1), ("gru200", 50), ("forecaster50", 50)]


def time_call(fn, calls, warmup_s):
    """Per-call timings after at least warmup_s seconds of calls: (median, p10, p90) in microseconds."""
    t_end = time.perf_counter() + warmup_s
    while time.perf_counter() < t_end:
        fn()
    us = []
    for _ in range(calls):
        t0 = time.perf_counter_ns()
        fn()
        us.append((time.perf_counter_ns() - t0) / 1000.0)
    us.sort()
    rank = lambda q: us[min(len(us) - 1, max(0, int(-(-q * len(us) // 1)) - 1))]
    return statistics.median(us), rank(0.1), rank(0.9)


def quantized(model):
    return torch.quantization.quantize_dynamic(model, {torch.nn.LSTM, torch.nn.GRU, torch.nn.Linear}, dtype=torch.qint8)


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per case at T=1 (default 2000; a fifth of it, at least 200, for 50-step cases)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of calls before timing (default 1)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    engine = torch.backends.quantized.engine
    rows = []
    with torch.inference_mode():
        for name, steps in CASES:
            inputs = models.example_inputs(name, batch=1, steps=steps)
            for precision in ("fp32", "int8"):
                model = models.build(name)
                if precision == "int8":
                    model = quantized(model)
                calls = args.calls if steps == 1 and name != "forecaster50" else max(args.calls // 5, 200)
                median, lo, hi = time_call(lambda: model(*inputs), calls, args.warmup)
                case = name if name == "forecaster50" else f"{name} T={steps}"
                rows.append({"case": case, "precision": precision, "calls": calls, "median_us": round(median, 2),
                             "p10_us": round(lo, 2), "p90_us": round(hi, 2),
                             "per_step_us": round(median / steps, 3) if name != "forecaster50" else None})

    print(f"PyTorch {torch.__version__} on {cpu_model()}, 1 thread, quantized engine {engine}; "
          f"per call: median [p10..p90]")
    print(f"{'case':<16} {'precision':<9} {'median us':>10} {'p10..p90 us':>19} {'per step us':>12}")
    for r in rows:
        spread = f"{r['p10_us']:.2f}..{r['p90_us']:.2f}"
        per = "" if r["per_step_us"] is None else f"{r['per_step_us']:.3f}"
        print(f"{r['case']:<16} {r['precision']:<9} {r['median_us']:>10.2f} {spread:>17} {per:>12}")
    if args.json:
        doc = {"tool": "tools/bench_pytorch.py", "torch": torch.__version__, "threads": torch.get_num_threads(),
               "quantized_engine": engine, "cpu": cpu_model(), "python": platform.python_version(),
               "calls": args.calls, "warmup_s": args.warmup, "results": rows}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
