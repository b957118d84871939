"""The user's first hour (issue 14), as fixtures: a next-step forecaster built in PyTorch from FIXED weights
(no training), a recording, its metadata, and exports with a FIXED batch, plus more fixed-batch exports.

    /usr/bin/python3 tools/make_first_hour.py            # writes Runtime.Tests/Fixtures/first_hour/ and fixed_batch/
    /usr/bin/python3 tools/make_first_hour.py --out DIR  # somewhere else

first_hour/ (the issue's model: nn.LSTM(4, 32, batch_first=True) -> last step -> nn.Linear(32, 4), window 24):
  train.csv, test.csv   a deterministic noisy multi-sine recording (timestamp + 4 features), split 80/20
  meta.json             features with units, minmax normalization fitted on train.csv, window 24, horizon 1
  model.onnx            torch.onnx.export with a fixed batch of 4 (no dynamic_axes): x (4, 24, 4) -> y (4, 4)
  model.pt, spec.json   the state_dict (torch.save) and its Edge spec (docs/spec.md)
  test_windows.npy      every window of test.csv, normalized with meta.json (N, 24, 4), oldest sample first
  test_forecasts.npy    PyTorch's forecast for each window (N, 4), normalized units, run one window at a time
  test_targets.npy      the sample after each window (N, 4), normalized
  stream_forecasts.npy  the same forecasts de-normalized (N, 4): what a stream of test.csv must print

fixed_batch/<case>/ (model.onnx exported with a fixed batch, x.npy at that batch, y.npy PyTorch's outputs,
x1.npy/y1.npy the first row alone at batch 1, case.json):
  lstm_last_linear  the first-hour model again (batch 4)
  seed_forecaster   the seed's LSTM(6, 20) -> RepeatVector(1) -> LSTM(20, 20) -> 'same' Conv1d(20, 6, 4), batch 3
  gru_seq_first     nn.GRU(5, 8) seq-first (L, N, F) with its h_n, batch 2: the batch is axis 1
  batch_mixing      LSTM last step, then rows of the batch flattened together into one Linear: cannot run at
                    another batch, so Edge must refuse to relax it
"""
import argparse
import csv
import hashlib
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)

FEATURES = [("temperature", "°C"), ("humidity", "%"), ("pressure", "hPa"), ("wind", "m/s")]
WINDOW = 24
T_TOTAL = 600
T_TRAIN = 480


def recording():
    """Four noisy multi-sine sensors, one sample a minute; fixed seed, float32-representable values."""
    rng = np.random.default_rng(1414)
    t = np.arange(T_TOTAL, dtype=np.float64)
    cols = [
        15 + 6 * np.sin(2 * np.pi * t / 96) + 2 * np.sin(2 * np.pi * t / 23 + 0.5),
        60 + 15 * np.sin(2 * np.pi * t / 96 + 2.0) + 5 * np.sin(2 * np.pi * t / 31),
        1013 + 4 * np.sin(2 * np.pi * t / 200 + 1.0) + 1.5 * np.sin(2 * np.pi * t / 17),
        3 + 2 * np.sin(2 * np.pi * t / 48 + 0.3) + np.sin(2 * np.pi * t / 11),
    ]
    noise = [0.4, 1.5, 0.3, 0.3]
    data = np.stack([c + rng.normal(0, s, T_TOTAL) for c, s in zip(cols, noise)], axis=1)
    return np.round(data, 2).astype(np.float32)


def write_csv(path, data, start):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp"] + [n for n, _ in FEATURES])
        for i, row in enumerate(data):
            minute = start + i
            ts = f"2026-03-{1 + minute // 1440:02d}T{(minute // 60) % 24:02d}:{minute % 60:02d}:00Z"
            w.writerow([ts] + [f"{v:.2f}" for v in row])


class Forecaster(nn.Module):
    """The issue's model: nn.LSTM(4, 32, batch_first=True) -> last step -> nn.Linear(32, 4)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 32, batch_first=True)
        self.head = nn.Linear(32, 4)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


class SeedForecaster(nn.Module):
    """The seed's shape, small: LSTM encoder -> last hidden -> RepeatVector(1) -> LSTM decoder -> 'same' Conv1d(k=4)."""

    def __init__(self, f=6, h=20):
        super().__init__()
        self.encoder = nn.LSTM(f, h, batch_first=True)
        self.decoder = nn.LSTM(h, h, batch_first=True)
        self.conv = nn.Conv1d(h, f, 4)

    def forward(self, x):
        _, (h, _) = self.encoder(x)
        r = h[-1].unsqueeze(1).repeat(1, 1, 1)
        d, _ = self.decoder(r)
        return self.conv(F.pad(d.transpose(1, 2), (1, 2))).transpose(1, 2)


class GruSeqFirst(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(5, 8)

    def forward(self, x):
        return self.gru(x)


class BatchMixing(nn.Module):
    """Mixes the rows of a batch (flattens the batch into one vector): no batch but the exported one is meaningful."""

    def __init__(self, batch):
        super().__init__()
        self.lstm = nn.LSTM(3, 5, batch_first=True)
        self.head = nn.Linear(5 * batch, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1].reshape(1, -1))


def fixed_weights(module, seed, gain=1.0):
    """Deterministic weights (torch's default init under a fixed seed, times gain): nothing is trained."""
    torch.manual_seed(seed)
    for m in module.modules():
        if hasattr(m, "reset_parameters") and m is not module:
            m.reset_parameters()
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(gain)
    return module.eval()


def export(model, x, path, inputs, outputs):
    # No dynamic_axes: every axis is fixed at the example's size, as most users export.
    torch.onnx.export(model, (x,), path, input_names=inputs, output_names=outputs, opset_version=17)


def save(path, array):
    np.save(path, np.ascontiguousarray(array))


def first_hour(out):
    os.makedirs(out, exist_ok=True)
    data = recording()
    train, test = data[:T_TRAIN], data[T_TRAIN:]
    write_csv(os.path.join(out, "train.csv"), train, 0)
    write_csv(os.path.join(out, "test.csv"), test, T_TRAIN)
    lo, hi = train.min(axis=0), train.max(axis=0)
    meta = {
        "name": "first_hour_forecaster",
        "task": "forecaster",
        "features": [{"name": n, "unit": u} for n, u in FEATURES],
        "normalization": {"kind": "minmax", "min": [float(v) for v in lo], "max": [float(v) for v in hi]},
        "sample_period_s": 60,
        "window": WINDOW,
        "horizon": 1,
    }
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2, ensure_ascii=False)
        f.write("\n")

    model = fixed_weights(Forecaster(), 14, gain=1.5)
    # Normalized exactly as Edge does it: float32 (x - min) / (max - min).
    norm = ((test - lo.astype(np.float32)) / (hi - lo).astype(np.float32)).astype(np.float32)
    n = len(test) - WINDOW
    windows = np.stack([norm[i:i + WINDOW] for i in range(n)])
    targets = norm[WINDOW:WINDOW + n]
    with torch.no_grad():
        forecasts = np.concatenate([model(torch.from_numpy(windows[i:i + 1])).numpy() for i in range(n)])
        batch = model(torch.from_numpy(windows)).numpy()
    assert np.allclose(batch, forecasts, atol=1e-5), "batch and one-at-a-time PyTorch disagree"
    assert 0.05 < forecasts.std() < 1.0, f"forecasts are degenerate (std {forecasts.std()})"
    save(os.path.join(out, "test_windows.npy"), windows)
    save(os.path.join(out, "test_targets.npy"), targets)
    save(os.path.join(out, "test_forecasts.npy"), forecasts)
    save(os.path.join(out, "stream_forecasts.npy"), (forecasts * (hi - lo) + lo).astype(np.float32))

    export(model, torch.from_numpy(windows[:4]), os.path.join(out, "model.onnx"), ["x"], ["y"])
    torch.save(model.state_dict(), os.path.join(out, "model.pt"))
    spec = {
        "name": "first_hour_forecaster",
        "inputs": [{"name": "x", "shape": [None, WINDOW, 4]}],
        "layers": [
            {"name": "lstm", "kind": "lstm", "batch_first": True, "hidden_size": 32},
            {"name": "last", "kind": "last_step", "batch_first": True},
            {"name": "head", "kind": "linear"},
        ],
        "outputs": [{"name": "y", "from": "head"}],
    }
    with open(os.path.join(out, "spec.json"), "w") as f:
        json.dump(spec, f, indent=2)
        f.write("\n")
    return model, windows


def fixed_batch_case(out, name, model, x, inputs, outputs, batch_axis, description):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    export(model, torch.from_numpy(x), os.path.join(d, "model.onnx"), inputs, outputs)
    x1 = np.take(x, [0], axis=batch_axis)
    with torch.no_grad():
        y = model(torch.from_numpy(x))
        ys = y if isinstance(y, tuple) else (y,)
        save(os.path.join(d, "x.npy"), x)
        for o, v in zip(outputs, ys):
            save(os.path.join(d, f"{o}.npy"), v.numpy())
        try:
            y1 = model(torch.from_numpy(x1))
            y1s = y1 if isinstance(y1, tuple) else (y1,)
            save(os.path.join(d, "x1.npy"), x1)
            for o, v in zip(outputs, y1s):
                save(os.path.join(d, f"{o}1.npy"), v.numpy())
        except RuntimeError:
            pass  # batch_mixing: PyTorch itself cannot run the model at batch 1
    case = {"description": description, "inputs": inputs, "outputs": outputs, "batch": int(x.shape[batch_axis]),
            "batch_axis": batch_axis, "dynamic_axes": None}
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(case, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "Runtime.Tests", "Fixtures"))
    args = ap.parse_args()

    model, windows = first_hour(os.path.join(args.out, "first_hour"))
    fb = os.path.join(args.out, "fixed_batch")
    fixed_batch_case(fb, "lstm_last_linear", model, windows[10:14], ["x"], ["y"], 0,
                     "the first-hour forecaster nn.LSTM(4, 32, batch_first=True) -> last step -> nn.Linear(32, 4), exported at batch 4")
    rng = np.random.default_rng(7)
    fixed_batch_case(fb, "seed_forecaster", fixed_weights(SeedForecaster(), 6, gain=2.0),
                     rng.uniform(-1, 1, (3, 10, 6)).astype(np.float32), ["x"], ["forecast"], 0,
                     "the seed's LSTM -> RepeatVector(1) -> LSTM -> 'same' Conv1d(k=4) forecaster, exported at batch 3")
    fixed_batch_case(fb, "gru_seq_first", fixed_weights(GruSeqFirst(), 8, gain=1.5),
                     rng.uniform(-1, 1, (7, 2, 5)).astype(np.float32), ["x"], ["output", "h_n"], 1,
                     "nn.GRU(5, 8) seq-first: x (L, N, F) -> output (L, N, 8), h_n (1, N, 8), exported at batch 2 (axis 1)")
    fixed_batch_case(fb, "batch_mixing", fixed_weights(BatchMixing(4), 9, gain=1.5),
                     rng.uniform(-1, 1, (4, 6, 3)).astype(np.float32), ["x"], ["y"], 0,
                     "rows of the batch are flattened together (reshape(1, -1)) into one Linear: only batch 4 is meaningful")

    h = hashlib.sha256()
    for root in (os.path.join(args.out, "first_hour"), fb):
        for dirpath, _, files in sorted(os.walk(root)):
            for fn in sorted(files):
                with open(os.path.join(dirpath, fn), "rb") as f:
                    h.update(fn.encode() + f.read())
    print("sha256 over first_hour/ and fixed_batch/:", h.hexdigest())


if __name__ == "__main__":
    main()
