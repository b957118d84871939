#!/usr/bin/python3
"""Make the benchmark models of perf/models/ (ONNX, PyTorch export).

Run with Debian's interpreter (python3-torch 1.13, python3-onnx 1.12):

    /usr/bin/python3 tools/make_bench_models.py [--out DIR]

The models are the shapes issue 4 ("Speed") and issue 7 measure, each exported once and read by every
peer: Edge (converted to .edge fp32 and int8 by perf/ and docs/benchmarks.md's commands), ONNX Runtime
(perf/PeerBenchmarks.cs, the same files) and PyTorch (tools/bench_pytorch.py rebuilds the same modules
with the same seeds through `build()` below, so all three time identical weights):

| file              | model                                                        | inputs -> outputs              |
|-------------------|--------------------------------------------------------------|--------------------------------|
| lstm200.onnx      | nn.LSTM(8, 200, batch_first=True)                            | x (N, T, 8), h0, c0 (1, N, 200)|
|                   |                                                              | -> y (N, T, 200), h_n, c_n     |
| gru200.onnx       | nn.GRU(8, 200, batch_first=True)                             | x (N, T, 8), h0 (1, N, 200)    |
|                   |                                                              | -> y (N, T, 200), h_n          |
| forecaster50.onnx | the seed forecaster: LSTM(6, 200) encoder -> RepeatVector(1) | x (N, 50, 6) -> forecast       |
|                   | -> LSTM(200, 200) decoder -> Conv1d(200, 6, 4, 'same')       | (N, 1, 6)                      |

N (batch) and, for the two cells, T (sequence length) are dynamic: the benchmarks run T = 1 (one
streaming step) and T = 50 (a 50-step sequence) from the same file. The cells take their initial state as
inputs (a stateful, PyTorch-style streaming model): a streaming step starts from the state the previous
step left, which is not zero, so the recurrent product R·h really runs (from a zero state a runtime may
skip it, which would flatter a single-step figure). The forecaster's window is fixed
at 50 samples. Each model also gets a `*.meta.json` for `edge-quantize convert --metadata` (the window
the device bench uses for the time axis).

Deterministic: the same run twice writes byte-identical files (a sha256 over the folder is printed).
"""

import argparse
import hashlib
import io
import json
import os

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "perf", "models")
OPSET = 17
HIDDEN = 200
CELL_INPUT = 8
WINDOW = 50
FEATURES = 6


class Cell(nn.Module):
    """One recurrent layer over (N, T, input); returns the sequence and the last hidden state."""

    def __init__(self, kind):
        super().__init__()
        self.rnn = (nn.LSTM if kind == "lstm" else nn.GRU)(CELL_INPUT, HIDDEN, batch_first=True)
        self.kind = kind

    def forward(self, x, h0, c0=None):
        if self.kind == "lstm":
            y, (h, c) = self.rnn(x, (h0, c0))
            return y, h, c
        y, h = self.rnn(x, h0)
        return y, h


class Forecaster(nn.Module):
    """The seed forecaster (as tools/make_fixtures.py's), over a 50-sample window."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.LSTM(FEATURES, HIDDEN, batch_first=True)
        self.decoder = nn.LSTM(HIDDEN, HIDDEN, batch_first=True)
        self.conv = nn.Conv1d(HIDDEN, FEATURES, kernel_size=4)

    def forward(self, x):
        _, (h, _) = self.encoder(x)
        d, _ = self.decoder(h[-1].unsqueeze(1))               # RepeatVector(1): (N, 1, hidden)
        d = self.conv(F.pad(d.permute(0, 2, 1), (1, 2)))      # Keras 'same' for kernel 4: pad 1, 2
        return d.permute(0, 2, 1)                             # (N, 1, 6)


# name -> (seed, constructor, input feature count, fixed time axis or None, input names, output names)
MODELS = {
    "lstm200": (71, lambda: Cell("lstm"), CELL_INPUT, None, ["x", "h0", "c0"], ["y", "h_n", "c_n"]),
    "gru200": (72, lambda: Cell("gru"), CELL_INPUT, None, ["x", "h0"], ["y", "h_n"]),
    "forecaster50": (73, Forecaster, FEATURES, WINDOW, ["x"], ["forecast"]),
}


def build(name):
    """The module `name` with its seeded weights, in eval mode (shared with tools/bench_pytorch.py)."""
    seed, ctor = MODELS[name][:2]
    torch.manual_seed(seed)
    return ctor().eval()


def example_inputs(name, batch=1, steps=None):
    """The model's inputs: x (batch, T, features) and, for the cells, a non-zero initial state in (-1, 1)."""
    _, _, features, window, inputs, _ = MODELS[name]
    t = window or steps or WINDOW
    g = torch.Generator().manual_seed(1000 + len(name))
    x = torch.rand(batch, t, features, generator=g) * 2 - 1
    states = [torch.tanh(torch.randn(1, batch, HIDDEN, generator=g)) for _ in inputs[1:]]
    return (x, *states)


def export(name, out):
    model = build(name)
    _, _, _, window, inputs, outputs = MODELS[name]
    dyn = {}
    for n in inputs + outputs:
        if n in ("h0", "c0", "h_n", "c_n"):
            dyn[n] = {1: "batch"}
        else:
            dyn[n] = {0: "batch"} if window else {0: "batch", 1: "steps"}
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, example_inputs(name), buf, input_names=inputs, output_names=outputs,
                          dynamic_axes=dyn, opset_version=OPSET)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)
    path = os.path.join(out, name + ".onnx")
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    meta = {"name": name, "task": "forecaster" if window else "generic"}
    if window:
        meta["window"] = window
        meta["horizon"] = 1
    with open(os.path.join(out, name + ".meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"{path}: {os.path.getsize(path)} bytes, ops {sorted({n.op_type for n in proto.graph.node})}")


def digest(folder):
    h = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        if name.endswith((".onnx", ".json")):
            h.update(name.encode())
            with open(os.path.join(folder, name), "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in MODELS:
        export(name, args.out)
    print(f"sha256 over {os.path.abspath(args.out)}: {digest(args.out)}")


if __name__ == "__main__":
    main()
