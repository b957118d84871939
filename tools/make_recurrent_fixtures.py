#!/usr/bin/python3
"""Make the golden fixtures of the fp32 Lstm/Gru/Rnn layers: Runtime.Tests/Fixtures/recurrent/<case>/.

Run with Debian's interpreter (python3-torch 1.13, python3-onnx 1.12, numpy):

    /usr/bin/python3 tools/make_recurrent_fixtures.py

Each case directory holds case.json and .npy files:

    {"op": "Lstm" | "Gru" | "Rnn", "X": "X.npy", "Y": "Y.npy" | null,
     "layers": [{"attrs": {IR attributes}, "inputs": {"W": ..., "R": ..., "B": ..., "sequence_lens": ...,
                 "initial_h": ..., "initial_c": ..., "P": ...}, "outputs": {"Y_h": ..., "Y_c": ...}}]}

Weights are in the IR layout and gate order (LSTM i,f,g,o; GRU r,z,n; RNN one block; see Runtime/Ir/OpKind.cs);
expected outputs are in the IR layout of the layer's `layout` attribute. A multi-layer case is a chain
of layers: the test feeds layer k's Y, with its (dirs, H) axes merged into features, to layer k+1;
"Y" is the last layer's output.

Where the golden values come from:
  * nn.LSTM / nn.GRU / nn.RNN (tanh and relu; PyTorch's own kernels), incl. pack_padded_sequence for sequence_lens;
  * for what nn.LSTM/nn.GRU cannot do (other activations, peepholes, GRU linear_before_reset=0, clip,
    input_forget), `ref_lstm` / `ref_gru` below: explicit gate math in float64 torch ops. They are
    checked first against nn.LSTM/nn.GRU/nn.RNN (tanh, linear_before_reset=1, bidirectional, lengths) and
    against ONNX's own conformance outputs (peepholes, linear_before_reset=0);
  * ONNX's backend node tests (Debian libonnx-testdata): test_lstm_*, test_gru_*, test_rnn_*, test_simple_rnn_*, converted from
    ONNX gate order (LSTM i,o,f,c; GRU z,r,h) to the IR's.
"""

import json
import os
import shutil

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Runtime.Tests", "Fixtures", "recurrent")
ONNX_NODE_TESTS = "/usr/share/libonnx-testdata/data/node"


# ── writing ─────────────────────────────────────────────────────────────────────────────────────

def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def to_np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


class Case:
    def __init__(self, name, op):
        self.name = name
        self.dir = os.path.join(OUT, name)
        if os.path.isdir(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(self.dir)
        self.manifest = {"op": op, "X": None, "Y": None, "layers": []}

    def save(self, file, array, dtype=np.float32):
        np.save(os.path.join(self.dir, file), np.ascontiguousarray(np.asarray(array, dtype=dtype)))
        return file

    def x(self, x):
        self.manifest["X"] = self.save("X.npy", to_np(x))

    def y(self, y):
        self.manifest["Y"] = self.save("Y.npy", to_np(y))

    def layer(self, attrs, inputs, outputs):
        k = len(self.manifest["layers"])
        ins, outs = {}, {}
        for key, value in inputs.items():
            if value is None:
                continue
            dtype = np.int64 if key == "sequence_lens" else np.float32
            ins[key] = self.save(f"l{k}_{key}.npy", to_np(value), dtype)
        for key, value in outputs.items():
            outs[key] = self.save(f"l{k}_{key}.npy", to_np(value))
        self.manifest["layers"].append({"attrs": attrs, "inputs": ins, "outputs": outs})

    def close(self):
        with open(os.path.join(self.dir, "case.json"), "w") as f:
            json.dump(self.manifest, f, indent=1, sort_keys=True)
            f.write("\n")
        size = sum(os.path.getsize(os.path.join(self.dir, n)) for n in os.listdir(self.dir))
        print(f"{self.name:32s} {size / 1024:7.1f} KiB")


# ── IR <-> PyTorch layouts ──────────────────────────────────────────────────────────────────────

def torch_weights(module, layer, dirs):
    """W [dirs, G*H, I], R [dirs, G*H, H], B [dirs, 2*G*H] of one layer; PyTorch's gate orders are the IR's."""
    sd = {k: v.detach().numpy() for k, v in module.state_dict().items()}
    suffixes = [f"_l{layer}", f"_l{layer}_reverse"][:dirs]
    W = np.stack([sd["weight_ih" + s] for s in suffixes])
    R = np.stack([sd["weight_hh" + s] for s in suffixes])
    B = np.stack([np.concatenate([sd["bias_ih" + s], sd["bias_hh" + s]]) for s in suffixes])
    return W, R, B


def y_to_ir(out, dirs, batch_first):
    """PyTorch output (L, N, dirs*H) or (N, L, dirs*H) -> IR Y (L, dirs, N, H) or (N, L, dirs, H)."""
    out = to_np(out)
    a, b_, dh = out.shape
    y = out.reshape(a, b_, dirs, dh // dirs)
    return y if batch_first else y.transpose(0, 2, 1, 3)


def state_to_ir(state, layer, dirs, batch_first):
    """PyTorch h_n/c_n (layers*dirs, N, H) -> one layer's IR state (dirs, N, H) or (N, dirs, H)."""
    s = to_np(state)[layer * dirs:(layer + 1) * dirs]
    return s.transpose(1, 0, 2) if batch_first else s


def attrs_of(hidden, dirs, batch_first, **extra):
    a = {"hidden_size": hidden, "direction": "bidirectional" if dirs == 2 else "forward", "layout": 1 if batch_first else 0}
    a.update(extra)
    return a


# ── explicit references (float64) ───────────────────────────────────────────────────────────────

TAKES_ALPHA = {"HardSigmoid", "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "Affine", "Elu"}
TAKES_BETA = {"HardSigmoid", "ScaledTanh", "Affine"}
DEFAULTS = {"HardSigmoid": (0.2, 0.5), "LeakyRelu": (0.01, 0.0), "ThresholdedRelu": (1.0, 0.0),
            "ScaledTanh": (1.0, 1.0), "Affine": (1.0, 0.0), "Elu": (1.0, 0.0)}


def act_fn(name, a, b):
    return {
        "Sigmoid": torch.sigmoid,
        "Tanh": torch.tanh,
        "Relu": torch.relu,
        "HardSigmoid": lambda x: torch.clamp(a * x + b, 0.0, 1.0),
        "LeakyRelu": lambda x: F.leaky_relu(x, a),
        "ThresholdedRelu": lambda x: torch.where(x > a, x, torch.zeros_like(x)),
        "ScaledTanh": lambda x: a * torch.tanh(b * x),
        "Affine": lambda x: a * x + b,
        "Elu": lambda x: F.elu(x, a),
        "Softsign": F.softsign,
        "Softplus": F.softplus,
        "Linear": lambda x: x,
    }[name]


def resolve_activations(names, alphas, betas):
    """ONNX: activation_alpha/beta are consumed in order by the functions that take them."""
    alphas, betas = list(alphas or []), list(betas or [])
    fns = []
    for n in names:
        a, b = DEFAULTS.get(n, (0.0, 0.0))
        if n in TAKES_ALPHA and alphas:
            a = alphas.pop(0)
        if n in TAKES_BETA and betas:
            b = betas.pop(0)
        fns.append(act_fn(n, a, b))
    return fns


def _clip(v, clip):
    return torch.clamp(v, -clip, clip) if clip > 0 else v


def ref_recurrent(cell, gates, x, W, R, B, lens=None, h0=None, c0=None, P=None, direction="forward",
                  acts=None, alphas=None, betas=None, clip=0.0, input_forget=0, lbr=0):
    """x (L, N, I) seq-first, IR weights; returns Y (L, dirs, N, H), Y_h, Y_c (dirs, N, H)."""
    d64 = lambda a: torch.tensor(np.asarray(a), dtype=torch.float64)
    x, W, R = d64(x), d64(W), d64(R)
    L, N, _ = x.shape
    dirs = W.shape[0]
    H = R.shape[2]
    B = d64(B) if B is not None else torch.zeros(dirs, 2 * gates * H, dtype=torch.float64)
    lens = list(lens) if lens is not None else [L] * N
    per_dir = {"lstm": 3, "gru": 2, "rnn": 1}[cell]
    names = acts or {"lstm": ["Sigmoid", "Tanh", "Tanh"], "gru": ["Sigmoid", "Tanh"], "rnn": ["Tanh"]}[cell]
    if len(names) == per_dir and dirs == 2:
        names = names * 2
    fns = resolve_activations(names, alphas, betas)
    Y = torch.zeros(L, dirs, N, H, dtype=torch.float64)
    Yh = torch.zeros(dirs, N, H, dtype=torch.float64)
    Yc = torch.zeros(dirs, N, H, dtype=torch.float64)
    for d in range(dirs):
        reverse = direction == "reverse" or d == 1
        f = fns[per_dir * d]
        g = fns[per_dir * d + 1] if per_dir > 1 else None
        Wb, Rb = B[d, :gates * H], B[d, gates * H:]
        for b in range(N):
            h = d64(h0[d, b]) if h0 is not None else torch.zeros(H, dtype=torch.float64)
            c = d64(c0[d, b]) if c0 is not None else torch.zeros(H, dtype=torch.float64)
            n_steps = lens[b]
            for s in range(n_steps):
                t = n_steps - 1 - s if reverse else s
                xw = W[d] @ x[t, b] + Wb
                if cell == "lstm":
                    hfn = fns[per_dir * d + 2]
                    pre = xw + R[d] @ h + Rb
                    i, fg, gg, o = pre.split(H)
                    if P is not None:
                        p = d64(P[d])
                        i = i + p[:H] * c
                        fg = fg + p[H:2 * H] * c
                    i = f(_clip(i, clip))
                    fg = 1 - i if input_forget else f(_clip(fg, clip))
                    gg = g(_clip(gg, clip))
                    c = fg * c + i * gg
                    if P is not None:
                        o = o + d64(P[d])[2 * H:] * c
                    o = f(_clip(o, clip))
                    h = o * hfn(c)
                elif cell == "rnn":
                    h = f(_clip(xw + R[d] @ h + Rb, clip))
                else:
                    xr, xz, xn = xw.split(H)
                    Rr, Rz, Rn = R[d].split(H)
                    br, bz, bn = Rb.split(H)
                    r = f(_clip(xr + Rr @ h + br, clip))
                    z = f(_clip(xz + Rz @ h + bz, clip))
                    if lbr:
                        n = g(_clip(xn + r * (Rn @ h + bn), clip))
                    else:
                        n = g(_clip(xn + Rn @ (r * h) + bn, clip))
                    h = (1 - z) * n + z * h
                Y[t, d, b] = h
            Yh[d, b] = h
            Yc[d, b] = c
    return Y.numpy(), Yh.numpy(), Yc.numpy()


def ref_lstm(x, W, R, B, **kw):
    return ref_recurrent("lstm", 4, x, W, R, B, **kw)


def ref_gru(x, W, R, B, **kw):
    return ref_recurrent("gru", 3, x, W, R, B, **kw)


def ref_rnn(x, W, R, B, **kw):
    return ref_recurrent("rnn", 1, x, W, R, B, **kw)


def assert_close(name, got, want, tol=1e-5):
    err = np.max(np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))) if np.size(want) else 0.0
    assert err <= tol, f"self-check {name}: max abs error {err}"


# ── PyTorch module cases ────────────────────────────────────────────────────────────────────────

def module_case(name, module, x, lens=None, h0=None, c0=None):
    """Runs an nn.LSTM/nn.GRU/nn.RNN (eval, no grad), writes the IR layers and PyTorch's outputs."""
    is_lstm = isinstance(module, nn.LSTM)
    is_rnn = isinstance(module, nn.RNN)
    rnn_acts = ["Relu" if module.nonlinearity == "relu" else "Tanh"] if is_rnn else None
    module.eval()
    dirs = 2 if module.bidirectional else 1
    bf = module.batch_first
    H = module.hidden_size
    L = x.shape[1] if bf else x.shape[0]
    with torch.no_grad():
        state = None
        if h0 is not None:
            state = (h0, c0) if is_lstm else h0
        if lens is not None:
            packed = pack_padded_sequence(x, torch.tensor(lens), batch_first=bf, enforce_sorted=False)
            out, hs = module(packed, state)
            out, _ = pad_packed_sequence(out, batch_first=bf, total_length=L)
        else:
            out, hs = module(x, state)
    hn, cn = hs if is_lstm else (hs, None)

    case = Case(name, "Lstm" if is_lstm else "Rnn" if is_rnn else "Gru")
    case.x(x)
    x_layer = x.numpy() if not bf else x.numpy().transpose(1, 0, 2)  # seq-first, for the self-check
    for k in range(module.num_layers):
        W, R, B = torch_weights(module, k, dirs)
        inputs = {"W": W, "R": R, "B": B, "sequence_lens": lens}
        if h0 is not None:
            inputs["initial_h"] = state_to_ir(h0, k, dirs, bf)
            if is_lstm:
                inputs["initial_c"] = state_to_ir(c0, k, dirs, bf)
        outputs = {"Y_h": state_to_ir(hn, k, dirs, bf)}
        if is_lstm:
            outputs["Y_c"] = state_to_ir(cn, k, dirs, bf)
        if is_lstm:
            attrs = attrs_of(H, dirs, bf)
        elif is_rnn:
            attrs = attrs_of(H, dirs, bf, activations=rnn_acts)
        else:
            attrs = attrs_of(H, dirs, bf, linear_before_reset=1)
        case.layer(attrs, inputs, outputs)

        # Self-check of the explicit reference against PyTorch, layer by layer (states).
        h0k = None if h0 is None else to_np(h0)[k * dirs:(k + 1) * dirs]
        c0k = None if c0 is None else to_np(c0)[k * dirs:(k + 1) * dirs]
        if is_lstm:
            Yr, Yhr, Ycr = ref_lstm(x_layer, W, R, B, lens=lens, h0=h0k, c0=c0k,
                                    direction="bidirectional" if dirs == 2 else "forward")
            assert_close(f"{name} layer {k} c_n", Ycr, to_np(cn)[k * dirs:(k + 1) * dirs])
        elif is_rnn:
            Yr, Yhr, _ = ref_rnn(x_layer, W, R, B, lens=lens, h0=h0k, acts=rnn_acts,
                                 direction="bidirectional" if dirs == 2 else "forward")
        else:
            Yr, Yhr, _ = ref_gru(x_layer, W, R, B, lens=lens, h0=h0k, lbr=1,
                                 direction="bidirectional" if dirs == 2 else "forward")
        assert_close(f"{name} layer {k} h_n", Yhr, to_np(hn)[k * dirs:(k + 1) * dirs])
        x_layer = Yr.transpose(0, 2, 1, 3).reshape(Yr.shape[0], Yr.shape[2], -1)
    y_ir = y_to_ir(out, dirs, bf)
    assert_close(f"{name} Y", x_layer, to_np(out) if not bf else to_np(out).transpose(1, 0, 2))
    case.y(y_ir)
    case.close()


def torch_cases():
    # The seed's model: nn.GRU(96, 96, bias=True), input (L, N, 96) seq-first (L shortened to 20).
    torch.manual_seed(0)
    module_case("gru_seed_96", nn.GRU(96, 96, bias=True), torch.randn(20, 8, 96))

    torch.manual_seed(1)
    module_case("gru_2layer_batch_first", nn.GRU(5, 7, num_layers=2, batch_first=True), torch.randn(3, 6, 5))

    torch.manual_seed(2)
    module_case("lstm_bidirectional", nn.LSTM(4, 6, bidirectional=True), torch.randn(5, 3, 4))

    torch.manual_seed(3)
    m = nn.LSTM(3, 5, batch_first=True)
    module_case("lstm_initial_state", m, torch.randn(2, 4, 3), h0=torch.randn(1, 2, 5), c0=torch.randn(1, 2, 5))

    torch.manual_seed(4)
    module_case("lstm_3layer_batch_first", nn.LSTM(4, 5, num_layers=3, batch_first=True), torch.randn(2, 6, 4))

    torch.manual_seed(5)
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    module_case("lstm_2layer_bidirectional_state", m, torch.randn(5, 2, 3),
                h0=torch.randn(4, 2, 4), c0=torch.randn(4, 2, 4))

    torch.manual_seed(6)
    module_case("lstm_seq_lens_bidirectional", nn.LSTM(3, 4, bidirectional=True), torch.randn(6, 4, 3), lens=[6, 3, 1, 4])

    torch.manual_seed(7)
    m = nn.GRU(3, 5, bidirectional=True, batch_first=True)
    module_case("gru_seq_lens_bidirectional_batch_first", m, torch.randn(4, 5, 3), lens=[2, 5, 3, 1],
                h0=torch.randn(2, 4, 5))

    rnn_module_cases()


def rnn_module_cases():
    # nn.RNN: tanh and relu, 1-2 layers, bidirectional, batch first, lengths and initial state.
    torch.manual_seed(20)
    module_case("rnn_tanh", nn.RNN(4, 6), torch.randn(7, 3, 4))
    torch.manual_seed(21)
    module_case("rnn_relu_2layer_batch_first", nn.RNN(5, 7, num_layers=2, nonlinearity="relu", batch_first=True),
                torch.randn(3, 6, 5))
    torch.manual_seed(22)
    module_case("rnn_tanh_bidirectional_2layer_state", nn.RNN(3, 5, num_layers=2, bidirectional=True), torch.randn(5, 2, 3),
                h0=torch.randn(4, 2, 5))
    torch.manual_seed(23)
    module_case("rnn_relu_seq_lens_bidirectional_batch_first", nn.RNN(3, 4, nonlinearity="relu", bidirectional=True, batch_first=True),
                torch.randn(4, 5, 3), lens=[5, 2, 4, 1])


# ── explicit-reference cases ────────────────────────────────────────────────────────────────────

def ref_case(name, op, L, N, I, H, seed, dirs=1, batch_first=False, lens=None, initial=False, peepholes=False,
             attrs=None):
    rng = np.random.RandomState(seed)
    gates = {"Lstm": 4, "Gru": 3, "Rnn": 1}[op]
    s = 1.0 / np.sqrt(H)
    W = f32(rng.uniform(-s, s, (dirs, gates * H, I)))
    R = f32(rng.uniform(-s, s, (dirs, gates * H, H)))
    B = f32(rng.uniform(-s, s, (dirs, 2 * gates * H)))
    P = f32(rng.uniform(-0.5, 0.5, (dirs, 3 * H))) if peepholes else None
    x = f32(rng.randn(L, N, I))
    h0 = f32(rng.randn(dirs, N, H) * 0.5) if initial else None
    c0 = f32(rng.randn(dirs, N, H) * 0.5) if initial and op == "Lstm" else None
    attrs = dict(attrs or {})
    direction = attrs.get("direction", "bidirectional" if dirs == 2 else "forward")
    kw = dict(lens=lens, h0=h0, direction=direction, acts=attrs.get("activations"), alphas=attrs.get("activation_alpha"),
              betas=attrs.get("activation_beta"), clip=attrs.get("clip", 0.0))
    if op == "Lstm":
        Y, Yh, Yc = ref_lstm(x, W, R, B, c0=c0, P=P, input_forget=attrs.get("input_forget", 0), **kw)
    elif op == "Rnn":
        Y, Yh, Yc = ref_rnn(x, W, R, B, **kw)
    else:
        Y, Yh, Yc = ref_gru(x, W, R, B, lbr=attrs.get("linear_before_reset", 0), **kw)

    full = {"hidden_size": H, "direction": direction, "layout": 1 if batch_first else 0}
    full.update(attrs)
    case = Case(name, op)
    # Seq-first reference; batch-first cases swap X, Y and the states into layout 1.
    sw = (lambda a: None if a is None else a.transpose(1, 0, 2)) if batch_first else (lambda a: a)
    case.x(sw(x))
    inputs = {"W": W, "R": R, "B": B, "sequence_lens": lens, "initial_h": sw(h0), "initial_c": sw(c0), "P": P}
    outputs = {"Y_h": sw(Yh)}
    if op == "Lstm":
        outputs["Y_c"] = sw(Yc)
    case.layer(full, inputs, outputs)
    case.y(Y.transpose(2, 0, 1, 3) if batch_first else Y)
    case.close()


def reference_cases():
    # LSTM with relu as cell and output activation (Keras LSTM(activation="relu")).
    ref_case("lstm_relu", "Lstm", L=6, N=3, I=4, H=5, seed=10,
             attrs={"activations": ["Sigmoid", "Relu", "Relu"]})
    # GRU linear_before_reset = 0 (ONNX default, Keras reset_after=False), bidirectional with state.
    ref_case("gru_reset_before_linear", "Gru", L=5, N=3, I=4, H=6, seed=11, dirs=2, initial=True,
             attrs={"linear_before_reset": 0})
    # Peepholes with initial state, batch first.
    ref_case("lstm_peepholes", "Lstm", L=5, N=2, I=3, H=4, seed=12, batch_first=True, initial=True, peepholes=True)
    # Parameterised activations (alpha/beta consumed in order), clip, input_forget, reverse, lengths.
    ref_case("lstm_hardsigmoid_clip_input_forget_reverse", "Lstm", L=6, N=3, I=3, H=4, seed=13, lens=[6, 2, 4],
             initial=True, peepholes=True,
             attrs={"direction": "reverse", "activations": ["HardSigmoid", "ScaledTanh", "Softsign"],
                    "activation_alpha": [0.3, 0.8], "activation_beta": [0.45, 1.3], "clip": 0.7, "input_forget": 1})
    # Different activations per direction, clip, GRU reset-before-linear with lengths, batch first.
    ref_case("gru_activations_per_direction", "Gru", L=5, N=3, I=2, H=3, seed=14, dirs=2, batch_first=True,
             lens=[5, 1, 3], initial=True,
             attrs={"activations": ["Sigmoid", "Tanh", "HardSigmoid", "Elu"], "activation_alpha": [0.25, 0.9],
                    "activation_beta": [0.55], "clip": 1.5, "linear_before_reset": 0})
    ref_case("lstm_more_activations", "Lstm", L=4, N=2, I=3, H=3, seed=15, dirs=2,
             attrs={"activations": ["Affine", "LeakyRelu", "Softplus", "Sigmoid", "ThresholdedRelu", "Linear"],
                    "activation_alpha": [0.5, 0.1, 0.2], "activation_beta": [0.3]})
    rnn_reference_cases()


def rnn_reference_cases():
    # What nn.RNN cannot do: Keras SimpleRNN's linear/sigmoid, activations per direction, clip, reverse.
    ref_case("rnn_linear_reverse_lengths", "Rnn", L=6, N=3, I=3, H=4, seed=30, lens=[6, 2, 4], initial=True,
             attrs={"direction": "reverse", "activations": ["Linear"]})
    ref_case("rnn_activations_per_direction_clip", "Rnn", L=5, N=2, I=4, H=3, seed=31, dirs=2, batch_first=True,
             initial=True, attrs={"activations": ["Sigmoid", "LeakyRelu"], "activation_alpha": [0.2], "clip": 0.8})


# ── ONNX conformance cases ──────────────────────────────────────────────────────────────────────

def reorder(a, axis, order, parts):
    blocks = np.split(a, parts, axis=axis)
    return np.concatenate([blocks[i] for i in order], axis=axis)


def onnx_cases():
    for test in sorted(os.listdir(ONNX_NODE_TESTS)):
        if not test.startswith(("test_lstm_", "test_gru_", "test_rnn_", "test_simple_rnn_")):
            continue
        model = onnx.load(os.path.join(ONNX_NODE_TESTS, test, "model.onnx"))
        node = model.graph.node[0]
        data = os.path.join(ONNX_NODE_TESTS, test, "test_data_set_0")

        def load(prefix, i):
            t = onnx.TensorProto()
            with open(os.path.join(data, f"{prefix}_{i}.pb"), "rb") as f:
                t.ParseFromString(f.read())
            return numpy_helper.to_array(t)

        names = [i.name for i in model.graph.input]
        values = {n: load("input", i) for i, n in enumerate(names)}
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        attrs = {k: (v.decode() if isinstance(v, bytes) else [s.decode() for s in v] if k == "activations" else v)
                 for k, v in attrs.items()}
        lstm = node.op_type == "LSTM"
        rnn = node.op_type == "RNN"
        g = 4 if lstm else 1 if rnn else 3
        # ONNX gate order -> IR: LSTM i,o,f,c -> i,f,g(c),o; GRU z,r,h -> r,z,n; peepholes i,o,f -> i,f,o; RNN one block.
        order = [0, 2, 3, 1] if lstm else [0] if rnn else [1, 0, 2]
        ins = {}
        for slot, key in enumerate(["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]):
            if slot < len(node.input) and node.input[slot]:
                ins[key] = values[node.input[slot]]
        ins["W"] = reorder(ins["W"], 1, order, g)
        ins["R"] = reorder(ins["R"], 1, order, g)
        if "B" in ins:
            wb, rb = np.split(ins["B"], 2, axis=1)
            ins["B"] = np.concatenate([reorder(wb, 1, order, g), reorder(rb, 1, order, g)], axis=1)
        if "P" in ins:
            ins["P"] = reorder(ins["P"], 1, [0, 2, 1], 3)
        outs = {}
        for i, name in enumerate(o for o in node.output if o):
            slot = list(node.output).index(name)
            outs[["Y", "Y_h", "Y_c"][slot]] = load("output", i)

        # Self-check of the explicit reference against ONNX's numbers (peepholes, linear_before_reset=0).
        bf = attrs.get("layout", 0) == 1
        x_sf = ins["X"].transpose(1, 0, 2) if bf else ins["X"]
        sf = (lambda a: None if a is None else a.transpose(1, 0, 2)) if bf else (lambda a: a)
        kw = dict(lens=ins.get("sequence_lens"), h0=sf(ins.get("initial_h")), clip=attrs.get("clip", 0.0))
        if lstm:
            Y, Yh, _ = ref_lstm(x_sf, ins["W"], ins["R"], ins.get("B"), c0=sf(ins.get("initial_c")), P=ins.get("P"), **kw)
        elif rnn:
            Y, Yh, _ = ref_rnn(x_sf, ins["W"], ins["R"], ins.get("B"), acts=attrs.get("activations"), **kw)
        else:
            Y, Yh, _ = ref_gru(x_sf, ins["W"], ins["R"], ins.get("B"), lbr=attrs.get("linear_before_reset", 0), **kw)
        assert_close(f"{test} Y_h", sf(Yh), outs["Y_h"])
        if "Y" in outs:
            assert_close(f"{test} Y", Y.transpose(2, 0, 1, 3) if bf else Y, outs["Y"])

        case = Case("onnx_" + test[len("test_"):], "Lstm" if lstm else "Rnn" if rnn else "Gru")
        case.x(ins.pop("X"))
        if "Y" in outs:
            case.y(outs.pop("Y"))
        case.layer(attrs, ins, outs)
        case.close()


if __name__ == "__main__":
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    torch_cases()
    reference_cases()
    onnx_cases()
