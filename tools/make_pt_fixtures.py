#!/usr/bin/python3
"""Make the PyTorch state_dict fixtures of Runtime.Tests/Fixtures/pt/.

Run with Debian's interpreter (python3-torch 1.13, numpy):

    /usr/bin/python3 tools/make_pt_fixtures.py [--out DIR]

The fixture models of tools/make_fixtures.py are re-created by running its make_<name>() functions
into a scratch folder with the ONNX export replaced by a recorder, so the weights are exactly those of
the ONNX fixtures (the script checks: each re-created model must reproduce the committed outputs in
Fixtures/models/<name>/ bit for bit). Each state_dict is saved with torch.save (zip format), a few also
as .safetensors (written by hand below: the format is an 8-byte header length, a JSON header and raw
little-endian data), next to a spec.json that describes the graph (docs/spec.md) and a case.json that
names the inputs and golden outputs (paths relative to Runtime.Tests/Fixtures, mostly the ONNX
fixtures' own .npy files so nothing large is duplicated).

Besides the models, pt/special/ holds files that exercise the reader: one storage shared by several
tensors at offsets (as cuDNN flattens LSTM weights), non-contiguous (transposed) tensors, every
storage dtype, a 'cuda:0' location, a checkpoint dict, a legacy (non-zip) file, a pickle that would
call os.system, and a small file for truncation sweeps.

pt/foreign/ holds files that hold more than tensors (torch.save(model) of an nn.Module subclass, a
checkpoint with a pickled scaler object) and the legacy format of the same tensors.

Deterministic except the legacy files (the legacy format names storages after Python object ids):
torch.save's zip format writes the same bytes for the same tensors. The script prints a sha256 over
the output folder.
"""

import argparse
import collections
import hashlib
import io
import json
import os
import shutil
import struct
import sys
import tempfile
import zipfile

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_fixtures as mf  # noqa: E402  (the models, seeds and weight scalings of the ONNX fixtures)

FIXTURES = os.path.join(HERE, "..", "Runtime.Tests", "Fixtures")
DEFAULT_OUT = os.path.join(FIXTURES, "pt")
MODELS = os.path.join(FIXTURES, "models")
# The hostile pickle's command creates this file; the test checks that it never appears.
PWNED = "/tmp/edge-pwned-5c81d2e4a7"


# ── re-creating the ONNX fixtures' models ───────────────────────────────────────────────────────

def recreate(maker):
    """Runs make_fixtures.<maker>(scratch) with onnx_case replaced by a recorder; returns (model, inputs, outputs)."""
    captured = {}
    original = mf.onnx_case

    def record(out, name, description, model, inputs, output_names, dynamic_axes, opsets=(17,), extra=None):
        model.eval()
        with torch.no_grad():
            outputs = model(*[t for _, t in inputs])
        outputs = mf.flatten((outputs,) if isinstance(outputs, torch.Tensor) else outputs)
        captured.update(model=model, inputs=inputs, outputs=dict(zip(output_names, outputs)))
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        return folder, outputs

    scratch = tempfile.mkdtemp(prefix="edge-pt-fixtures-")
    mf.onnx_case = record
    try:
        getattr(mf, maker)(scratch)
    finally:
        mf.onnx_case = original
        shutil.rmtree(scratch)
    return captured["model"], captured["inputs"], captured["outputs"]


def check_against_committed(name, outputs):
    """The re-created model must give exactly the committed golden outputs: same weights."""
    for oname, t in outputs.items():
        committed = np.load(os.path.join(MODELS, name, oname + ".npy"))
        assert np.array_equal(committed, mf.to_numpy(t)), f"{name}/{oname}: re-created model differs from the fixture"


# ── writers ─────────────────────────────────────────────────────────────────────────────────────

SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
                      torch.int64: "I64", torch.int32: "I32", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}


def save_safetensors(path, state_dict):
    """The safetensors layout: u64 LE header length, JSON header (padded with spaces to 8 bytes), data."""
    header = {"__metadata__": {"format": "pt"}}
    chunks = []
    offset = 0
    for name, t in state_dict.items():
        t = t.detach().contiguous()
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            raw = t.numpy().newbyteorder("<").tobytes() if t.dim() else t.reshape(1).numpy().tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def save_pt(path, obj, **kwargs):
    # Saved by path, not into a buffer, so that the zip prefix is the file's stem as in users' files
    # ("model/data.pkl"; a buffer gives "archive/").
    torch.save(obj, path, **kwargs)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def rel(*parts):
    return "/".join(parts)


def model_case(out, name, state_dict, spec, inputs, outputs, description, safetensors=False, extra_files=()):
    """Writes pt/<name>/: model.pt (+ model.safetensors), spec.json, case.json."""
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    files = ["model.pt"]
    save_pt(os.path.join(folder, "model.pt"), state_dict)
    if safetensors:
        save_safetensors(os.path.join(folder, "model.safetensors"), state_dict)
        files.append("model.safetensors")
    files.extend(extra_files)
    write_json(os.path.join(folder, "spec.json"), spec)
    write_json(os.path.join(folder, "case.json"), {
        "description": description,
        "model_files": files,
        "spec": "spec.json",
        "inputs": inputs,
        "outputs": outputs,
    })
    return folder


# ── the fixture models ──────────────────────────────────────────────────────────────────────────

def pt_seed_gru(out):
    model, _, outputs = recreate("make_seed_gru")
    check_against_committed("seed_gru", outputs)
    spec = {
        "name": "seed_gru",
        "inputs": [{"name": "x", "shape": [None, None, 96], "dtype": "float32"},
                   {"name": "h0", "shape": [1, None, 96], "dtype": "float32"}],
        "layers": [{"name": "gru", "kind": "gru", "input": "x", "initial_h": "h0", "hidden_size": 96}],
        "outputs": [{"name": "output", "from": "gru"}, {"name": "h_n", "from": "gru:h_n"}],
    }
    model_case(out, "seed_gru", model.state_dict(), spec,
               {"x": rel("models", "seed_gru", "x.npy"), "h0": rel("models", "seed_gru", "h0.npy")},
               {"output": rel("models", "seed_gru", "output.npy"), "h_n": rel("models", "seed_gru", "h_n.npy")},
               "SeedGru (nn.GRU(96, 96), seq-first, initial state) of make_fixtures.py; keys gru.*.")


def pt_gru2_batchfirst(out):
    model, _, outputs = recreate("make_gru2_batchfirst")
    check_against_committed("gru2_batchfirst", outputs)
    spec = {
        "name": "gru2_batchfirst",
        "inputs": [{"name": "x", "shape": [None, None, 7]}],
        "layers": [{"name": "gru", "kind": "gru", "hidden_size": 13, "num_layers": 2, "batch_first": True}],
        "outputs": [{"name": "output", "from": "gru"}, {"name": "h_n", "from": "gru:h_n"}],
    }
    folder = model_case(out, "gru2_batchfirst", model.state_dict(), spec,
                        {"x": rel("models", "gru2_batchfirst", "x.npy")},
                        {"output": rel("models", "gru2_batchfirst", "output.npy"),
                         "h_n": rel("models", "gru2_batchfirst", "h_n.npy")},
                        "nn.GRU(7, 13, num_layers=2, batch_first=True); also as a checkpoint dict "
                        "{'epoch': 3, 'model_state_dict': ..., ...} in checkpoint.pt.",
                        safetensors=True, extra_files=["checkpoint.pt"])
    checkpoint = {"epoch": 3, "model_state_dict": model.state_dict(), "loss": 0.25,
                  "optimizer_state_dict": {"state": {}, "param_groups": [{"lr": 0.001, "params": [0, 1, 2]}]},
                  "note": "trained on sensor log 7"}
    save_pt(os.path.join(folder, "checkpoint.pt"), checkpoint)


def pt_forecaster(out):
    # The ONNX fixture's hidden size (200) makes a 2 MB state_dict; the same architecture with 16
    # hidden units, seed and scalings of make_forecaster, has its own PyTorch goldens here.
    mf.seeded(3)
    model = mf.Forecaster(y=6, hidden=16)
    with torch.no_grad():
        for lstm, scale in ((model.encoder, 1.5), (model.decoder, 3.0)):
            for p in lstm.parameters():
                p.mul_(scale)
        model.conv.weight.mul_(20.0)
    model.eval()
    x = torch.from_numpy(np.load(os.path.join(MODELS, "forecaster", "x.npy")))
    with torch.no_grad():
        forecast = model(x)
        # the spec says padding 'same'; the model pads (1, 2) by hand: the same thing for kernel 4
        same = nn.Conv1d(16, 6, kernel_size=4, padding="same")
        same.weight.copy_(model.conv.weight)
        same.bias.copy_(model.conv.bias)
        _, (h, _) = model.encoder(x)
        d, _ = model.decoder(h[-1].unsqueeze(1))
        assert torch.allclose(same(d.permute(0, 2, 1)).permute(0, 2, 1), forecast, atol=1e-6)
    assert float(forecast.std()) > 0.2, forecast
    spec = {
        "name": "forecaster",
        "inputs": [{"name": "x", "shape": [None, None, 6]}],
        "layers": [
            {"name": "encoder", "kind": "lstm", "hidden_size": 16, "batch_first": True, "return": "state"},
            {"name": "repeat", "kind": "repeat_vector", "n": 1},
            {"name": "decoder", "kind": "lstm", "hidden_size": 16, "batch_first": True},
            {"name": "conv", "kind": "conv1d", "channels_last": True, "padding": "same"},
        ],
        "outputs": [{"name": "forecast", "from": "conv"}],
    }
    folder = model_case(out, "forecaster", model.state_dict(), spec,
                        {"x": rel("models", "forecaster", "x.npy")},
                        {"forecast": rel("pt", "forecaster", "forecast.npy")},
                        "make_fixtures.Forecaster(y=6, hidden=16) (the ONNX fixture has hidden 200: 2 MB), seed 3, "
                        "encoder x1.5, decoder x3, conv weight x20; fed the ONNX fixture's x.npy; forecast.npy is "
                        "PyTorch's output for it.")
    mf.save_npy(folder, "forecast", mf.to_numpy(forecast))


def pt_dual_encoder(out):
    model, _, outputs = recreate("make_dual_encoder")
    check_against_committed("dual_encoder", outputs)
    spec = {
        "name": "dual_encoder",
        "inputs": [{"name": "context", "shape": [None, None], "dtype": "int64"},
                   {"name": "response", "shape": [None, None], "dtype": "int64"}],
        "layers": [
            {"name": "context_embedded", "kind": "embedding", "prefix": "embedding", "input": "context"},
            {"name": "context_encoder", "kind": "lstm", "hidden_size": 32, "batch_first": True, "return": "state"},
            {"name": "response_embedded", "kind": "embedding", "prefix": "embedding", "input": "response"},
            {"name": "response_encoder", "kind": "lstm", "hidden_size": 32, "batch_first": True, "return": "state"},
            {"name": "logit", "kind": "bilinear", "inputs": ["context_encoder", "response_encoder"], "weight": "M"},
            {"name": "score", "kind": "activation", "function": "sigmoid"},
        ],
        "outputs": [{"name": "score", "from": "score"}],
    }
    model_case(out, "dual_encoder", model.state_dict(), spec,
               {"context": rel("models", "dual_encoder", "context.npy"),
                "response": rel("models", "dual_encoder", "response.npy")},
               {"score": rel("models", "dual_encoder", "score.npy")},
               "The seed's dual encoder (shared embedding, two LSTMs, M); keys embedding.weight, "
               "context_encoder.*, response_encoder.*, M.", safetensors=True)


def pt_char_lstm(out):
    model, _, outputs = recreate("make_char_lstm")
    check_against_committed("char_lstm", outputs)
    spec = {
        "name": "char_lstm",
        "inputs": [{"name": "tokens", "shape": [None, None], "dtype": "int64"}],
        "layers": [
            {"name": "embedding", "kind": "embedding"},
            {"name": "lstm", "kind": "lstm", "hidden_size": 32, "batch_first": True},
            {"name": "head", "kind": "linear"},
        ],
        "outputs": [{"name": "logits", "from": "head"}],
    }
    folder = model_case(out, "char_lstm", model.state_dict(), spec,
                        {"tokens": rel("models", "char_lstm", "tokens.npy")},
                        {"logits": rel("models", "char_lstm", "logits.npy")},
                        "Embedding(44, 16) -> nn.LSTM(16, 32, batch_first=True) -> Linear(32, 44). "
                        "transposed.pt: the same weights with head.weight and lstm.weight_hh_l0 saved as "
                        "non-contiguous transposed views (strides (1, rows)).", extra_files=["transposed.pt"])
    sd = model.state_dict()
    views = collections.OrderedDict()
    for k, v in sd.items():
        if k in ("head.weight", "lstm.weight_hh_l0"):
            v = v.t().contiguous().t()  # same values, column-major storage
            assert not v.is_contiguous()
        views[k] = v
    save_pt(os.path.join(folder, "transposed.pt"), views)


def pt_local_linear(out):
    mf.seeded(6)
    model = mf.LocalLinear(in_features=30, local_features=4, kernel_size=5, padding=2, stride=3).eval()
    committed = np.load(os.path.join(MODELS, "local_linear", "weight.npy"))
    assert np.array_equal(committed, mf.to_numpy(model.weight)), "LocalLinear weights differ from the fixture"
    x = torch.from_numpy(np.load(os.path.join(MODELS, "local_linear", "input.npy")))
    with torch.no_grad():
        assert np.array_equal(mf.to_numpy(model(x)), np.load(os.path.join(MODELS, "local_linear", "output.npy")))
    spec = {
        "name": "local_linear",
        "inputs": [{"name": "input", "shape": [None, 30]}],
        "layers": [{"name": "local", "kind": "local_linear", "prefix": "", "kernel_size": 5, "padding": 2,
                    "stride": 3}],
        "outputs": [{"name": "output", "from": "local"}],
    }
    model_case(out, "local_linear", model.state_dict(), spec,
               {"input": rel("models", "local_linear", "input.npy")},
               {"output": rel("models", "local_linear", "output.npy")},
               "The seed's LocalLinear(30, 4, kernel_size=5, padding=2, stride=3) saved on its own: keys "
               "weight (10, 5, 4) and bias (10, 4), no prefix.", safetensors=True)


def pt_lstm_multilayer(out):
    model, _, outputs = recreate("make_lstm_multilayer")
    check_against_committed("lstm_multilayer", outputs)
    spec = {
        "name": "lstm_multilayer",
        "inputs": [{"name": "x", "shape": [None, None, 5]},
                   {"name": "h0", "shape": [2, None, 8]},
                   {"name": "c0", "shape": [2, None, 8]}],
        "layers": [{"name": "lstm", "kind": "lstm", "input": "x", "hidden_size": 8, "num_layers": 2,
                    "initial_h": "h0", "initial_c": "c0"}],
        "outputs": [{"name": "output", "from": "lstm"}, {"name": "h_n", "from": "lstm:h_n"},
                    {"name": "c_n", "from": "lstm:c_n"}],
    }
    folder = model_case(out, "lstm_multilayer", model.state_dict(), spec,
                        {"x": rel("models", "lstm_multilayer", "x.npy"), "h0": rel("models", "lstm_multilayer", "h0.npy"),
                         "c0": rel("models", "lstm_multilayer", "c0.npy")},
                        {"output": rel("models", "lstm_multilayer", "output.npy"),
                         "h_n": rel("models", "lstm_multilayer", "h_n.npy"),
                         "c_n": rel("models", "lstm_multilayer", "c_n.npy")},
                        "nn.LSTM(5, 8, num_layers=2) with initial states. shared_storage.pt: the same weights "
                        "as views into ONE flat storage at offsets, as cuDNN flattens them.",
                        extra_files=["shared_storage.pt"])
    sd = model.state_dict()
    flat = torch.cat([v.reshape(-1) for v in sd.values()])
    shared = collections.OrderedDict()
    offset = 0
    for k, v in sd.items():
        shared[k] = flat[offset:offset + v.numel()].view(v.shape)
        offset += v.numel()
    save_pt(os.path.join(folder, "shared_storage.pt"), shared)
    with zipfile.ZipFile(os.path.join(folder, "shared_storage.pt")) as z:
        data = [n for n in z.namelist() if "/data/" in n]
        assert len(data) == 1, data  # one storage for all tensors


def pt_lstm_bidir(out):
    model, _, outputs = recreate("make_lstm_bidir")
    check_against_committed("lstm_bidir", outputs)
    spec = {
        "name": "lstm_bidir",
        "inputs": [{"name": "x", "shape": [None, None, 5]}],
        "layers": [{"name": "lstm", "kind": "lstm", "hidden_size": 8, "bidirectional": True}],
        "outputs": [{"name": "output", "from": "lstm"}, {"name": "h_n", "from": "lstm:h_n"},
                    {"name": "c_n", "from": "lstm:c_n"}],
    }
    folder = model_case(out, "lstm_bidir", model.state_dict(), spec,
                        {"x": rel("models", "lstm_bidir", "x.npy")},
                        {"output": rel("models", "lstm_bidir", "output.npy"),
                         "h_n": rel("models", "lstm_bidir", "h_n.npy"),
                         "c_n": rel("models", "lstm_bidir", "c_n.npy")},
                        "nn.LSTM(5, 8, bidirectional=True). cuda.pt: the same file with every storage "
                        "location patched from 'cpu' to 'cuda:0' in data.pkl (no GPU here to save one).",
                        safetensors=True, extra_files=["cuda.pt"])
    patch_location(os.path.join(folder, "model.pt"), os.path.join(folder, "cuda.pt"))


def patch_location(src, dst):
    """Rewrites the pickled location string 'cpu' as 'cuda:0' (protocol 2 has no frame lengths to fix)."""
    old = b"X\x03\x00\x00\x00cpu"  # BINUNICODE, 4-byte length
    new = b"X\x06\x00\x00\x00cuda:0"
    with zipfile.ZipFile(src) as zin:
        entries = [(info, zin.read(info.filename)) for info in zin.infolist()]
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_STORED) as zout:
        for info, data in entries:
            if info.filename.endswith("/data.pkl"):
                assert data.count(old) >= 1, "no 'cpu' location in data.pkl"
                data = data.replace(old, new)
            out = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zout.writestr(out, data)
    sd = torch.load(dst, map_location="cpu")  # torch itself accepts the patched file
    assert len(sd) > 0


# ── reader edge cases ───────────────────────────────────────────────────────────────────────────

class Pwn:
    def __reduce__(self):
        return (os.system, ("touch " + PWNED,))


def pt_special(out):
    folder = os.path.join(out, "special")
    os.makedirs(folder, exist_ok=True)
    expected = {}

    # Every storage dtype, values exactly representable where the type allows; expected values are
    # what torch itself reports after converting to float64 (floats) or int64 (integers).
    g = torch.Generator().manual_seed(11)
    base = torch.randn(2, 3, generator=g)
    dtypes = collections.OrderedDict([
        ("f32", base.clone()),
        ("f16", base.to(torch.float16)),
        ("bf16", base.to(torch.bfloat16)),
        ("f64", base.to(torch.float64) / 3),
        ("i64", torch.tensor([[-(2 ** 40), 7, 0], [1, -2, 2 ** 33]], dtype=torch.int64)),
        ("i32", torch.tensor([[-(2 ** 30), 5, 0], [1, -2, 2 ** 29]], dtype=torch.int32)),
        ("i16", torch.tensor([-300, 0, 300], dtype=torch.int16)),
        ("i8", torch.tensor([-128, 0, 127], dtype=torch.int8)),
        ("u8", torch.tensor([0, 200, 255], dtype=torch.uint8)),
        ("bool", torch.tensor([True, False, True])),
        ("scalar", torch.tensor(2.5)),
        ("empty", torch.zeros(0, 4)),
    ])
    save_pt(os.path.join(folder, "dtypes.pt"), dtypes)
    save_safetensors(os.path.join(folder, "dtypes.safetensors"),
                     collections.OrderedDict((k, v) for k, v in dtypes.items() if k not in ("i16",)))
    expected["dtypes"] = {k: {"shape": list(v.shape),
                              "values": [float(x) for x in v.to(torch.float64).reshape(-1).tolist()]
                              if v.is_floating_point() else [int(x) for x in v.to(torch.int64).reshape(-1).tolist()]}
                          for k, v in dtypes.items()}

    # Views: a transposed tensor, a column slice (offset + stride), an expanded (stride 0) tensor,
    # all sharing the storage of 'base' (4, 6).
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 8
    views = collections.OrderedDict([
        ("base", base),
        ("transposed", base.t()),
        ("columns", base[1:, 2:5]),
        ("row_view", base[2]),
        ("expanded", base[1, :3].unsqueeze(0).expand(2, 3)),
    ])
    save_pt(os.path.join(folder, "views.pt"), views)
    with zipfile.ZipFile(os.path.join(folder, "views.pt")) as z:
        assert len([n for n in z.namelist() if "/data/" in n]) == 1
    expected["views"] = {k: {"shape": list(v.shape), "values": [float(x) for x in v.reshape(-1).tolist()]}
                         for k, v in views.items()}

    # Nested dicts: a checkpoint holding two modules' state_dicts.
    tiny = collections.OrderedDict([("weight", torch.tensor([[1.0, 2.0]])), ("bias", torch.tensor([0.5]))])
    # (an nn.Parameter pickles through torch._utils._rebuild_parameter)
    save_pt(os.path.join(folder, "nested.pt"), {"encoder": tiny, "decoder": {"proj": tiny},
                                                "scale": nn.Parameter(torch.tensor([4.0, 5.0]))})
    expected["nested"] = {"keys": ["encoder.weight", "encoder.bias", "decoder.proj.weight", "decoder.proj.bias",
                                   "scale"]}

    # Small file for the truncation sweep.
    save_pt(os.path.join(folder, "small.pt"), collections.OrderedDict([("w", torch.tensor([1.0, -2.0, 3.0]))]))

    # Legacy (non-zip) torch.save.
    save_pt(os.path.join(folder, "legacy.pt"), collections.OrderedDict([("w", torch.tensor([1.0]))]),
            _use_new_zipfile_serialization=False)

    # Hostile: a state_dict whose pickle calls os.system (posix.system) when torch.load runs it.
    hostile = collections.OrderedDict([("weight", torch.tensor([1.0])), ("payload", Pwn())])
    save_pt(os.path.join(folder, "hostile.pt"), hostile)
    with zipfile.ZipFile(os.path.join(folder, "hostile.pt")) as z:
        pkl = [z.read(n) for n in z.namelist() if n.endswith("/data.pkl")][0]
        assert b"posix\nsystem\n" in pkl, pkl
    expected["hostile"] = {"global": "posix.system", "side_effect": PWNED}
    assert not os.path.exists(PWNED)

    write_json(os.path.join(folder, "expected.json"), expected)


# ── files that hold more than tensors, and the legacy format ────────────────────────────────────

class StandardScalerStandIn:
    """A stand-in for sklearn.preprocessing.StandardScaler (sklearn may not be installed): a plain object
    whose fitted state is numpy arrays, pickled the same way (NEWOBJ + BUILD of its __dict__)."""

    def __init__(self, data):
        self.with_mean = True
        self.with_std = True
        self.n_features_in_ = data.shape[1]
        self.mean_ = data.mean(axis=0)
        self.var_ = data.var(axis=0)
        self.scale_ = np.sqrt(self.var_)
        self.n_samples_seen_ = np.int64(data.shape[0])


class TinyForecaster(nn.Module):
    """A small nn.Module subclass saved whole with torch.save(model): its pickle names __main__.TinyForecaster
    (and torch.nn classes), which Edge keeps as placeholders; the tensors are in _parameters/_buffers/_modules."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
        self.rnn = nn.GRU(4, 5, batch_first=True)
        self.head = nn.Linear(5, 2, bias=False)
        self.register_buffer("mu", torch.tensor([0.25, -0.5, 1.0]))

    def forward(self, x):
        out, _ = self.rnn(self.encoder(x - self.mu))
        return self.head(out[:, -1])


def pt_foreign(out):
    folder = os.path.join(out, "foreign")
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(5)
    model = TinyForecaster().eval()
    state = model.state_dict()
    # the reference: the same tensors as a plain state_dict in the zip format
    save_pt(os.path.join(folder, "state_dict.pt"), state)
    # torch.save(model): the whole module, pickled
    save_pt(os.path.join(folder, "whole_module.pt"), model)
    # a training checkpoint: the state_dict plus a fitted scaler object and plain values
    rng = np.random.default_rng(5)
    scaler = StandardScalerStandIn(rng.normal(size=(50, 3)))
    save_pt(os.path.join(folder, "checkpoint_scaler.pt"),
            {"epoch": 12, "model_state_dict": state, "scaler": scaler, "loss": 0.125})
    # the legacy (pre-1.6, non-zip) format of the same state_dict, and of the checkpoint
    save_pt(os.path.join(folder, "legacy_state_dict.pt"), state, _use_new_zipfile_serialization=False)
    save_pt(os.path.join(folder, "legacy_checkpoint.pt"),
            {"epoch": 12, "model_state_dict": state, "scaler": scaler}, _use_new_zipfile_serialization=False)
    with zipfile.ZipFile(os.path.join(folder, "whole_module.pt")) as z:
        pkl = [z.read(n) for n in z.namelist() if n.endswith("/data.pkl")][0]
        assert b"__main__" in pkl and b"TinyForecaster" in pkl, "expected the module class in the pickle"
    write_json(os.path.join(folder, "expected.json"), {
        "keys": list(state.keys()),
        "placeholders": ["__main__.TinyForecaster", "torch.nn.modules.container.Sequential"],
        "scaler_placeholder": "__main__.StandardScalerStandIn",
    })


MAKERS = [pt_seed_gru, pt_gru2_batchfirst, pt_forecaster, pt_dual_encoder, pt_char_lstm, pt_local_linear,
          pt_lstm_multilayer, pt_lstm_bidir, pt_special, pt_foreign]


# ── the spec kinds beyond recurrent stacks (issue 17): Runtime.Tests/Fixtures/pt_kinds/ ─────────────
#
# Small modules as people write them, one per group of kinds, each saved as a state_dict with the spec of
# its forward(); x.npy is the input and the outputs are PyTorch's own (eval mode).

KINDS_OUT = os.path.join(FIXTURES, "pt_kinds")


def kinds_case(out, name, model, spec, inputs, description):
    """Writes pt_kinds/<name>/: model.pt, spec.json, the inputs and PyTorch's outputs (.npy), case.json."""
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    model.eval()
    with torch.no_grad():
        result = model(*[torch.from_numpy(v) for v in inputs.values()])
    outputs = {o["name"]: r for o, r in zip(spec["outputs"], result if isinstance(result, tuple) else (result,))}
    for k, v in inputs.items():
        np.save(os.path.join(folder, f"{k}.npy"), v)
    for k, v in outputs.items():
        np.save(os.path.join(folder, f"{k}.npy"), v.numpy().astype(np.float32))
    save_pt(os.path.join(folder, "model.pt"), model.state_dict())
    write_json(os.path.join(folder, "spec.json"), spec)
    write_json(os.path.join(folder, "case.json"), {
        "description": description,
        "model_files": ["model.pt"],
        "spec": "spec.json",
        "inputs": {k: rel("pt_kinds", name, f"{k}.npy") for k in inputs},
        "outputs": {k: rel("pt_kinds", name, f"{k}.npy") for k in outputs},
    })


def seq_input(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


class AttentionPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 8, batch_first=True)
        self.score = nn.Linear(8, 1)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        out, _ = self.lstm(x)
        w = torch.softmax(self.score(out), dim=1)
        ctx = (w * out).sum(1)
        return self.fc(ctx)


def pt_kinds_attention(out):
    torch.manual_seed(11)
    spec = {
        "name": "attention_pool",
        "inputs": [{"name": "x", "shape": [None, None, 4]}],
        "layers": [
            {"name": "lstm", "kind": "lstm", "hidden_size": 8, "batch_first": True},
            {"name": "score", "kind": "linear"},
            {"name": "w", "kind": "softmax", "dim": 1},
            {"name": "weighted", "kind": "mul", "inputs": ["w", "lstm"]},
            {"name": "ctx", "kind": "sum", "dim": 1},
            {"name": "fc", "kind": "linear"}],
        "outputs": [{"name": "y", "from": "fc"}],
    }
    kinds_case(out, "attention_pool", AttentionPool(), spec, {"x": seq_input(1, 3, 7, 4)},
               "w = softmax(Linear(out), dim=1); ctx = (w * out).sum(1); fc(ctx) over a batch-first nn.LSTM(4, 8); seed 11.")


class BatchNormHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 6, batch_first=True)
        self.fc1 = nn.Linear(6, 5)
        self.bn1 = nn.BatchNorm1d(5)
        self.bn2 = nn.BatchNorm1d(5)
        self.fc2 = nn.Linear(5, 2)
        self.conv = nn.Conv1d(3, 4, 3, padding=1)
        self.bn3 = nn.BatchNorm1d(4, eps=1e-3)
        with torch.no_grad():  # running statistics as training would leave them, not the defaults 0 and 1
            for bn in (self.bn1, self.bn2, self.bn3):
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2.0)
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.uniform_(-0.3, 0.3)
                bn.num_batches_tracked.fill_(100)

    def forward(self, x):
        out, _ = self.gru(x)
        h = self.bn1(self.fc1(out[:, -1]))          # folds into fc1
        y = self.fc2(self.bn2(torch.relu(h)))       # after a ReLU: a scale and shift
        c = self.bn3(self.conv(x.permute(0, 2, 1)))  # folds into the conv; (N, C, L)
        return y, c.mean(2)


def pt_kinds_batch_norm(out):
    torch.manual_seed(12)
    spec = {
        "name": "batch_norm_head",
        "inputs": [{"name": "x", "shape": [None, None, 3]}],
        "layers": [
            {"name": "gru", "kind": "gru", "batch_first": True, "return": "last"},
            {"name": "fc1", "kind": "linear"},
            {"name": "bn1", "kind": "batch_norm"},
            {"name": "relu", "kind": "activation", "function": "relu"},
            {"name": "bn2", "kind": "batch_norm", "num_features": 5},
            {"name": "fc2", "kind": "linear"},
            {"name": "x_ncl", "kind": "transpose", "input": "x", "dims": [1, 2]},  # x.permute(0, 2, 1)
            {"name": "conv", "kind": "conv1d", "padding": 1},
            {"name": "bn3", "kind": "batch_norm", "eps": 1e-3},
            {"name": "pooled", "kind": "mean", "dim": 2}],
        "outputs": [{"name": "y", "from": "fc2"}, {"name": "pooled", "from": "pooled"}],
    }
    kinds_case(out, "batch_norm_head", BatchNormHead(), spec, {"x": seq_input(2, 4, 6, 3)},
               "nn.BatchNorm1d (eval statistics) after a Linear (folded), after a ReLU (scale/shift) and after a Conv1d on (N, C, L) "
               "(folded), then a mean over the dynamic length; seed 12.")


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 5, batch_first=True)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(5, 1)
        self.gate = nn.Linear(3, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        y = self.fc(self.drop(out)) + x[:, :, :1]
        g = torch.sigmoid(self.gate(x))
        return (y * g - x[:, :, 1:2]) / 2.0


def pt_kinds_residual(out):
    torch.manual_seed(13)
    spec = {
        "name": "residual",
        "inputs": [{"name": "x", "shape": [None, None, 3]}],
        "layers": [
            {"name": "lstm", "kind": "lstm", "batch_first": True},
            {"name": "drop", "kind": "dropout", "p": 0.3},
            {"name": "fc", "kind": "linear"},
            {"name": "x0", "kind": "slice", "input": "x", "dim": 2, "end": 1},
            {"name": "residual", "kind": "add", "inputs": ["fc", "x0"]},
            {"name": "gate", "kind": "linear", "input": "x", "activation": "sigmoid"},
            {"name": "gated", "kind": "mul", "inputs": ["residual", "gate"]},
            {"name": "x1", "kind": "slice", "input": "x", "dim": 2, "start": 1, "end": 2},
            {"name": "diff", "kind": "sub", "inputs": ["gated", "x1"]},
            {"name": "half", "kind": "div", "value": 2.0}],
        "outputs": [{"name": "y", "from": "half"}],
    }
    kinds_case(out, "residual", Residual(), spec, {"x": seq_input(3, 2, 9, 3)},
               "fc(lstm(x)) + x[:, :, :1], gated by sigmoid(Linear(x)), minus x[:, :, 1:2], over 2 (add, mul, sub, div, slice, dropout); seed 13.")


class NormSeq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.LSTM(4, 6, batch_first=True)
        self.decoder = nn.GRU(6, 6, batch_first=True)
        self.norm = nn.LayerNorm(6)
        self.fc = nn.Linear(6, 2)
        with torch.no_grad():
            self.norm.weight.uniform_(0.5, 1.5)
            self.norm.bias.uniform_(-0.3, 0.3)

    def forward(self, x):
        _, (h, _) = self.encoder(x)
        r = h[-1].unsqueeze(1).repeat(1, x.shape[1], 1)   # repeated to the input's length
        d, _ = self.decoder(r)
        return self.fc(self.norm(d))


def pt_kinds_layer_norm(out):
    torch.manual_seed(14)
    spec = {
        "name": "layer_norm_seq2seq",
        "inputs": [{"name": "x", "shape": [None, None, 4]}],
        "layers": [
            {"name": "encoder", "kind": "lstm", "batch_first": True, "return": "state"},
            {"name": "repeat", "kind": "repeat_vector", "n_from": "x", "n_axis": 1},
            {"name": "decoder", "kind": "gru", "batch_first": True},
            {"name": "norm", "kind": "layer_norm"},
            {"name": "fc", "kind": "linear"}],
        "outputs": [{"name": "y", "from": "fc"}],
    }
    kinds_case(out, "layer_norm_seq2seq", NormSeq2Seq(), spec, {"x": seq_input(4, 3, 5, 4)},
               "LSTM encoder state repeated to the input's length (repeat_vector n_from), GRU decoder, nn.LayerNorm(6), Linear; seed 14.")


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 4, batch_first=True)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        a = torch.softmax(torch.bmm(out, out.transpose(1, 2)), dim=-1)
        return self.fc(torch.matmul(a, out).mean(1))


def pt_kinds_self_attention(out):
    torch.manual_seed(15)
    spec = {
        "name": "self_attention",
        "inputs": [{"name": "x", "shape": [None, None, 3]}],
        "layers": [
            {"name": "lstm", "kind": "lstm", "batch_first": True},
            {"name": "keys", "kind": "transpose", "dims": [1, 2]},
            {"name": "scores", "kind": "bmm", "inputs": ["lstm", "keys"]},
            {"name": "a", "kind": "softmax", "dim": -1},
            {"name": "mixed", "kind": "matmul", "inputs": ["a", "lstm"]},
            {"name": "pooled", "kind": "mean", "dim": 1},
            {"name": "fc", "kind": "linear"}],
        "outputs": [{"name": "y", "from": "fc"}],
    }
    kinds_case(out, "self_attention", SelfAttention(), spec, {"x": seq_input(5, 2, 6, 3)},
               "softmax(bmm(out, out^T), -1) @ out, mean over time, Linear (bmm, matmul, softmax, mean); seed 15.")


class MaxPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 6, batch_first=True)
        self.fc = nn.Linear(6, 2)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.fc(out.max(dim=1).values), out.max(dim=1, keepdim=True).values


def pt_kinds_max_pool(out):
    torch.manual_seed(16)
    spec = {
        "name": "max_pool",
        "inputs": [{"name": "x", "shape": [None, None, 3]}],
        "layers": [
            {"name": "gru", "kind": "gru", "batch_first": True},
            {"name": "pool", "kind": "max", "dim": 1},
            {"name": "fc", "kind": "linear"},
            {"name": "pool_keep", "kind": "max", "input": "gru", "dim": 1, "keepdim": True}],
        "outputs": [{"name": "y", "from": "fc"}, {"name": "pooled", "from": "pool_keep"}],
    }
    kinds_case(out, "max_pool", MaxPool(), spec, {"x": seq_input(6, 3, 7, 3)},
               "fc(out.max(dim=1).values) over a batch-first nn.GRU(3, 6), and out.max(dim=1, keepdim=True).values; seed 16.")


class PReluHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 8, batch_first=True)
        self.fc1 = nn.Linear(8, 5)
        self.act = nn.PReLU(5)
        self.fc2 = nn.Linear(5, 2)
        self.act_channels = nn.PReLU(8)
        self.act_one = nn.PReLU(init=0.1)
        with torch.no_grad():  # distinct slopes (the default is 0.25 for all), some negative
            self.act.weight.uniform_(-0.5, 0.8)
            self.act_channels.weight.uniform_(-0.5, 0.8)

    def forward(self, x):
        out, _ = self.lstm(x)
        y = self.fc2(self.act(self.fc1(out[:, -1])))
        return y, self.act_one(self.act_channels(out.transpose(1, 2)))


def pt_kinds_prelu(out):
    torch.manual_seed(17)
    spec = {
        "name": "prelu_head",
        "inputs": [{"name": "x", "shape": [None, None, 4]}],
        "layers": [
            {"name": "lstm", "kind": "lstm", "batch_first": True},
            {"name": "last", "kind": "last_step", "batch_first": True},
            {"name": "fc1", "kind": "linear"},
            {"name": "act", "kind": "prelu", "num_parameters": 5},
            {"name": "fc2", "kind": "linear"},
            {"name": "seq_ncl", "kind": "transpose", "input": "lstm", "dims": [1, 2]},
            {"name": "act_channels", "kind": "prelu"},
            {"name": "act_one", "kind": "prelu", "num_parameters": 1}],
        "outputs": [{"name": "y", "from": "fc2"}, {"name": "seq", "from": "act_one"}],
    }
    kinds_case(out, "prelu_head", PReluHead(), spec, {"x": seq_input(7, 3, 6, 4)},
               "LSTM -> last step -> Linear -> nn.PReLU(5) -> Linear, and nn.PReLU() after nn.PReLU(8) on (N, 8, L) "
               "(one slope per channel of axis 1); slopes uniform in [-0.5, 0.8]; seed 17.")


KIND_MAKERS = [pt_kinds_attention, pt_kinds_batch_norm, pt_kinds_residual, pt_kinds_layer_norm, pt_kinds_self_attention,
               pt_kinds_max_pool, pt_kinds_prelu]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: Runtime.Tests/Fixtures/pt)")
    parser.add_argument("--kinds-out", default=KINDS_OUT, help="output folder of the spec-kind modules (default: Runtime.Tests/Fixtures/pt_kinds)")
    parser.add_argument("--only", default="all",
                        help="all (default); models: pt/ only; kinds: pt_kinds/ only; or the name of one pt/ maker (e.g. pt_foreign). "
                             "pt/special/legacy.pt differs on every run")
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    if args.only in ("all", "kinds"):
        kinds_out = os.path.abspath(args.kinds_out)
        os.makedirs(kinds_out, exist_ok=True)
        for make in KIND_MAKERS:
            make(kinds_out)
        print(f"pt_kinds sha256 {mf.digest(kinds_out)}")
        if args.only == "kinds":
            return 0
    for make in MAKERS:
        if args.only in ("all", "models") or make.__name__ == args.only:
            make(out)
    total = 0
    for name in sorted(os.listdir(out)):
        folder = os.path.join(out, name)
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        total += size
        print(f"{name:18s} {size / 1024:9.1f} KiB")
    print(f"{'total':18s} {total / 1024:9.1f} KiB")
    print(f"sha256 {mf.digest(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
