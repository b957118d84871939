#!/usr/bin/python3
"""Make the PyTorch/ONNX fixtures of Runtime.Tests/Fixtures/models/.

Run with Debian's interpreter (python3-torch 1.13, python3-onnx 1.12, numpy):

    /usr/bin/python3 tools/make_fixtures.py [--out DIR]

Every model is built in PyTorch with a fixed seed, put in eval mode, exported with
torch.onnx.export (constant folding left at its default) and run once in PyTorch; the inputs and
PyTorch's outputs are saved as .npy next to the .onnx. The outputs are the golden values the C#
end-to-end tests compare Edge and ONNX Runtime with. The models are the ones of the seed document
(/work/shared/seed/000_ac998b3aca266f0b.txt); see tools/README.md for the list.

The script is deterministic: running it twice writes byte-identical files (it prints a sha256 over
the output folder to make that easy to check).
"""

import argparse
import hashlib
import io
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "Runtime.Tests", "Fixtures", "models")
DEFAULT_OPSET = 17


# ── helpers ─────────────────────────────────────────────────────────────────────────────────────

def seeded(seed):
    torch.manual_seed(seed)
    return np.random.RandomState(seed)


def save_npy(folder, name, array):
    array = np.require(array, requirements="C")  # (ascontiguousarray would turn a 0-d loss into (1,))
    assert array.dtype in (np.float32, np.int64), (name, array.dtype)
    np.save(os.path.join(folder, name + ".npy"), array, allow_pickle=False)


def to_numpy(t):
    a = t.detach().cpu().numpy()
    return a.astype(np.float32) if a.dtype.kind == "f" else a.astype(np.int64)


def export_onnx(model, args, path, input_names, output_names, dynamic_axes, opset):
    # Export into memory first so a failed export leaves no half-written file behind.
    buf = io.BytesIO()
    torch.onnx.export(model, args, buf, input_names=input_names, output_names=output_names,
                      dynamic_axes=dynamic_axes, opset_version=opset)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)
    # The ONNX graph must expose exactly the names the tests feed and read.
    assert [i.name for i in proto.graph.input] == list(input_names), [i.name for i in proto.graph.input]
    assert [o.name for o in proto.graph.output] == list(output_names), [o.name for o in proto.graph.output]
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    return sorted({n.op_type for n in proto.graph.node})


def write_case(folder, case):
    with open(os.path.join(folder, "case.json"), "w") as f:
        json.dump(case, f, indent=2, sort_keys=False)
        f.write("\n")


def onnx_case(out, name, description, model, inputs, output_names, dynamic_axes,
              opsets=(DEFAULT_OPSET,), extra=None):
    """Export `model` at each opset, save the inputs and PyTorch's outputs, write case.json.

    inputs: list of (name, tensor) in the model's forward order. With one opset the file is
    model.onnx; with several, model_opset<N>.onnx each (same inputs and outputs for all)."""
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    model.eval()
    args = tuple(t for _, t in inputs)
    with torch.no_grad():
        outputs = model(*args)
    if isinstance(outputs, torch.Tensor):
        outputs = (outputs,)
    outputs = flatten(outputs)
    assert len(outputs) == len(output_names), (name, len(outputs), output_names)
    for (iname, t) in inputs:
        save_npy(folder, iname, to_numpy(t))
    for oname, t in zip(output_names, outputs):
        save_npy(folder, oname, to_numpy(t))
    models = []
    for opset in opsets:
        file = "model.onnx" if len(opsets) == 1 else f"model_opset{opset}.onnx"
        ops = export_onnx(model, args, os.path.join(folder, file), [n for n, _ in inputs],
                          output_names, dynamic_axes, opset)
        models.append({"file": file, "opset": opset, "onnx_ops": ops})
    case = {
        "description": description,
        "models": models,
        "inputs": [{"name": n, "shape": list(t.shape), "dtype": dtype_name(t)} for n, t in inputs],
        "outputs": [{"name": n, "shape": list(t.shape), "dtype": dtype_name(t)}
                    for n, t in zip(output_names, outputs)],
        "dynamic_axes": {k: sorted(v) for k, v in dynamic_axes.items()},
    }
    if extra:
        case.update(extra)
    write_case(folder, case)
    return folder, outputs


def flatten(outputs):
    flat = []
    for o in outputs:
        if isinstance(o, (tuple, list)):
            flat.extend(flatten(o))
        else:
            flat.append(o)
    return flat


def dtype_name(t):
    return "int64" if t.dtype == torch.int64 else "float32"


def saturation(name, t, bound=0.97):
    """Fraction of |t| above `bound`: recurrent state near +-1 would hide gate-order mistakes."""
    frac = float((t.abs() > bound).float().mean())
    assert frac < 0.05, f"{name}: {frac:.1%} of values saturated"
    return frac


# ── a. the seed's GRU ───────────────────────────────────────────────────────────────────────────

class SeedGru(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(96, 96, bias=True)  # seq-first, as in the seed

    def forward(self, x, h0):
        return self.gru(x, h0)


def make_seed_gru(out):
    rng = seeded(1)
    model = SeedGru()
    x = torch.from_numpy(rng.standard_normal((12, 8, 96)).astype(np.float32))
    h0 = torch.from_numpy((0.5 * rng.standard_normal((1, 8, 96))).astype(np.float32).clip(-0.9, 0.9))
    _, outs = onnx_case(out, "seed_gru",
                        "The seed's nn.GRU(96, 96, bias=True), seq-first: x (L=12, N=8, 96), h0 (1, 8, 96) "
                        "-> output (12, 8, 96), h_n (1, 8, 96). Batch axis dynamic.",
                        model, [("x", x), ("h0", h0)], ["output", "h_n"],
                        {"x": {1: "batch"}, "h0": {1: "batch"}, "output": {1: "batch"}, "h_n": {1: "batch"}})
    saturation("seed_gru", outs[0])


# ── b. two-layer batch-first GRU, odd sizes, three opsets ───────────────────────────────────────

class Gru2BatchFirst(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(7, 13, num_layers=2, batch_first=True)

    def forward(self, x):
        return self.gru(x)


def make_gru2_batchfirst(out):
    rng = seeded(2)
    model = Gru2BatchFirst()
    x = torch.from_numpy(rng.standard_normal((5, 9, 7)).astype(np.float32))
    _, outs = onnx_case(out, "gru2_batchfirst",
                        "nn.GRU(7, 13, num_layers=2, batch_first=True): x (N=5, L=9, 7) -> output (5, 9, 13), "
                        "h_n (2, 5, 13) (h_n stays layer-first even when batch_first). One export per opset "
                        "(9, 13, 17) in the same folder; all share the .npy files.",
                        model, [("x", x)], ["output", "h_n"],
                        {"x": {0: "batch"}, "output": {0: "batch"}, "h_n": {1: "batch"}},
                        opsets=(9, 13, 17))
    saturation("gru2_batchfirst", outs[0])


# ── c. the seed's next-state forecaster ─────────────────────────────────────────────────────────

class Forecaster(nn.Module):
    """The seed's Keras forecaster in PyTorch:
        LSTM(200) -> RepeatVector(1) -> LSTM(200, return_sequences) -> Conv1D(y, 4, 'same', linear)."""

    def __init__(self, y=6, hidden=200, horizon=1):
        super().__init__()
        self.horizon = horizon
        self.encoder = nn.LSTM(y, hidden, batch_first=True)
        self.decoder = nn.LSTM(hidden, hidden, batch_first=True)
        # Keras 'same' for an even kernel pads (K-1)//2 = 1 before and 2 after; torch's padding='same'
        # does the same, but torch 1.13 cannot export it ("aten::_convolution_mode ... is not
        # supported"), so the padding is explicit: F.pad(x, (1, 2)) + a valid conv, which
        # make_forecaster checks against padding='same'.
        self.conv = nn.Conv1d(hidden, y, kernel_size=4)

    def forward(self, x):
        _, (h, _) = self.encoder(x)              # h: (1, N, hidden)
        d = h[-1].unsqueeze(1).repeat(1, self.horizon, 1)  # RepeatVector: (N, horizon, hidden)
        d, _ = self.decoder(d)                   # (N, horizon, hidden)
        d = self.conv(F.pad(d.permute(0, 2, 1), (1, 2)))  # channels first: (N, y, horizon)
        return d.permute(0, 2, 1)                # (N, horizon, y)


def make_forecaster(out):
    rng = seeded(3)
    model = Forecaster()
    # padding='same' for kernel 4 must equal F.pad(x, (1, 2)) + valid conv (the Keras rule).
    same = nn.Conv1d(200, 6, kernel_size=4, padding="same")
    with torch.no_grad():
        same.weight.copy_(model.conv.weight)
        same.bias.copy_(model.conv.bias)
        for length in (1, 5):
            probe = torch.from_numpy(rng.standard_normal((2, 200, length)).astype(np.float32))
            explicit = model.conv(F.pad(probe, (1, 2)))
            assert torch.allclose(same(probe), explicit, atol=1e-6), "padding='same' is not (1, 2)"
    with torch.no_grad():
        # torch's default init (+-1/sqrt(fan)) gives forecasts of ~0.02, too small for a 1e-4 test to
        # notice a wrong conv tap; larger weights spread the states and the forecast over O(1).
        for lstm, scale in ((model.encoder, 1.5), (model.decoder, 3.0)):
            for p in lstm.parameters():
                p.mul_(scale)
        model.conv.weight.mul_(20.0)
    x = torch.from_numpy(rng.standard_normal((4, 10, 6)).astype(np.float32))
    _, outs = onnx_case(out, "forecaster",
                        "The seed's next-state forecaster: x (N=4, n=10, y=6) -> encoder nn.LSTM(6, 200) last "
                        "hidden (N, 200) -> RepeatVector(1) (unsqueeze + repeat) -> decoder nn.LSTM(200, 200) -> "
                        "Conv1d(200, 6, kernel_size=4, padding='same' = pad 1 before, 2 after) over time -> "
                        "forecast (N, 1, 6). Batch axis dynamic. torch 1.13 cannot export padding='same' "
                        "(aten::_convolution_mode), so the model pads explicitly with F.pad(x, (1, 2)) and a "
                        "valid conv, checked equal to padding='same' when the fixture is made.",
                        model, [("x", x)], ["forecast"],
                        {"x": {0: "batch"}, "forecast": {0: "batch"}})
    with torch.no_grad():
        _, (h, _) = model.encoder(x)
        d, _ = model.decoder(h[-1].unsqueeze(1))
    saturation("forecaster encoder", h)
    saturation("forecaster decoder", d)
    assert float(outs[0].std()) > 0.2, outs[0]


# ── d. the seed's dual encoder ──────────────────────────────────────────────────────────────────

class DualEncoder(nn.Module):
    """score = sigmoid(c^T M r), c and r the last hidden states of two LSTMs over a shared embedding."""

    def __init__(self, vocab=50, emb=16, hidden=32):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb)
        self.context_encoder = nn.LSTM(emb, hidden, batch_first=True)
        self.response_encoder = nn.LSTM(emb, hidden, batch_first=True)
        self.M = nn.Parameter(torch.randn(hidden, hidden))

    def forward(self, context, response):
        _, (c, _) = self.context_encoder(self.embedding(context))
        _, (r, _) = self.response_encoder(self.embedding(response))
        c, r = c[-1], r[-1]                                     # (N, hidden)
        return torch.sigmoid((c @ self.M * r).sum(1, keepdim=True))  # (N, 1)


def make_dual_encoder(out):
    rng = seeded(4)
    model = DualEncoder()
    with torch.no_grad():
        # LSTM weights a bit larger than torch's default (+-1/sqrt(32)) so that c and r are not tiny
        # and the score is spread over (0, 1) instead of sitting at 0.5.
        for lstm in (model.context_encoder, model.response_encoder):
            for p in lstm.parameters():
                p.mul_(2.0)
        model.M.mul_(2.0)
    context = torch.from_numpy(rng.randint(0, 50, size=(16, 10)).astype(np.int64))
    response = torch.from_numpy(rng.randint(0, 50, size=(16, 8)).astype(np.int64))
    _, outs = onnx_case(out, "dual_encoder",
                        "The seed's dual encoder: shared nn.Embedding(50, 16), context and response "
                        "nn.LSTM(16, 32, batch_first=True), last hidden states c, r (N, 32), M (32, 32), "
                        "score = sigmoid((c @ M * r).sum(1, keepdim=True)) (N, 1). context (16, 10) and "
                        "response (16, 8) int64. Batch axis dynamic (the tests also run batches 1 and 16).",
                        model, [("context", context), ("response", response)], ["score"],
                        {"context": {0: "batch"}, "response": {0: "batch"}, "score": {0: "batch"}})
    score = outs[0]
    assert 0.02 < float(score.min()) and float(score.max()) < 0.98 and float(score.std()) > 0.05, score


def make_dual_encoder_vocab(out):
    """The same dual encoder with a realistic vocabulary: the embedding table (1000, 64) is most of the
    weights, which is what int8 embedding tables are for (the int8 blob must be <= 30 % of fp32)."""
    rng = seeded(14)
    model = DualEncoder(vocab=1000, emb=64, hidden=32)
    with torch.no_grad():
        for lstm in (model.context_encoder, model.response_encoder):
            for p in lstm.parameters():
                p.mul_(1.5)
        model.M.mul_(0.5)
    context = torch.from_numpy(rng.randint(0, 1000, size=(16, 10)).astype(np.int64))
    response = torch.from_numpy(rng.randint(0, 1000, size=(16, 8)).astype(np.int64))
    _, outs = onnx_case(out, "dual_encoder_vocab",
                        "The dual encoder with a realistic vocabulary: shared nn.Embedding(1000, 64) (the "
                        "table is 83 % of the weights), context and response nn.LSTM(64, 32, batch_first=True), "
                        "M (32, 32), score = sigmoid((c @ M * r).sum(1, keepdim=True)) (N, 1). context (16, 10) "
                        "and response (16, 8) int64. Batch axis dynamic.",
                        model, [("context", context), ("response", response)], ["score"],
                        {"context": {0: "batch"}, "response": {0: "batch"}, "score": {0: "batch"}})
    score = outs[0]
    assert 0.02 < float(score.min()) and float(score.max()) < 0.98 and float(score.std()) > 0.05, score


# ── e. the seed's character LSTM and its (N, C, D) cross-entropy ────────────────────────────────

class CharLstm(nn.Module):
    def __init__(self, vocab=44, emb=16, hidden=32):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens):
        h, _ = self.lstm(self.embedding(tokens))
        return self.head(h)  # (N, D, C) logits


def make_char_lstm(out):
    rng = seeded(5)
    model = CharLstm()
    with torch.no_grad():
        model.head.weight.mul_(3.0)  # logits spread enough that the loss depends on them
    tokens = torch.from_numpy(rng.randint(0, 44, size=(128, 100)).astype(np.int64))
    targets = torch.from_numpy(rng.randint(0, 44, size=(128, 100)).astype(np.int64))
    folder, outs = onnx_case(out, "char_lstm",
                             "The seed's next-character model: Embedding(44, 16) -> nn.LSTM(16, 32, batch_first=True) "
                             "-> Linear(32, 44); tokens (128, 100) int64 -> logits (128, 100, 44) = (N, D, C). "
                             "targets.npy (128, 100) int64 and loss.npy = nn.CrossEntropyLoss()(logits.transpose(1, 2), "
                             "targets) (0-d float32): the loss over the (N, C, D) layout, as the seed's answer does. "
                             "Batch and sequence axes dynamic.",
                             model, [("tokens", tokens)], ["logits"],
                             {"tokens": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}},
                             extra={"loss": {"targets": "targets.npy", "loss": "loss.npy",
                                             "definition": "nn.CrossEntropyLoss()(logits.transpose(1, 2), targets)"}})
    logits = outs[0]
    loss = nn.CrossEntropyLoss()(logits.transpose(1, 2), targets)
    # The same number by hand: log-softmax over C, mean NLL over N*D.
    by_hand = -torch.log_softmax(logits, dim=2).gather(2, targets.unsqueeze(2)).mean()
    assert torch.allclose(loss, by_hand, atol=1e-6), (loss, by_hand)
    save_npy(folder, "targets", to_numpy(targets))
    save_npy(folder, "loss", np.array(loss.item(), dtype=np.float32))  # 0-d, like the loss itself


# ── f. the seed's LocalLinear (unfold: not exportable, so weights + data only) ─────────────────

class LocalLinear(nn.Module):
    # Copied from the seed (PyTorch issue 499's answer).
    def __init__(self, in_features, local_features, kernel_size, padding=0, stride=1, bias=True):
        super(LocalLinear, self).__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        fold_num = (in_features + 2 * padding - self.kernel_size) // self.stride + 1
        self.weight = nn.Parameter(torch.randn(fold_num, kernel_size, local_features))
        self.bias = nn.Parameter(torch.randn(fold_num, local_features)) if bias else None

    def forward(self, x: torch.Tensor):
        x = F.pad(x, [self.padding] * 2, value=0)
        x = x.unfold(-1, size=self.kernel_size, step=self.stride)
        x = torch.matmul(x.unsqueeze(2), self.weight).squeeze(2) + self.bias
        return x


def make_local_linear(out):
    rng = seeded(6)
    model = LocalLinear(in_features=30, local_features=4, kernel_size=5, padding=2, stride=3).eval()
    x = torch.from_numpy(rng.standard_normal((8, 30)).astype(np.float32))
    with torch.no_grad():
        y = model(x)
    folder = os.path.join(out, "local_linear")
    os.makedirs(folder, exist_ok=True)
    save_npy(folder, "weight", to_numpy(model.weight))
    save_npy(folder, "bias", to_numpy(model.bias))
    save_npy(folder, "input", to_numpy(x))
    save_npy(folder, "output", to_numpy(y))
    write_case(folder, {
        "description": "The seed's LocalLinear(in_features=30, local_features=4, kernel_size=5, padding=2, "
                       "stride=3): folds = (30 + 4 - 5) // 3 + 1 = 10. Not exportable to ONNX (unfold), so "
                       "the parameters and data are saved: weight (folds=10, kernel=5, features=4), "
                       "bias (10, 4), input (8, 30), output (8, 10, 4).",
        "models": [],
        "attributes": {"in_features": 30, "local_features": 4, "kernel_size": 5, "padding": 2, "stride": 3},
        "files": ["weight.npy", "bias.npy", "input.npy", "output.npy"],
    })


# ── g. the seed's list-of-lists stack ───────────────────────────────────────────────────────────

def make_stack(out):
    rng = seeded(7)
    lists = rng.standard_normal((3, 4, 1, 512)).astype(np.float32)
    nested = [[torch.from_numpy(lists[i, j]) for j in range(4)] for i in range(3)]
    stacked = torch.stack([torch.cat(sub_list, dim=0) for sub_list in nested], dim=0)
    assert tuple(stacked.shape) == (3, 4, 512)
    folder = os.path.join(out, "stack")
    os.makedirs(folder, exist_ok=True)
    save_npy(folder, "lists", lists)
    save_npy(folder, "stacked", to_numpy(stacked))
    write_case(folder, {
        "description": "The seed's N=3 lists of M=4 embeddings (1, 512): lists.npy (3, 4, 1, 512) holds "
                       "lists[i][j]; stacked.npy = torch.stack([torch.cat(l, 0) for l in lists], 0) (3, 4, 512).",
        "models": [],
        "files": ["lists.npy", "stacked.npy"],
    })


# ── h. multi-layer LSTM with initial states, bidirectional LSTM ─────────────────────────────────

class LstmMultilayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 8, num_layers=2, batch_first=False)

    def forward(self, x, h0, c0):
        y, (h, c) = self.lstm(x, (h0, c0))
        return y, h, c


class LstmBidir(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 8, bidirectional=True)

    def forward(self, x):
        y, (h, c) = self.lstm(x)
        return y, h, c


def make_lstm_multilayer(out):
    rng = seeded(8)
    model = LstmMultilayer()
    x = torch.from_numpy(rng.standard_normal((6, 3, 5)).astype(np.float32))
    h0 = torch.from_numpy((0.5 * rng.standard_normal((2, 3, 8))).astype(np.float32))
    c0 = torch.from_numpy((0.5 * rng.standard_normal((2, 3, 8))).astype(np.float32))
    batch1 = {1: "batch"}
    onnx_case(out, "lstm_multilayer",
              "nn.LSTM(5, 8, num_layers=2), seq-first, with initial states: x (L=6, N=3, 5), h0 and c0 "
              "(2, 3, 8) -> output (6, 3, 8), h_n, c_n (2, 3, 8). Batch axis dynamic.",
              model, [("x", x), ("h0", h0), ("c0", c0)], ["output", "h_n", "c_n"],
              {"x": batch1, "h0": batch1, "c0": batch1, "output": batch1, "h_n": batch1, "c_n": batch1})


def make_lstm_bidir(out):
    rng = seeded(9)
    model = LstmBidir()
    x = torch.from_numpy(rng.standard_normal((7, 2, 5)).astype(np.float32))
    batch1 = {1: "batch"}
    onnx_case(out, "lstm_bidir",
              "nn.LSTM(5, 8, bidirectional=True), seq-first: x (L=7, N=2, 5) -> output (7, 2, 16) "
              "(forward then backward features; ONNX's Y (L, 2, N, 8) goes through Transpose + Reshape), "
              "h_n, c_n (2, 2, 8). Batch axis dynamic.",
              model, [("x", x)], ["output", "h_n", "c_n"],
              {"x": batch1, "output": batch1, "h_n": batch1, "c_n": batch1})


# ── j. reduce-max pooling over time and a PReLU head (issue 17) ─────────────────────────────────

class MaxPoolGru(nn.Module):
    """Max-pooling over time: fc(out.max(dim=1).values), and the pooled values with keepdim."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(5, 12, batch_first=True)
        self.fc = nn.Linear(12, 3)

    def forward(self, x):
        out, _ = self.gru(x)
        pooled = out.max(dim=1).values                 # (N, 12)
        return self.fc(pooled), out.max(dim=1, keepdim=True).values  # (N, 3), (N, 1, 12)


def make_max_pool_gru(out):
    rng = seeded(15)
    model = MaxPoolGru()
    x = torch.from_numpy(rng.standard_normal((4, 9, 5)).astype(np.float32))
    batch0 = {0: "batch"}
    folder, _ = onnx_case(out, "max_pool_gru",
                          "nn.GRU(5, 12, batch_first=True), max over time (out.max(dim=1).values, exported as "
                          "ReduceMax with attribute axes), Linear(12, 3); also the pooled values with keepdim. "
                          "model_opset18.onnx is the opset-17 export with ReduceMax rewritten to opset 18 (axes as an "
                          "input), same outputs. Batch axis dynamic.",
                          model, [("x", x)], ["y", "pooled"],
                          {"x": batch0, "y": batch0, "pooled": batch0}, opsets=(13, 17))
    # torch 1.13 exports up to opset 17; opset 18 moved ReduceMax's axes from an attribute to an input.
    proto = onnx.load(os.path.join(folder, "model_opset17.onnx"))
    reduce_max = [n for n in proto.graph.node if n.op_type == "ReduceMax"]
    assert len(reduce_max) == 2, [n.op_type for n in proto.graph.node]
    for i, node in enumerate(reduce_max):
        axes = [a for a in node.attribute if a.name == "axes"][0]
        name = f"reduce_max_axes_{i}"
        proto.graph.initializer.append(onnx.helper.make_tensor(name, onnx.TensorProto.INT64, [len(axes.ints)], list(axes.ints)))
        node.input.append(name)
        node.attribute.remove(axes)
    for imp in proto.opset_import:
        if imp.domain in ("", "ai.onnx"):
            imp.version = 18
    with open(os.path.join(folder, "model_opset18.onnx"), "wb") as f:
        f.write(proto.SerializeToString())
    with open(os.path.join(folder, "case.json")) as f:
        case = json.load(f)
    case["models"].append({"file": "model_opset18.onnx", "opset": 18, "onnx_ops": case["models"][-1]["onnx_ops"]})
    write_case(folder, case)


class PReluHead(nn.Module):
    """LSTM -> last step -> Linear -> PReLU(6) -> Linear; and PReLU(8) over the (N, C, L) sequence, PReLU() on it."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 8, batch_first=True)
        self.fc1 = nn.Linear(8, 6)
        self.act = nn.PReLU(6)
        self.fc2 = nn.Linear(6, 2)
        self.act_channels = nn.PReLU(8)
        self.act_one = nn.PReLU(init=0.1)
        with torch.no_grad():  # distinct slopes (the default is 0.25 for all), some negative
            self.act.weight.uniform_(-0.5, 0.8)
            self.act_channels.weight.uniform_(-0.5, 0.8)

    def forward(self, x):
        out, _ = self.lstm(x)
        y = self.fc2(self.act(self.fc1(out[:, -1])))
        seq = self.act_one(self.act_channels(out.transpose(1, 2)))  # (N, 8, L): one slope per channel (axis 1)
        return y, seq


def make_prelu_head(out):
    rng = seeded(16)
    model = PReluHead()
    x = torch.from_numpy(rng.standard_normal((3, 6, 4)).astype(np.float32))
    batch0 = {0: "batch"}
    onnx_case(out, "prelu_head",
              "nn.LSTM(4, 8, batch_first=True) -> out[:, -1] -> Linear(8, 6) -> nn.PReLU(6) -> Linear(6, 2); and "
              "nn.PReLU() (one slope, 0.1) after nn.PReLU(8) over out.transpose(1, 2) (N, 8, L). Slopes uniform in "
              "[-0.5, 0.8]. Batch axis dynamic.",
              model, [("x", x)], ["y", "seq"], {"x": batch0, "y": batch0, "seq": batch0})


MAKERS = [make_seed_gru, make_gru2_batchfirst, make_forecaster, make_dual_encoder, make_char_lstm,
          make_local_linear, make_stack, make_lstm_multilayer, make_lstm_bidir, make_dual_encoder_vocab,
          make_max_pool_gru, make_prelu_head]


def digest(root):
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for f in sorted(filenames):
            p = os.path.join(dirpath, f)
            h.update(os.path.relpath(p, root).encode())
            with open(p, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: Runtime.Tests/Fixtures/models)")
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)  # deterministic reductions, and the machine is shared
    for make in MAKERS:
        make(out)
    total = 0
    for name in sorted(os.listdir(out)):
        folder = os.path.join(out, name)
        if not os.path.isdir(folder):
            continue
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        total += size
        print(f"{name:18s} {size / 1024:9.1f} KiB")
    print(f"{'total':18s} {total / 1024:9.1f} KiB")
    print(f"sha256 {digest(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
