#!/usr/bin/python3
"""Time the benchmark models of perf/models/ in PyTorch: fp32, and int8 with
torch.quantization.quantize_dynamic (nn.LSTM / nn.GRU / nn.Linear weights int8 per tensor, activations
quantized dynamically: PyTorch's own answer to "run this RNN in int8 on a CPU").

    /usr/bin/python3 tools/bench_pytorch.py [--repeat N] [--warmup N] [--rounds R] [--json FILE]

The modules and their weights come from tools/make_bench_models.py's `build()` (same seeds as the exported
ONNX files), so the work is the one Edge and ONNX Runtime time in perf/: batch 1, LSTM/GRU(200, input 8) for
one step (T=1) and a 50-step sequence (T=50) from a non-zero initial state, and the seed forecaster over a
50-sample window.
torch.set_num_threads(1) and torch.inference_mode(); each figure is the median over `rounds` rounds of the
mean time of `repeat` back-to-back calls (like a BenchmarkDotNet iteration), with the spread (min..max of the
round means) next to it. Prints a table, and JSON with --json.
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


def time_call(fn, repeat, warmup, rounds):
    for _ in range(warmup):
        fn()
    means = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for _ in range(repeat):
            fn()
        means.append((time.perf_counter_ns() - t0) / repeat / 1000.0)
    return statistics.median(means), min(means), max(means)


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
    parser.add_argument("--repeat", type=int, default=200, help="calls per round (default 200)")
    parser.add_argument("--warmup", type=int, default=50, help="calls before timing (default 50)")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds; the median is reported (default 15)")
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
                median, lo, hi = time_call(lambda: model(*inputs), args.repeat, args.warmup, args.rounds)
                case = name if name == "forecaster50" else f"{name} T={steps}"
                rows.append({"case": case, "precision": precision, "median_us": round(median, 2),
                             "min_us": round(lo, 2), "max_us": round(hi, 2),
                             "per_step_us": round(median / steps, 3) if name != "forecaster50" else None})

    print(f"PyTorch {torch.__version__} on {cpu_model()}, 1 thread, quantized engine {engine}; "
          f"median of {args.rounds} rounds x {args.repeat} calls")
    print(f"{'case':<16} {'precision':<9} {'median us':>10} {'spread us':>17} {'per step us':>12}")
    for r in rows:
        spread = f"{r['min_us']:.2f}..{r['max_us']:.2f}"
        per = "" if r["per_step_us"] is None else f"{r['per_step_us']:.3f}"
        print(f"{r['case']:<16} {r['precision']:<9} {r['median_us']:>10.2f} {spread:>17} {per:>12}")
    if args.json:
        doc = {"tool": "tools/bench_pytorch.py", "torch": torch.__version__, "threads": torch.get_num_threads(),
               "quantized_engine": engine, "cpu": cpu_model(), "python": platform.python_version(),
               "repeat": args.repeat, "rounds": args.rounds, "warmup": args.warmup, "results": rows}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
