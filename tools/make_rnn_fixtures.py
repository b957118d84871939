#!/usr/bin/python3
"""Make the vanilla-RNN model fixtures of Runtime.Tests/Fixtures/rnn/<case>/.

Run with Debian's interpreter (python3-torch 1.13, python3-onnx 1.12, numpy):

    /usr/bin/python3 tools/make_rnn_fixtures.py

Each case is a small nn.Module around nn.RNN (tanh or relu, 1-2 layers, bidirectional, batch first or
not) with fixed seeds, written three ways from the same weights:

    model.pt     the state_dict (torch.save, zip format), with spec.json (docs/spec.md, kind `rnn`)
    model.onnx   torch.onnx.export of the same module (opset 17; the ONNX `RNN` op), batch axis dynamic
    *.npy        the inputs and PyTorch's own outputs (the goldens)
    case.json    {"description", "inputs": {name: file}, "outputs": {name: file}}, files relative to the case

The layer-level goldens of the Rnn operator (explicit-reference and ONNX conformance cases) are made by
tools/make_recurrent_fixtures.py.
"""

import io
import json
import os
import shutil

import numpy as np
import onnx
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Runtime.Tests", "Fixtures", "rnn")
OPSET = 17


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def case(name, model, spec, inputs, output_names, dynamic_axes, description):
    folder = os.path.join(OUT, name)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    model.eval()
    args = tuple(torch.from_numpy(v) for v in inputs.values())
    with torch.no_grad():
        result = model(*args)
    result = result if isinstance(result, tuple) else (result,)
    outputs = dict(zip(output_names, result))
    for k, v in inputs.items():
        np.save(os.path.join(folder, f"{k}.npy"), v)
    for k, v in outputs.items():
        np.save(os.path.join(folder, f"{k}.npy"), v.numpy().astype(np.float32))
    # Saved by path so the zip prefix is the file's stem, as in users' files.
    torch.save(model.state_dict(), os.path.join(folder, "model.pt"))
    write_json(os.path.join(folder, "spec.json"), spec)

    buf = io.BytesIO()
    torch.onnx.export(model, args, buf, input_names=list(inputs), output_names=output_names,
                      dynamic_axes=dynamic_axes, opset_version=OPSET)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)
    ops = sorted({n.op_type for n in proto.graph.node})
    assert "RNN" in ops, ops
    with open(os.path.join(folder, "model.onnx"), "wb") as f:
        f.write(buf.getvalue())
    write_json(os.path.join(folder, "case.json"), {
        "description": description,
        "inputs": {k: f"{k}.npy" for k in inputs},
        "outputs": {k: f"{k}.npy" for k in outputs},
    })
    size = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
    print(f"{name:28s} {size / 1024:7.1f} KiB  ONNX ops: {', '.join(ops)}")


def seq_input(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


class TanhLast(nn.Module):
    """A window model: (N, 12, 4) -> RNN(16, tanh) -> last step -> Linear(3)."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(4, 16, batch_first=True)
        self.fc = nn.Linear(16, 3)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


class Relu2Layer(nn.Module):
    """Sequence first: (L, N, 3) -> RNN(8, relu, 2 layers) -> output and h_n."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(3, 8, num_layers=2, nonlinearity="relu")

    def forward(self, x):
        out, h = self.rnn(x)
        return out, h


class BidirHead(nn.Module):
    """(N, L, 5) -> bidirectional RNN(6, tanh, 2 layers) -> Linear(2) at every step."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(5, 6, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(12, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out)


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)

    torch.manual_seed(40)
    case("tanh_last", TanhLast(),
         {"name": "tanh_last", "inputs": [{"name": "x", "shape": [None, 12, 4]}],
          "layers": [{"name": "rnn", "kind": "rnn", "batch_first": True, "return": "last", "head": "fc"}],
          "outputs": [{"name": "y", "from": "rnn"}]},
         {"x": seq_input(40, 3, 12, 4)}, ["y"], {"x": {0: "batch"}, "y": {0: "batch"}},
         "nn.RNN(4, 16, batch_first=True) -> out[:, -1] -> Linear(16, 3)")

    torch.manual_seed(41)
    model = Relu2Layer()
    with torch.no_grad():
        # Biases shifted up so that relu keeps most units alive (a dead relu RNN tests little).
        for name, p in model.rnn.named_parameters():
            if name.startswith("bias_ih"):
                p.add_(0.3)
    case("relu_2layer", model,
         {"name": "relu_2layer", "inputs": [{"name": "x", "shape": [7, None, 3]}],
          "layers": [{"name": "rnn", "kind": "rnn", "nonlinearity": "relu", "num_layers": 2}],
          "outputs": [{"name": "output", "from": "rnn"}, {"name": "h_n", "from": "rnn:h_n"}]},
         {"x": seq_input(41, 7, 2, 3)}, ["output", "h_n"], {"x": {1: "batch"}, "output": {1: "batch"}, "h_n": {1: "batch"}},
         "nn.RNN(3, 8, num_layers=2, nonlinearity='relu'), sequence first: output and h_n")

    torch.manual_seed(42)
    case("bidir_head", BidirHead(),
         {"name": "bidir_head", "inputs": [{"name": "x", "shape": [None, 6, 5]}],
          "layers": [{"name": "rnn", "kind": "rnn", "num_layers": 2, "bidirectional": True, "batch_first": True},
                     {"name": "fc", "kind": "linear"}],
          "outputs": [{"name": "y", "from": "fc"}]},
         {"x": seq_input(42, 2, 6, 5)}, ["y"], {"x": {0: "batch"}, "y": {0: "batch"}},
         "nn.RNN(5, 6, num_layers=2, bidirectional=True, batch_first=True) -> Linear(12, 2) at every step")


if __name__ == "__main__":
    main()
