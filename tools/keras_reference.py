#!/usr/bin/python3
"""A numpy implementation of Keras inference semantics: the independent reference for Edge's Keras importer.

    /usr/bin/python3 tools/keras_reference.py              # writes in_*.npy, out_*.npy, case.json under Runtime.Tests/Fixtures/keras/<case>/
    /usr/bin/python3 tools/keras_reference.py --self-check # also checks the numpy cells against PyTorch (python3-torch)

Keras and TensorFlow are not installable here. This script reads the model files with h5py and zipfile (it shares no
code with Edge's reader) and runs the layers in float64 exactly as Keras defines them, in Keras's own layouts and gate
orders (LSTM i,f,c,o; GRU z,r,h; Conv1D channels last, kernel (K, C_in, F)), never Edge's.

Models: the real ones in ../shared/models (see its README) and the synthetic files of tools/make_keras_fixtures.py
(run that first). Inputs: for the air-sensor models, the real rows of airsensor_feeds.csv (field1..field5) MinMax-scaled
with min/max over the whole log as their author's training script does, one window of length 1 per row; otherwise
seeded random values.
"""
import argparse
import csv
import io
import json
import os
import zipfile

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Runtime.Tests", "Fixtures", "keras")
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "models"))


# ── reading model files ────────────────────────────────────────────────────────────────────────

def _s(v):
    return v.decode("utf8") if isinstance(v, bytes) else str(v)


def load(path):
    """Returns (config dict, keras major version, {layer name: [weights in Keras order]})."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
            version = json.loads(z.read("metadata.json"))["keras_version"]
            weights = _keras3_weights(h5py.File(io.BytesIO(z.read("model.weights.h5")), "r"))
    else:
        with h5py.File(path, "r") as f:
            config = json.loads(_s(f.attrs["model_config"]))
            version = _s(f.attrs["keras_version"])
            g = f["model_weights"]
            weights = {}
            for lname in [_s(n) for n in g.attrs["layer_names"]]:
                lg = g[lname]
                names = [_s(w) for w in lg.attrs["weight_names"]]
                weights[lname] = Weights([np.array(lg[w], dtype=np.float64) for w in names], names)
    return config, int(version.split(".")[0]), weights


def _keras3_weights(f):
    """.keras: groups layers/<class-derived key>; the vars group's 'name' attribute is the configured layer name."""
    def collect(g, path):
        out = []
        if "vars" in g:
            v = g["vars"]
            out += [(f"{path}/vars/{k}", np.array(v[k], dtype=np.float64)) for k in sorted(v.keys(), key=int)]
        for k in sorted(g.keys()):
            if k != "vars" and isinstance(g[k], h5py.Group):
                out += collect(g[k], f"{path}/{k}")
        return out
    weights = {}
    for key in f["layers"]:
        g = f["layers"][key]
        pairs = collect(g, key)
        weights[_s(g["vars"].attrs["name"])] = Weights([a for _, a in pairs], [n for n, _ in pairs])
    return weights


class Weights(list):
    """A layer's arrays in file order, with their paths (Bidirectional tells its halves apart by path)."""
    def __init__(self, arrays, names):
        super().__init__(arrays)
        self.names = names

    def part(self, word):
        return [a for a, n in zip(self, self.names) if word in n]


# ── Keras semantics ────────────────────────────────────────────────────────────────────────────

def activation(name, k):
    if isinstance(name, dict):
        name = name.get("config", name.get("class_name"))
    if name in (None, "linear"):
        return lambda x: x
    if name == "tanh":
        return np.tanh
    if name == "sigmoid":
        return lambda x: 1.0 / (1.0 + np.exp(-x))
    if name == "relu":
        return lambda x: np.maximum(x, 0.0)
    if name == "elu":
        return lambda x: np.where(x > 0, x, np.exp(np.minimum(x, 0)) - 1.0)
    if name == "softmax":
        def softmax(x):
            e = np.exp(x - x.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
        return softmax
    if name == "hard_sigmoid":
        if k >= 3:  # keras.ops.hard_sigmoid: relu6(x + 3) / 6
            return lambda x: np.minimum(np.maximum(x + 3.0, 0.0), 6.0) / 6.0
        return lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0)  # tf.keras.backend.hard_sigmoid
    raise ValueError(f"activation {name!r} not in the reference")


def lstm(cfg, w, x, k):
    u = cfg["units"]
    kernel, rec = w[0], w[1]
    bias = w[2] if cfg.get("use_bias", True) else np.zeros(4 * u)
    act, ract = activation(cfg["activation"], k), activation(cfg["recurrent_activation"], k)
    n, T, _ = x.shape
    h, c = np.zeros((n, u)), np.zeros((n, u))
    steps = range(T - 1, -1, -1) if cfg.get("go_backwards") else range(T)
    ys = []
    for t in steps:
        z = x[:, t] @ kernel + h @ rec + bias
        i, f, g, o = ract(z[:, :u]), ract(z[:, u:2 * u]), act(z[:, 2 * u:3 * u]), ract(z[:, 3 * u:])
        c = f * c + i * g
        h = o * act(c)
        ys.append(h)
    out = np.stack(ys, 1) if cfg.get("return_sequences") else h
    return [out, h, c] if cfg.get("return_state") else [out]


def gru(cfg, w, x, k):
    u = cfg["units"]
    kernel, rec = w[0], w[1]
    reset_after = cfg.get("reset_after", True)
    if cfg.get("use_bias", True):
        b = w[2]
        b_in, b_rec = (b[0], b[1]) if reset_after else (b, np.zeros(3 * u))
    else:
        b_in, b_rec = np.zeros(3 * u), np.zeros(3 * u)
    act, ract = activation(cfg["activation"], k), activation(cfg["recurrent_activation"], k)
    n, T, _ = x.shape
    h = np.zeros((n, u))
    steps = range(T - 1, -1, -1) if cfg.get("go_backwards") else range(T)
    ys = []
    for t in steps:
        xm = x[:, t] @ kernel + b_in  # columns z | r | h
        if reset_after:
            hm = h @ rec + b_rec
            z = ract(xm[:, :u] + hm[:, :u])
            r = ract(xm[:, u:2 * u] + hm[:, u:2 * u])
            hh = act(xm[:, 2 * u:] + r * hm[:, 2 * u:])
        else:
            z = ract(xm[:, :u] + h @ rec[:, :u])
            r = ract(xm[:, u:2 * u] + h @ rec[:, u:2 * u])
            hh = act(xm[:, 2 * u:] + (r * h) @ rec[:, 2 * u:])
        h = z * h + (1.0 - z) * hh
        ys.append(h)
    out = np.stack(ys, 1) if cfg.get("return_sequences") else h
    return [out, h] if cfg.get("return_state") else [out]


def lstm_keras1(cfg, w, x, k):
    """Keras 1.x LSTM with separate per-gate weights W_i, U_i, b_i, W_c, U_c, b_c, W_f, U_f, b_f, W_o, U_o, b_o."""
    u = cfg["output_dim"]
    W_, U_, b_ = {}, {}, {}
    for j, gate in enumerate("icfo"):
        W_[gate], U_[gate], b_[gate] = w[3 * j], w[3 * j + 1], w[3 * j + 2]
    act, inner = activation(cfg["activation"], k), activation(cfg["inner_activation"], k)
    n, T, _ = x.shape
    h, c = np.zeros((n, u)), np.zeros((n, u))
    ys = []
    for t in (range(T - 1, -1, -1) if cfg.get("go_backwards") else range(T)):
        xt = x[:, t]
        i = inner(xt @ W_["i"] + h @ U_["i"] + b_["i"])
        f = inner(xt @ W_["f"] + h @ U_["f"] + b_["f"])
        c = f * c + i * act(xt @ W_["c"] + h @ U_["c"] + b_["c"])
        o = inner(xt @ W_["o"] + h @ U_["o"] + b_["o"])
        h = o * act(c)
        ys.append(h)
    return [np.stack(ys, 1) if cfg.get("return_sequences") else h]


def gru_keras1(cfg, w, x, k):
    """Keras 1.x GRU, weights W_z, U_z, b_z, W_r, U_r, b_r, W_h, U_h, b_h; the reset gate applies before U_h."""
    u = cfg["output_dim"]
    (Wz, Uz, bz), (Wr, Ur, br), (Wh, Uh, bh) = w[0:3], w[3:6], w[6:9]
    act, inner = activation(cfg["activation"], k), activation(cfg["inner_activation"], k)
    n, T, _ = x.shape
    h = np.zeros((n, u))
    ys = []
    for t in (range(T - 1, -1, -1) if cfg.get("go_backwards") else range(T)):
        xt = x[:, t]
        z = inner(xt @ Wz + h @ Uz + bz)
        r = inner(xt @ Wr + h @ Ur + br)
        hh = act(xt @ Wh + (r * h) @ Uh + bh)
        h = z * h + (1 - z) * hh
        ys.append(h)
    return [np.stack(ys, 1) if cfg.get("return_sequences") else h]


def conv1d_keras1(cfg, w, x, k):
    """Keras 1.x Convolution1D: W (filter_length, 1, input_dim, nb_filter), border_mode, subsample_length."""
    c2 = {"padding": cfg["border_mode"], "strides": cfg.get("subsample_length", 1), "dilation_rate": 1,
          "use_bias": cfg.get("bias", True), "activation": cfg.get("activation")}
    return conv1d(c2, [w[0][:, 0]] + list(w[1:]), x, k)


def _last_axis(cfg, x):
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) else axis
    assert axis in (-1, x.ndim - 1), axis
    return -1


def batch_norm(cfg, w, x, k):
    """Inference: (x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta; weights in Keras order
    gamma (scale=True), beta (center=True), moving_mean, moving_variance."""
    _last_axis(cfg, x)
    w = list(w)
    gamma = w.pop(0) if cfg.get("scale", True) else 1.0
    beta = w.pop(0) if cfg.get("center", True) else 0.0
    mean, var = w
    return [(x - mean) / np.sqrt(var + cfg.get("epsilon", 1e-3)) * gamma + beta]


def layer_norm(cfg, w, x, k):
    _last_axis(cfg, x)
    w = list(w)
    gamma = w.pop(0) if cfg.get("scale", True) else 1.0
    beta = w.pop(0) if cfg.get("center", True) else 0.0
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return [(x - mean) / np.sqrt(var + cfg.get("epsilon", 1e-3)) * gamma + beta]


def merge(cls, xs):
    if cls == "Add":
        return [sum(xs[1:], xs[0])]
    if cls == "Subtract":
        a, b = xs
        return [a - b]
    if cls == "Multiply":
        y = xs[0]
        for v in xs[1:]:
            y = y * v
        return [y]
    if cls == "Average":
        return [sum(xs[1:], xs[0]) / len(xs)]
    if cls in ("Maximum", "Minimum"):
        f = np.maximum if cls == "Maximum" else np.minimum
        y = xs[0]
        for v in xs[1:]:
            y = f(y, v)
        return [y]
    raise ValueError(cls)


def bidirectional(cfg, w, x, k):
    """Keras's Bidirectional: forward layer, backward layer (go_backwards=True, its config or the forward one's),
    the backward sequence flipped back to input order, then merged; states forward then backward."""
    inner = cfg["layer"]
    back = cfg.get("backward_layer") or {"class_name": inner["class_name"], "config": dict(inner["config"], go_backwards=True)}
    fw, bw = w.part("forward"), w.part("backward")
    assert len(fw) == len(bw) == len(w) // 2, w.names
    run_one = {"LSTM": lstm, "GRU": gru}
    y = run_one[inner["class_name"]](inner["config"], fw, x, k)
    y_rev = run_one[back["class_name"]](dict(back["config"], go_backwards=True), bw, x, k)
    states = y[1:] + y_rev[1:]
    a, b = y[0], y_rev[0]
    if inner["config"].get("return_sequences"):
        b = b[:, ::-1]
    mode = cfg.get("merge_mode", "concat")
    if mode == "concat":
        out = [np.concatenate([a, b], -1)]
    elif mode == "sum":
        out = [a + b]
    elif mode == "ave":
        out = [(a + b) / 2]
    elif mode == "mul":
        out = [a * b]
    elif mode is None:
        out = [a, b]
    else:
        raise ValueError(mode)
    return out + states


def attention(cls, cfg, w, xs, k, call_kwargs):
    """Keras Attention (Luong: dot or concat scores) and AdditiveAttention (Bahdanau), inputs [query, value(, key)].
    Causal: tf.keras 2's config 'causal' or Keras 3's call argument use_causal_mask; masked scores get -1e9 before
    the softmax, as Keras does. Returns [output] or [output, attention scores] (return_attention_scores)."""
    q, v = xs[0], xs[1]
    key = xs[2] if len(xs) > 2 else v
    w = list(w)
    if cls == "Attention":
        scale = w.pop(0) if cfg.get("use_scale") else None
        if cfg.get("score_mode", "dot") == "dot":
            scores = q @ key.transpose(0, 2, 1)
            if scale is not None:
                scores = scores * scale
        else:
            concat_weight = w.pop(0)
            s = q[:, :, None, :] + key[:, None, :, :]
            if scale is not None:
                s = scale * s
            scores = concat_weight * np.tanh(s).sum(-1)
    else:
        scale = w.pop(0) if cfg.get("use_scale", True) else 1.0
        scores = (scale * np.tanh(q[:, :, None, :] + key[:, None, :, :])).sum(-1)
    if cfg.get("causal") or call_kwargs.get("use_causal_mask"):
        Tq, Tv = scores.shape[1:]
        allowed = np.arange(Tq)[:, None] >= np.arange(Tv)[None, :]
        scores = scores - 1e9 * (~allowed)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    weights = e / e.sum(-1, keepdims=True)
    out = [weights @ v]
    return out + [weights] if call_kwargs.get("return_attention_scores") else out
def simple_rnn(cfg, w, x, k):
    u = cfg["units"]
    kernel, rec = w[0], w[1]
    bias = w[2] if cfg.get("use_bias", True) else np.zeros(u)
    act = activation(cfg.get("activation", "tanh"), k)
    n, T, _ = x.shape
    h = np.zeros((n, u))
    steps = range(T - 1, -1, -1) if cfg.get("go_backwards") else range(T)
    ys = []
    for t in steps:
        h = act(x[:, t] @ kernel + bias + h @ rec)
        ys.append(h)
    out = np.stack(ys, 1) if cfg.get("return_sequences") else h
    return [out, h] if cfg.get("return_state") else [out]


def _one(v):
    return v[0] if isinstance(v, (list, tuple)) else v


def conv1d(cfg, w, x, k):
    kernel = w[0]  # (K, C_in / groups, F)
    K, _, F = kernel.shape
    s, d, groups = _one(cfg.get("strides", 1)), _one(cfg.get("dilation_rate", 1)), cfg.get("groups", 1)
    n, L, C = x.shape
    span = (K - 1) * d + 1
    pad = cfg["padding"]
    if pad == "valid":
        left, right = 0, 0
    elif pad == "causal":
        left, right = span - 1, 0
    elif pad == "same":  # TensorFlow SAME: out = ceil(L / s); the odd pad goes at the end
        out = -(-L // s)
        total = max((out - 1) * s + span - L, 0)
        left, right = total // 2, total - total // 2
    else:
        raise ValueError(pad)
    xp = np.concatenate([np.zeros((n, left, C)), x, np.zeros((n, right, C))], 1)
    Lout = (xp.shape[1] - span) // s + 1
    cg, fg = C // groups, F // groups
    y = np.zeros((n, Lout, F))
    for p in range(Lout):
        for g in range(groups):
            for t in range(K):
                y[:, p, g * fg:(g + 1) * fg] += xp[:, p * s + t * d, g * cg:(g + 1) * cg] @ kernel[t, :, g * fg:(g + 1) * fg]
    if cfg.get("use_bias", True):
        y += w[1]
    return [activation(cfg.get("activation"), k)(y)]


def locally_connected1d(cfg, w, x, k):
    kernel = w[0]  # implementation 1: (output_length, K * C, F)
    K, s = _one(cfg["kernel_size"]), _one(cfg["strides"])
    n, L, C = x.shape
    folds = (L - K) // s + 1
    assert kernel.shape[:2] == (folds, K * C), kernel.shape
    # keras local_conv: each output position multiplies inputs[:, p*s : p*s+K, :] flattened (row-major k, c).
    y = np.stack([x[:, p * s:p * s + K, :].reshape(n, K * C) @ kernel[p] for p in range(folds)], 1)
    if cfg.get("use_bias", True):
        y += w[1]
    return [activation(cfg.get("activation"), k)(y)]


def dense(cfg, w, x, k):
    y = x @ w[0]
    if cfg.get("use_bias", True):
        y = y + w[1]
    return [activation(cfg.get("activation"), k)(y)]


def dot(cfg, w, xs, k):
    a, b = xs
    axes = cfg["axes"]
    axes = axes if isinstance(axes, list) else [axes, axes]
    assert a.ndim == 2 and b.ndim == 2 and all(ax in (1, -1) for ax in axes)
    if cfg.get("normalize"):
        raise ValueError("normalize")
    return [np.sum(a * b, axis=1, keepdims=True)]


def prelu(cfg, w, x, k):
    """Keras PReLU: relu(x) - alpha * relu(-x), alpha (input shape without batch, 1 on shared_axes) broadcast."""
    alpha = w[0]
    return [np.maximum(x, 0) - alpha * np.maximum(-x, 0)]


def call(layer, w, xs, k, call_kwargs=None):
    cls, cfg = layer["class_name"], layer["config"]
    if cls in ("Attention", "AdditiveAttention"):
        return attention(cls, cfg, w, xs, k, call_kwargs or {})
    x = xs[0]
    if k == 1:  # Keras 1.x classes and weight layouts
        if cls == "LSTM" and len(w) == 12:
            return lstm_keras1(cfg, w, x, k)
        if cls == "GRU" and len(w) == 9:
            return gru_keras1(cfg, w, x, k)
        if cls == "Convolution1D":
            return conv1d_keras1(cfg, w, x, k)
        if cls == "Dense" and "output_dim" in cfg:
            return dense({"use_bias": cfg.get("bias", True), "activation": cfg.get("activation")}, w, x, k)
    if cls == "BatchNormalization":
        return batch_norm(cfg, w, x, k)
    if cls == "LayerNormalization":
        return layer_norm(cfg, w, x, k)
    if cls in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
        return merge(cls, xs)
    if cls == "Bidirectional":
        return bidirectional(cfg, w, x, k)
    if cls == "GlobalAveragePooling1D":
        return [x.mean(axis=2 if cfg.get("data_format") == "channels_first" else 1, keepdims=cfg.get("keepdims", False))]
    if cls == "GlobalMaxPooling1D":
        return [x.max(axis=2 if cfg.get("data_format") == "channels_first" else 1, keepdims=cfg.get("keepdims", False))]
    if cls == "Reshape":
        return [x.reshape((x.shape[0],) + tuple(cfg["target_shape"]))]
    if cls == "Permute":
        return [x.transpose([0] + list(cfg["dims"]))]
    if cls in ("LSTM",):
        return lstm(cfg, w, x, k)
    if cls == "GRU":
        return gru(cfg, w, x, k)
    if cls == "SimpleRNN":
        return simple_rnn(cfg, w, x, k)
    if cls == "Dense":
        return dense(cfg, w, x, k)
    if cls == "TimeDistributed":
        inner = cfg["layer"]
        assert inner["class_name"] == "Dense"
        return dense(inner["config"], w, x, k)
    if cls == "Conv1D":
        return conv1d(cfg, w, x, k)
    if cls == "LocallyConnected1D":
        return locally_connected1d(cfg, w, x, k)
    if cls == "RepeatVector":
        return [np.repeat(x[:, None, :], cfg["n"], axis=1)]
    if cls == "Flatten":
        return [x.reshape(x.shape[0], -1)]
    if cls == "Dropout":
        return [x]
    if cls == "Activation":
        return [activation(cfg["activation"], k)(x)]
    if cls == "Embedding":
        return [w[0][x.astype(np.int64)]]  # Keras casts float ids to int
    if cls == "Concatenate":
        return [np.concatenate(xs, axis=cfg.get("axis", -1))]
    if cls == "Dot":
        return dot(cfg, w, xs, k)
    if cls == "PReLU":
        return prelu(cfg, w, x, k)
    raise ValueError(f"layer {cls} not in the reference")


def _input_name(layer):
    return layer["config"]["name"]


def _refs(node):
    """Tensor references (layer, node_index, tensor_index) of one inbound node, Keras 2 or Keras 3 format."""
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        out = []

        def walk(a):
            if isinstance(a, dict) and a.get("class_name") == "__keras_tensor__":
                out.append(tuple(a["config"]["keras_history"]))
            elif isinstance(a, list):
                for b in a:
                    walk(b)
        walk(node["args"])
        return out
    return [(r[0], r[1], r[2]) for r in node]


def run(config, k, weights, inputs):
    """inputs: {input layer name: array}. Returns {output layer name: array}, as Keras's predict would."""
    # Keras 1.x and 2.0-2.2 wrote a Sequential config as the bare list of its layers.
    layers = config["config"] if isinstance(config["config"], list) else config["config"]["layers"]
    if config["class_name"] == "Sequential":
        x = None
        for layer in layers:
            if layer["class_name"] == "InputLayer":
                x = inputs[_input_name(layer)]
                continue
            if x is None:  # no InputLayer: Keras names the input '<first layer>_input'
                x = inputs[layer["config"]["name"] + "_input"]
            x = call(layer, weights.get(layer["config"]["name"], []), [x], k)[0]
        return {layers[-1]["config"]["name"]: x}
    values = {}
    for layer in layers:
        name = layer.get("name", layer["config"]["name"])
        if layer["class_name"] == "InputLayer":
            values[(name, 0, 0)] = inputs[name]
            continue
        for ni, node in enumerate(layer["inbound_nodes"]):
            xs = [values[r] for r in _refs(node)]
            kwargs = node.get("kwargs", {}) if isinstance(node, dict) else (node[0][3] if len(node[0]) > 3 else {})
            for ti, y in enumerate(call(layer, weights.get(name, []), xs, k, kwargs)):
                values[(name, ni, ti)] = y
    outs = config["config"]["output_layers"]
    if outs and not isinstance(outs[0], list):
        outs = [outs]
    # Named as Edge names graph outputs: the layer for its first call's first tensor, else "layer:node:tensor".
    return {(o[0] if (o[1], o[2]) == (0, 0) else f"{o[0]}:{o[1]}:{o[2]}"): values[(o[0], o[1], o[2])] for o in outs}


# ── cases ──────────────────────────────────────────────────────────────────────────────────────

def airsensor_windows():
    with open(os.path.join(SHARED, "airsensor_feeds.csv")) as f:
        rows = [[float(r[f"field{i}"]) for i in range(1, 6)] for r in csv.DictReader(f)]
    a = np.array(rows)
    lo, hi = a.min(0), a.max(0)
    scaled = (a - lo) / np.where(hi > lo, hi - lo, 1.0)  # sklearn MinMaxScaler fitted on the whole log
    return scaled[:, None, :].astype(np.float32)  # (rows, window 1, 5 fields)


def rnd(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


CASES = {
    # case: (model file, {input: array})
    "airsensor_gru_h5": (os.path.join(SHARED, "airsensor_gru.h5"), lambda: {"input_layer": airsensor_windows()}),
    "airsensor_gru_keras": (os.path.join(SHARED, "airsensor_gru.keras"), lambda: {"input_layer": airsensor_windows()}),
    "airquality_lstm_relu": (os.path.join(SHARED, "airquality_lstm_relu.h5"),
                             lambda: {"lstm_6_input": np.random.default_rng(1).uniform(0, 1, (4, 10, 13)).astype(np.float32)}),
    "conv_forecaster": ("model.h5", lambda: {"window": rnd(2, 3, 10, 3)}),
    "conv_causal_head": ("model.h5", lambda: {"signal": rnd(3, 4, 9, 3)}),
    "gru_reset_before": ("model.h5", lambda: {"x": rnd(4, 3, 7, 4)}),
    "locally_connected": ("model.h5", lambda: {"series": rnd(5, 3, 9, 3)}),
    "embedding_lstm": ("model.h5", lambda: {"embedding_input": np.random.default_rng(6).integers(0, 20, (4, 7)).astype(np.float32)}),
    "dual_encoder_k2": ("model.h5", lambda: {"context": rnd(7, 5, 6, 4), "response": rnd(8, 5, 5, 4)}),
    "dual_encoder_k3": ("model.keras", lambda: {"context": rnd(9, 5, 6, 4), "response": rnd(10, 5, 5, 4)}),
    "hard_sigmoid_k2": ("model.h5", lambda: {"x": rnd(11, 4, 5, 3) * 2}),
    "hard_sigmoid_k3": ("model.h5", lambda: {"x": rnd(11, 4, 5, 3) * 2}),
    "hard_sigmoid_k3_keras": ("model.keras", lambda: {"x": rnd(11, 4, 5, 3) * 2}),
    "lstm_relu": ("model.h5", lambda: {"x": np.random.default_rng(12).uniform(0, 1, (4, 10, 13)).astype(np.float32)}),
    "prelu": ("model.h5", lambda: {"x": rnd(13, 4, 6, 4) * 1.5}),
    "embedding_no_shape": ("model.h5", lambda: {"embedding_input": np.random.default_rng(24).integers(0, 20, (4, 9)).astype(np.float32)}),
    "global_max_pool": ("model.h5", lambda: {"x": rnd(23, 4, 6, 3)}),
    "keras22_sequential": ("model.h5", lambda: {"lstm_1_input": rnd(13, 4, 6, 3)}),
    "keras1_sequential": ("model.h5", lambda: {"convolution1d_1_input": rnd(14, 4, 7, 3)}),
    "normalization": ("model.h5", lambda: {"x": rnd(15, 4, 8, 3) * 1.5 + 0.5}),
    "merges": ("model.h5", lambda: {"a": rnd(16, 5, 4), "b": rnd(17, 5, 3)}),
    "bidirectional_k2": ("model.h5", lambda: {"x": rnd(18, 4, 6, 3)}),
    "bidirectional_k3": ("model.keras", lambda: {"x": rnd(19, 4, 5, 3)}),
    "pool_reshape": ("model.h5", lambda: {"x": rnd(20, 4, 6, 4)}),
    "attention_k2": ("model.h5", lambda: {"x": rnd(21, 4, 5, 3)}),
    "attention_k3": ("model.keras", lambda: {"x": rnd(22, 4, 4, 3)}),
    "simple_rnn": ("model.h5", lambda: {"x": rnd(13, 3, 8, 4)}),
}


def self_check():
    """The numpy cells against PyTorch's (weights converted to torch's layouts), so the reference has a reference."""
    import torch
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 4))
    u = 6
    # LSTM: Keras i,f,c,o is torch's i,f,g,o; kernel (I, 4u) is weight_ih transposed.
    w = [rng.standard_normal((4, 4 * u)) * 0.5, rng.standard_normal((u, 4 * u)) * 0.5, rng.standard_normal(4 * u) * 0.3]
    m = torch.nn.LSTM(4, u, batch_first=True)
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.tensor(w[0].T)); m.weight_hh_l0.copy_(torch.tensor(w[1].T))
        m.bias_ih_l0.copy_(torch.tensor(w[2])); m.bias_hh_l0.zero_()
        ref = m(torch.tensor(x))[0].numpy()
    mine = lstm({"units": u, "activation": "tanh", "recurrent_activation": "sigmoid", "return_sequences": True}, w, x, 2)[0]
    assert np.abs(mine - ref).max() < 1e-10, "LSTM"
    # GRU reset_after=True: Keras z,r,h -> torch r,z,n.
    w = [rng.standard_normal((4, 3 * u)) * 0.5, rng.standard_normal((u, 3 * u)) * 0.5, rng.standard_normal((2, 3 * u)) * 0.3]
    perm = lambda a: np.concatenate([a[..., u:2 * u], a[..., :u], a[..., 2 * u:]], -1)
    m = torch.nn.GRU(4, u, batch_first=True)
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.tensor(perm(w[0]).T)); m.weight_hh_l0.copy_(torch.tensor(perm(w[1]).T))
        m.bias_ih_l0.copy_(torch.tensor(perm(w[2][0]))); m.bias_hh_l0.copy_(torch.tensor(perm(w[2][1])))
        ref = m(torch.tensor(x))[0].numpy()
    mine = gru({"units": u, "activation": "tanh", "recurrent_activation": "sigmoid", "return_sequences": True, "reset_after": True}, w, x, 2)[0]
    assert np.abs(mine - ref).max() < 1e-10, "GRU"
    # Conv1D same / causal / strided valid against torch conv1d with explicit padding.
    kern = rng.standard_normal((4, 4, 3))
    for pad, s, d, (l, r) in [("same", 1, 1, (1, 2)), ("causal", 1, 2, (6, 0)), ("valid", 2, 1, (0, 0)), ("same", 2, 1, (1, 2))]:
        cfg = {"padding": pad, "strides": [s], "dilation_rate": [d], "use_bias": False}
        mine = conv1d(cfg, [kern], x, 2)[0]
        xt = torch.nn.functional.pad(torch.tensor(x).transpose(1, 2), (l, r))
        ref = torch.nn.functional.conv1d(xt, torch.tensor(kern).permute(2, 1, 0), stride=s, dilation=d).transpose(1, 2).numpy()
        assert mine.shape == ref.shape and np.abs(mine - ref).max() < 1e-10, f"Conv1D {pad} s{s} d{d}"
    # BatchNormalization (eval) and LayerNormalization against torch's functional forms.
    xn = rng.standard_normal((3, 5, 6))
    g, b, m, v = rng.standard_normal(6), rng.standard_normal(6), rng.standard_normal(6), rng.uniform(0.2, 2, 6)
    mine = batch_norm({"epsilon": 0.01}, [g, b, m, v], xn, 2)[0]
    ref = torch.nn.functional.batch_norm(torch.tensor(xn).transpose(1, 2), torch.tensor(m), torch.tensor(v), torch.tensor(g),
                                         torch.tensor(b), training=False, eps=0.01).transpose(1, 2).numpy()
    assert np.abs(mine - ref).max() < 1e-10, "BatchNormalization"
    mine = layer_norm({"epsilon": 0.001}, [g, b], xn, 2)[0]
    ref = torch.nn.functional.layer_norm(torch.tensor(xn), (6,), torch.tensor(g), torch.tensor(b), eps=0.001).numpy()
    assert np.abs(mine - ref).max() < 1e-10, "LayerNormalization"
    # Bidirectional(LSTM, concat, sequences) against torch's bidirectional LSTM (backward half in input order).
    wf = [rng.standard_normal((4, 4 * u)) * 0.5, rng.standard_normal((u, 4 * u)) * 0.5, rng.standard_normal(4 * u) * 0.3]
    wb = [rng.standard_normal((4, 4 * u)) * 0.5, rng.standard_normal((u, 4 * u)) * 0.5, rng.standard_normal(4 * u) * 0.3]
    m = torch.nn.LSTM(4, u, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for sfx, ww in (("", wf), ("_reverse", wb)):
            getattr(m, "weight_ih_l0" + sfx).copy_(torch.tensor(ww[0].T)); getattr(m, "weight_hh_l0" + sfx).copy_(torch.tensor(ww[1].T))
            getattr(m, "bias_ih_l0" + sfx).copy_(torch.tensor(ww[2])); getattr(m, "bias_hh_l0" + sfx).zero_()
        ref = m(torch.tensor(x))[0].numpy()
    inner = {"class_name": "LSTM", "config": {"units": u, "activation": "tanh", "recurrent_activation": "sigmoid", "return_sequences": True}}
    mine = bidirectional({"layer": inner, "merge_mode": "concat"}, Weights(wf + wb, ["forward"] * 3 + ["backward"] * 3), x, 2)[0]
    assert np.abs(mine - ref).max() < 1e-10, "Bidirectional"
    # Attention (dot, causal): torch softmax of q k^T with the future masked to -inf, times v.
    q, kv = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 3))
    mine = attention("Attention", {"score_mode": "dot"}, [], [q, kv], 3, {"use_causal_mask": True})[0]
    tq, tk = torch.tensor(q), torch.tensor(kv)
    s = (tq @ tk.transpose(1, 2)).masked_fill(torch.ones(4, 4, dtype=torch.bool).triu(1), float("-inf"))
    ref = (torch.softmax(s, -1) @ tk).numpy()
    assert np.abs(mine - ref).max() < 1e-10, "Attention"
    print("self-check: numpy LSTM, GRU, Conv1D, BatchNormalization, LayerNormalization, Bidirectional and causal Attention equal PyTorch's")
    # SimpleRNN tanh and relu against nn.RNN: kernel (I, u) is weight_ih transposed, one bias.
    for nl in ("tanh", "relu"):
        w = [rng.standard_normal((4, u)) * 0.5, rng.standard_normal((u, u)) * 0.4, rng.standard_normal(u) * 0.3]
        m = torch.nn.RNN(4, u, batch_first=True, nonlinearity=nl)
        with torch.no_grad():
            m.weight_ih_l0.copy_(torch.tensor(w[0].T)); m.weight_hh_l0.copy_(torch.tensor(w[1].T))
            m.bias_ih_l0.copy_(torch.tensor(w[2])); m.bias_hh_l0.zero_()
            ref = m(torch.tensor(x))[0].numpy()
        mine = simple_rnn({"units": u, "activation": nl, "return_sequences": True}, w, x, 2)[0]
        assert np.abs(mine - ref).max() < 1e-10, f"SimpleRNN {nl}"
    print("self-check: numpy LSTM, GRU, SimpleRNN and Conv1D equal PyTorch's")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--self-check", action="store_true")
    args = ap.parse_args()
    if args.self_check:
        self_check()
    results = {}
    for case, (model, make_inputs) in CASES.items():
        d = os.path.join(FIXTURES, case)
        os.makedirs(d, exist_ok=True)
        path = model if os.path.isabs(model) else os.path.join(d, model)
        config, k, weights = load(path)
        inputs = make_inputs()
        outputs = run(config, k, weights, {n: a.astype(np.float64) for n, a in inputs.items()})
        for n, a in inputs.items():
            np.save(os.path.join(d, f"in_{n}.npy"), a)
        for n, a in outputs.items():
            assert np.all(np.isfinite(a)), case
            np.save(os.path.join(d, f"out_{n}.npy"), a.astype(np.float32))
        model_ref = {"shared": os.path.basename(model)} if os.path.isabs(model) else {"file": model}
        desc = {"model": model_ref, "keras_major": k,
                "inputs": {n: list(a.shape) for n, a in inputs.items()},
                "outputs": {n: list(a.shape) for n, a in outputs.items()}}
        with open(os.path.join(d, "case.json"), "w") as f:
            json.dump(desc, f, indent=1, sort_keys=True)
            f.write("\n")
        results[case] = outputs
        spread = {n: float(np.std(a)) for n, a in outputs.items()}
        print(f"{case}: {desc['outputs']} std {spread}")
    # hard_sigmoid differs between Keras 2 and 3: the same weights must give visibly different outputs.
    a, b = results["hard_sigmoid_k2"]["dense"], results["hard_sigmoid_k3"]["dense"]
    assert np.abs(a - b).max() > 1e-2, "hard_sigmoid k2/k3 outputs too close to tell the definitions apart"


if __name__ == "__main__":
    main()
