#!/usr/bin/python3
"""Forecasters of every output layout, a small CSV recording and PyTorch's goldens for them.

    /usr/bin/python3 tools/make_forecast_layouts.py [--out DIR]   # default Runtime.Tests/Fixtures/forecast_layouts

The user's first model: nn.LSTM(4, H, batch_first=True) -> last step -> nn.Linear, exported to ONNX, with the
forecast laid out as (N, F), (N, 1, F), (N, S, F) or (N, S * F), one that forecasts a subset of the features, and
one exported with a fixed batch (no dynamic_axes). Weights are torch's default initialisation under a fixed seed
per model (nothing is trained). The goldens come from numpy/PyTorch, never from Edge:
  windows.npy     the recording min-max normalized in float32 ((x - min) / (max - min), as the contract says)
                  and cut into windows of WINDOW rows, stride 1: (N, WINDOW, 4)
  <model>.npy     PyTorch's forecast for those windows (the model's own output shape)
  case.json       per model: output shape, steps, targets, and the fp32 RMSE per target feature in the
                  recording's units (targets = the rows after each window)
Two runs write byte-identical files.
"""
import argparse
import csv
import hashlib
import io
import json
import math
import os

import numpy as np
import onnx
import torch
from torch import nn

FEATURES = [("temperature", "degC"), ("humidity", "%"), ("pressure", "hPa"), ("light", "lux")]
ROWS = 64
WINDOW = 8
HIDDEN = 12
STEPS = 3
OPSET = 17


class Forecaster(nn.Module):
    def __init__(self, out_features, steps, layout):
        super().__init__()
        self.lstm = nn.LSTM(4, HIDDEN, batch_first=True)
        self.fc = nn.Linear(HIDDEN, out_features * steps)
        self.out_features, self.steps, self.layout = out_features, steps, layout

    def forward(self, x):
        y, _ = self.lstm(x)
        y = self.fc(y[:, -1, :])
        if self.layout == "n_s_f":
            return y.reshape(-1, self.steps, self.out_features)
        if self.layout == "n_1_f":
            return y.unsqueeze(1)
        return y  # (N, F) or (N, S * F)


# name: (forecast features (indices), steps, layout, seed, dynamic batch)
MODELS = {
    "n_f": ([0, 1, 2, 3], 1, "flat", 11, True),
    "n_1_f": ([0, 1, 2, 3], 1, "n_1_f", 12, True),
    "n_s_f": ([0, 1, 2, 3], STEPS, "n_s_f", 13, True),
    "n_sf": ([0, 1, 2, 3], STEPS, "flat", 14, True),
    "subset": ([0, 2], 1, "flat", 15, True),
    "fixed_batch": ([0, 1, 2, 3], 1, "flat", 16, False),
}


def recording():
    rng = np.random.default_rng(2024)
    t = np.arange(ROWS, dtype=np.float64)
    cols = [
        21.0 + 3.0 * np.sin(2 * math.pi * t / 24) + 0.3 * rng.standard_normal(ROWS),
        55.0 + 10.0 * np.sin(2 * math.pi * t / 17 + 1.0) + 1.0 * rng.standard_normal(ROWS),
        1013.0 + 4.0 * np.sin(2 * math.pi * t / 40 + 2.0) + 0.5 * rng.standard_normal(ROWS),
        300.0 + 250.0 * np.sin(2 * math.pi * t / 24 + 0.5) + 20.0 * rng.standard_normal(ROWS),
    ]
    text = [[f"{c[i]:.3f}" for c in cols] for i in range(ROWS)]
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "Runtime.Tests", "Fixtures", "forecast_layouts"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)

    text = recording()
    with open(os.path.join(out, "recording.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp"] + [n for n, _ in FEATURES])
        for i, row in enumerate(text):
            w.writerow([f"2026-03-01T{i // 60:02d}:{i % 60:02d}:00"] + row)
    # As Edge reads a cell: parsed as a double, then rounded to float32.
    raw = np.array([[float(c) for c in row] for row in text], dtype=np.float64).astype(np.float32)
    lo, hi = raw.min(axis=0), raw.max(axis=0)
    meta = {
        "features": [{"name": n, "unit": u} for n, u in FEATURES],
        "normalization": {"kind": "minmax", "min": [float(v) for v in lo], "max": [float(v) for v in hi]},
        "sample_period_s": 60,
        "window": WINDOW,
        "task": "forecaster",
    }
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    subset_meta = dict(meta, targets=[FEATURES[0][0], FEATURES[2][0]])
    with open(os.path.join(out, "meta_subset.json"), "w") as f:
        json.dump(subset_meta, f, indent=2)
        f.write("\n")

    # float32 throughout, the contract's operations: (x - min) / (max - min)
    norm = (raw - lo) / (hi - lo)
    assert norm.dtype == np.float32
    n_windows = ROWS - WINDOW  # windows that have at least one next row; fewer for S steps
    windows = np.stack([norm[i:i + WINDOW] for i in range(n_windows)]).astype(np.float32)
    np.save(os.path.join(out, "windows.npy"), windows)

    case = {"rows": ROWS, "window": WINDOW, "features": [n for n, _ in FEATURES], "models": {}}
    for name, (targets, steps, layout, seed, dynamic) in MODELS.items():
        torch.manual_seed(seed)
        model = Forecaster(len(targets), steps, layout).eval()
        n = ROWS - WINDOW - steps + 1
        x = torch.from_numpy(windows[:n].copy())
        with torch.no_grad():
            y = model(x).numpy().astype(np.float32)
        assert 0.05 < float(np.abs(y).mean()) < 2, (name, float(np.abs(y).mean()))
        np.save(os.path.join(out, f"{name}.npy"), y)
        example = x[:4]
        buf = io.BytesIO()
        torch.onnx.export(model, (example,), buf, input_names=["x"], output_names=["y"], opset_version=OPSET,
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}} if dynamic else None)
        proto = onnx.load_from_string(buf.getvalue())
        onnx.checker.check_model(proto)
        with open(os.path.join(out, f"{name}.onnx"), "wb") as f:
            f.write(buf.getvalue())
        # RMSE per target feature in the recording's units (float64 from PyTorch's float32 outputs).
        yy = y.reshape(n, steps, len(targets)).astype(np.float64)
        real = np.stack([raw[i + WINDOW:i + WINDOW + steps] for i in range(n)]).astype(np.float64)[:, :, targets]
        scale = (hi - lo).astype(np.float64)[targets]
        pred = yy * scale + lo.astype(np.float64)[targets]
        rmse = np.sqrt(((pred - real) ** 2).mean(axis=(0, 1)))
        case["models"][name] = {
            "file": f"{name}.onnx",
            "output_shape": list(y.shape),
            "steps": steps,
            "targets": [FEATURES[t][0] for t in targets],
            "dynamic_batch": dynamic,
            "fp32_rmse": {FEATURES[t][0]: float(r) for t, r in zip(targets, rmse)},
        }

    # A model with NaN and infinite weights (the Linear's), for convert's refusal.
    torch.manual_seed(17)
    bad = Forecaster(4, 1, "flat").eval()
    with torch.no_grad():
        bad.fc.weight[0, :3] = float("nan")
        bad.fc.bias[1] = float("inf")
    buf = io.BytesIO()
    torch.onnx.export(bad, (torch.zeros(1, WINDOW, 4),), buf, input_names=["x"], output_names=["y"], opset_version=OPSET,
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    with open(os.path.join(out, "nonfinite.onnx"), "wb") as f:
        f.write(buf.getvalue())
    case["nonfinite"] = {"file": "nonfinite.onnx", "fc.weight": {"nan": 3}, "fc.bias": {"inf": 1}}

    with open(os.path.join(out, "case.json"), "w") as f:
        json.dump(case, f, indent=2)
        f.write("\n")
    h = hashlib.sha256()
    for name in sorted(os.listdir(out)):
        with open(os.path.join(out, name), "rb") as f:
            h.update(name.encode() + f.read())
    print(f"wrote {out}: sha256 {h.hexdigest()}")


if __name__ == "__main__":
    main()
