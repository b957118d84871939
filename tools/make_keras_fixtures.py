#!/usr/bin/python3
"""Writes small synthetic Keras model files with h5py, byte-for-byte in the layouts Keras itself uses,
for the layers and options the real models in ../shared/models lack.

    /usr/bin/python3 tools/make_keras_fixtures.py            # writes Runtime.Tests/Fixtures/keras/<case>/model.{h5,keras}
    /usr/bin/python3 tools/make_keras_fixtures.py --out DIR

Keras and TensorFlow are not installable here, so the files are written by hand, following what the real
files show (h5dump of ../shared/models/*.h5 and the model.weights.h5 inside the .keras zip):

Keras 2 `.h5` (model.save(..., save_format='h5')):
    /                     attrs keras_version, backend, model_config (JSON), training_config
    /model_weights        attrs layer_names (one per layer in model.layers, weightless ones included),
                          backend, keras_version
    /model_weights/<layer> attrs weight_names ('<layer>/kernel:0', 'lstm/lstm_cell/kernel:0', ...),
                          each a dataset path relative to the layer group
Keras 3 legacy `.h5`: the same, with Keras 3 configs and weight names without ':0'.
Keras 3 `.keras`: a zip of config.json, metadata.json and model.weights.h5 with groups
    layers/<snake_case class name, deduplicated with _1, _2 in model.layers order>/vars/<i>
    (attribute name = the configured layer name) and, for RNNs, layers/<...>/cell/vars/<i>.

Weights are random with a fixed seed per case, scaled so activations are neither saturated nor ~0.
Reference outputs are made afterwards by tools/keras_reference.py (a numpy implementation of Keras).
"""
import argparse
import io
import json
import os
import zipfile

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "Runtime.Tests", "Fixtures", "keras")

GLOROT = {"class_name": "GlorotUniform", "config": {"seed": None}}
ZEROS = {"class_name": "Zeros", "config": {}}


# ── Keras 2 configs ────────────────────────────────────────────────────────────────────────────

def k2(class_name, name, **config):
    c = {"name": name, "trainable": True, "dtype": "float32"}
    c.update(config)
    return {"class_name": class_name, "config": c}


def k2_input(name, shape, dtype="float32"):
    return {"class_name": "InputLayer",
            "config": {"batch_input_shape": [None] + list(shape), "dtype": dtype, "sparse": False,
                       "ragged": False, "name": name}}


def k2_rnn(cls, name, units, **kw):
    c = dict(return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
             time_major=False, units=units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
             kernel_initializer=GLOROT, recurrent_initializer={"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}},
             bias_initializer=ZEROS, dropout=0.0, recurrent_dropout=0.0, implementation=2)
    if cls == "LSTM":
        c["unit_forget_bias"] = True
    if cls == "GRU":
        c["reset_after"] = True
    c.update(kw)
    return k2(cls, name, **c)


def k2_dense(name, units, **kw):
    c = dict(units=units, activation="linear", use_bias=True, kernel_initializer=GLOROT, bias_initializer=ZEROS)
    c.update(kw)
    return k2("Dense", name, **c)


def k2_conv1d(name, filters, kernel, **kw):
    c = dict(filters=filters, kernel_size=[kernel], strides=[1], padding="valid", data_format="channels_last",
             dilation_rate=[1], groups=1, activation="linear", use_bias=True, kernel_initializer=GLOROT, bias_initializer=ZEROS)
    c.update(kw)
    return k2("Conv1D", name, **c)


def sequential(name, layers):
    return {"class_name": "Sequential", "config": {"name": name, "layers": layers}}


def inbound_k2(*refs):
    """Keras 2 inbound_nodes for one call: refs are (layer, node_index, tensor_index)."""
    return [[[l, n, t, {}] for (l, n, t) in refs]]


def functional_k2(name, layers, inputs, outputs):
    return {"class_name": "Functional",
            "config": {"name": name, "layers": layers,
                       "input_layers": [[n, 0, 0] for n in inputs],
                       "output_layers": [[n, 0, 0] for n in outputs]}}


# ── Keras 3 configs ────────────────────────────────────────────────────────────────────────────

DTYPE3 = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}


def k3(class_name, name, **config):
    c = {"name": name, "trainable": True, "dtype": DTYPE3}
    c.update(config)
    return {"module": "keras.layers", "class_name": class_name, "config": c, "registered_name": None}


def k3_input(name, shape, dtype="float32"):
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": [None] + list(shape), "dtype": dtype, "sparse": False, "name": name},
            "registered_name": None}


def k3_rnn(cls, name, units, **kw):
    c = dict(return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
             zero_output_for_mask=False, units=units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
             dropout=0.0, recurrent_dropout=0.0, seed=None)
    if cls == "LSTM":
        c["unit_forget_bias"] = True
    if cls == "GRU":
        c["reset_after"] = True
    c.update(kw)
    return k3(cls, name, **c)


def k3_dense(name, units, **kw):
    c = dict(units=units, activation="linear", use_bias=True)
    c.update(kw)
    return k3("Dense", name, **c)


def k3_tensor(shape, history):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": shape, "dtype": "float32", "keras_history": list(history)}}


def k3_call(layer, args, kwargs=None):
    layer = dict(layer)
    layer["name"] = layer["config"]["name"]
    layer["inbound_nodes"] = [{"args": args, "kwargs": kwargs or {}}]
    return layer


# ── writers ────────────────────────────────────────────────────────────────────────────────────

def write_legacy_h5(path, config, weights, keras_version, layer_names, colon=True, fixed_strings=True):
    """weights: list of (layer_name, [(weight_path, array)]). Keras 2 wrote fixed-length byte strings for
    layer_names / weight_names (and older files still have them); modern h5py writes variable-length ones."""
    def strings(names):
        if fixed_strings:
            return np.array([n.encode("utf8") for n in names], dtype="S" if names else "float64")
        return np.array(names, dtype=h5py.string_dtype()) if names else np.array([], dtype="float64")

    by_layer = dict(weights)
    with h5py.File(path, "w", track_order=False) as f:
        text = (lambda v: np.bytes_(v.encode("utf8"))) if fixed_strings else (lambda v: v)
        f.attrs["backend"] = text("tensorflow")
        f.attrs["keras_version"] = text(keras_version)
        f.attrs["model_config"] = text(json.dumps(config))
        f.attrs["training_config"] = text(json.dumps({"loss": "mean_squared_error"}))
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = strings(layer_names)
        g.attrs["backend"] = "tensorflow"
        g.attrs["keras_version"] = keras_version
        for lname in layer_names:
            lg = g.create_group(lname)
            entries = by_layer.get(lname, [])
            names = [w + (":0" if colon else "") for (w, _) in entries]
            lg.attrs["weight_names"] = strings(names)
            for n, (_, a) in zip(names, entries):
                lg.create_dataset(n, data=np.asarray(a, dtype=np.float32), track_times=False)
        t = g.create_group("top_level_model_weights")
        t.attrs["weight_names"] = np.array([], dtype="float64")


def to_snake(name):
    import re
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def write_keras_zip(path, config, layers, keras_version="3.3.3"):
    """layers: list of (class_name, layer_name, own_vars, cell_vars) in model.layers order."""
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        used = {}
        lg = f.create_group("layers")
        for cls, lname, own, cell in layers:
            key = to_snake(cls)
            if key in used:
                used[key] += 1
                key = f"{key}_{used[key]}"
            else:
                used[key] = 0
            g = lg.create_group(key)
            v = g.create_group("vars")
            v.attrs["name"] = lname
            for i, a in enumerate(own):
                v.create_dataset(str(i), data=np.asarray(a, dtype=np.float32), track_times=False)
            if cell is not None:
                cv = g.create_group("cell").create_group("vars")
                cv.attrs["name"] = to_snake(cls) + "_cell"
                for i, a in enumerate(cell):
                    cv.create_dataset(str(i), data=np.asarray(a, dtype=np.float32), track_times=False)
        f.create_group("vars").attrs["name"] = config["config"]["name"]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in [("metadata.json", json.dumps({"keras_version": keras_version, "date_saved": "2025-01-01@00:00:00"})),
                           ("config.json", json.dumps(config)),
                           ("model.weights.h5", buf.getvalue())]:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".h5") else zipfile.ZIP_DEFLATED
            z.writestr(info, data)


# ── weights ────────────────────────────────────────────────────────────────────────────────────

class W:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def __call__(self, *shape, scale=None):
        fan_in = shape[0] if len(shape) > 1 else 4
        s = scale if scale is not None else 1.2 / np.sqrt(fan_in)
        return (self.rng.standard_normal(shape) * s).astype(np.float32)

    def lstm(self, i, u, bias=True):
        w = [self(i, 4 * u), self(u, 4 * u)]
        return w + [self(4 * u, scale=0.3)] if bias else w

    def gru(self, i, u, reset_after=True, bias=True):
        w = [self(i, 3 * u), self(u, 3 * u)]
        if bias:
            w.append(self(2, 3 * u, scale=0.3) if reset_after else self(3 * u, scale=0.3))
        return w


def rnn_names(layer, cls, n):
    cell = {"LSTM": "lstm_cell", "GRU": "gru_cell"}[cls]
    return [f"{layer}/{cell}/{w}" for w in ["kernel", "recurrent_kernel", "bias"][:n]]


def dense_names(layer, n=2):
    return [f"{layer}/{w}" for w in ["kernel", "bias"][:n]]


# ── cases ──────────────────────────────────────────────────────────────────────────────────────

def case_conv_forecaster(out):
    """The seed's forecaster: LSTM encoder -> RepeatVector -> LSTM decoder -> Conv1D(y, 4, 'same')."""
    n, y, h, horizon = 10, 3, 8, 2
    w = W(101)
    enc, dec, conv = w.lstm(y, h), w.lstm(h, h), [w(4, h, y, scale=0.4), w(y, scale=0.3)]
    cfg = sequential("forecaster", [
        k2_input("window", [n, y]),
        k2_rnn("LSTM", "encoder", h),
        k2("RepeatVector", "repeat", n=horizon),
        k2_rnn("LSTM", "decoder", h, return_sequences=True),
        k2_conv1d("next_state", y, 4, padding="same"),
    ])
    names = ["encoder", "repeat", "decoder", "next_state"]
    weights = [("encoder", list(zip(rnn_names("encoder", "LSTM", 3), enc))),
               ("decoder", list(zip(rnn_names("decoder", "LSTM", 3), dec))),
               ("next_state", list(zip(dense_names("next_state"), conv)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.15.0", names)


def case_conv_causal_head(out):
    """Conv1D causal (dilation 2) -> Conv1D valid stride 2 -> TimeDistributed(Dense) -> Flatten -> Dense(sigmoid)."""
    w = W(102)
    c1, c2 = [w(3, 3, 4), w(4, scale=0.3)], [w(3, 4, 5), w(5, scale=0.3)]
    td, d = [w(5, 2), w(2, scale=0.3)], [w(8, 1, scale=0.5), w(1, scale=0.3)]
    cfg = sequential("causal_head", [
        k2_input("signal", [9, 3]),
        k2_conv1d("causal", 4, 3, padding="causal", dilation_rate=[2], activation="tanh"),
        k2_conv1d("strided", 5, 3, strides=[2], padding="valid", activation="relu"),
        k2("TimeDistributed", "per_step", layer=k2_dense("inner", 2, activation="elu")),
        k2("Flatten", "flat", data_format="channels_last"),
        k2("Dropout", "drop", rate=0.5, noise_shape=None, seed=None),
        k2_dense("score", 1, activation="sigmoid"),
    ])
    names = ["causal", "strided", "per_step", "flat", "drop", "score"]
    weights = [("causal", list(zip(dense_names("causal"), c1))), ("strided", list(zip(dense_names("strided"), c2))),
               ("per_step", list(zip(dense_names("per_step"), td))), ("score", list(zip(dense_names("score"), d)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.15.0", names)


def case_gru_reset_before(out):
    """GRU reset_after=False (bias (3u,)), go_backwards with return_sequences, then a bias-free GRU."""
    w = W(103)
    g1, g2, d = w.gru(4, 5, reset_after=False), w.gru(5, 6, bias=False), [w(6, 2), w(2, scale=0.3)]
    cfg = sequential("gru_reset_before", [
        k2_input("x", [7, 4]),
        k2_rnn("GRU", "gru_a", 5, reset_after=False, return_sequences=True, go_backwards=True),
        k2_rnn("GRU", "gru_b", 6, use_bias=False),
        k2_dense("head", 2),
    ])
    names = ["gru_a", "gru_b", "head"]
    weights = [("gru_a", list(zip(rnn_names("gru_a", "GRU", 3), g1))), ("gru_b", list(zip(rnn_names("gru_b", "GRU", 2), g2))),
               ("head", list(zip(dense_names("head"), d)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.15.0", names, fixed_strings=False)


def case_locally_connected(out):
    """LocallyConnected1D (implementation 1: kernel (folds, K*C, F)), stride 2, relu -> Flatten -> Dense."""
    w = W(104)
    L, C, K, S, F = 9, 3, 3, 2, 4
    folds = (L - K) // S + 1
    lc, d = [w(folds, K * C, F), w(folds, F, scale=0.3)], [w(folds * F, 2), w(2, scale=0.3)]
    cfg = sequential("local", [
        k2_input("series", [L, C]),
        k2("LocallyConnected1D", "local", filters=F, kernel_size=[K], strides=[S], padding="valid",
           data_format="channels_last", activation="relu", use_bias=True, implementation=1),
        k2("Flatten", "flatten", data_format="channels_last"),
        k2_dense("out", 2),
    ])
    names = ["local", "flatten", "out"]
    weights = [("local", list(zip(dense_names("local"), lc))), ("out", list(zip(dense_names("out"), d)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.15.0", names)


def case_embedding_lstm(out):
    """Embedding -> LSTM(return_sequences) -> LSTM -> Dense(softmax); the input layer is float32 as Keras makes it."""
    w = W(105)
    emb = [w(20, 6, scale=0.8)]
    l1, l2, d = w.lstm(6, 5), w.lstm(5, 4), [w(4, 3), w(3, scale=0.3)]
    cfg = sequential("tokens", [
        k2_input("embedding_input", [7]),
        k2("Embedding", "embedding", input_dim=20, output_dim=6, embeddings_initializer={"class_name": "RandomUniform", "config": {}},
           mask_zero=False, input_length=7),
        k2_rnn("LSTM", "lstm", 5, return_sequences=True),
        k2_rnn("LSTM", "lstm_1", 4),
        k2_dense("probs", 3, activation="softmax"),
    ])
    names = ["embedding", "lstm", "lstm_1", "probs"]
    weights = [("embedding", [("embedding/embeddings", emb[0])]),
               ("lstm", list(zip(rnn_names("lstm", "LSTM", 3), l1))), ("lstm_1", list(zip(rnn_names("lstm_1", "LSTM", 3), l2))),
               ("probs", list(zip(dense_names("probs"), d)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.15.0", names)


def case_dual_encoder_k2(out):
    """Functional dual encoder (Keras 2): one LSTM shared by context and response, score = sigmoid(Dot(M c, r))."""
    w = W(106)
    enc, m = w.lstm(4, 8), [w(8, 8, scale=0.6)]
    layers = [
        dict(k2_input("context", [6, 4]), name="context", inbound_nodes=[]),
        dict(k2_input("response", [5, 4]), name="response", inbound_nodes=[]),
        dict(k2_rnn("LSTM", "encoder", 8), name="encoder",
             inbound_nodes=inbound_k2(("context", 0, 0)) + inbound_k2(("response", 0, 0))),
        dict(k2_dense("M", 8, use_bias=False), name="M", inbound_nodes=inbound_k2(("encoder", 0, 0))),
        dict(k2("Dot", "cmr", axes=1, normalize=False), name="cmr", inbound_nodes=inbound_k2(("M", 0, 0), ("encoder", 1, 0))),
        dict(k2("Activation", "score", activation="sigmoid"), name="score", inbound_nodes=inbound_k2(("cmr", 0, 0))),
    ]
    cfg = functional_k2("dual_encoder", layers, ["context", "response"], ["score"])
    names = ["context", "response", "encoder", "M", "cmr", "score"]
    weights = [("encoder", list(zip(rnn_names("encoder", "LSTM", 3), enc))), ("M", [("M/kernel", m[0])])]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.15.0", names)


def case_dual_encoder_k3(out):
    """Functional dual encoder in the Keras 3 .keras zip: separate GRU/LSTM encoders (weight groups 'lstm', 'gru'
    named after the class, not the layer), Dot score plus a second output from Concatenate."""
    w = W(107)
    enc_c, enc_r = w.lstm(4, 6), w.gru(4, 6)
    m, aux = w(6, 6, scale=0.6), [w(12, 2), w(2, scale=0.3)]
    t = k3_tensor
    layers = [
        dict(k3_input("context", [6, 4]), name="context", inbound_nodes=[]),
        dict(k3_input("response", [5, 4]), name="response", inbound_nodes=[]),
        k3_call(k3_rnn("LSTM", "context_encoder", 6), [t([None, 6, 4], ("context", 0, 0))], {"training": False, "mask": None}),
        k3_call(k3_rnn("GRU", "response_encoder", 6), [t([None, 5, 4], ("response", 0, 0))], {"training": False, "mask": None}),
        k3_call(k3_dense("M", 6, use_bias=False), [t([None, 6], ("context_encoder", 0, 0))]),
        k3_call(k3("Dot", "cmr", axes=1, normalize=False), [[t([None, 6], ("M", 0, 0)), t([None, 6], ("response_encoder", 0, 0))]]),
        k3_call(k3("Activation", "score", activation="sigmoid"), [t([None, 1], ("cmr", 0, 0))]),
        k3_call(k3("Concatenate", "both", axis=-1), [[t([None, 6], ("context_encoder", 0, 0)), t([None, 6], ("response_encoder", 0, 0))]]),
        k3_call(k3_dense("aux", 2, activation="tanh"), [t([None, 12], ("both", 0, 0))]),
    ]
    cfg = {"module": "keras.src.models.functional", "class_name": "Functional",
           "config": {"name": "dual_encoder3", "trainable": True, "layers": layers,
                      "input_layers": [["context", 0, 0], ["response", 0, 0]],
                      "output_layers": [["score", 0, 0], ["aux", 0, 0]]},
           "registered_name": "Functional", "build_config": {"input_shape": None}}
    zip_layers = [("InputLayer", "context", [], None), ("InputLayer", "response", [], None),
                  ("LSTM", "context_encoder", [], enc_c), ("GRU", "response_encoder", [], enc_r),
                  ("Dense", "M", [m], None), ("Dot", "cmr", [], None), ("Activation", "score", [], None),
                  ("Concatenate", "both", [], None), ("Dense", "aux", aux, None)]
    write_keras_zip(os.path.join(out, "model.keras"), cfg, zip_layers)


def hard_sigmoid_weights():
    w = W(108)
    return w.lstm(3, 4), w.gru(4, 3), [w(3, 2, scale=1.5), w(2, scale=0.3)]


def case_hard_sigmoid_k2(out):
    lstm, gru, d = hard_sigmoid_weights()
    cfg = sequential("hard", [
        k2_input("x", [5, 3]),
        k2_rnn("LSTM", "lstm", 4, recurrent_activation="hard_sigmoid", return_sequences=True),
        k2_rnn("GRU", "gru", 3, recurrent_activation="hard_sigmoid", reset_after=True),
        k2_dense("dense", 2, activation="hard_sigmoid"),
    ])
    weights = [("lstm", list(zip(rnn_names("lstm", "LSTM", 3), lstm))), ("gru", list(zip(rnn_names("gru", "GRU", 3), gru))),
               ("dense", list(zip(dense_names("dense"), d)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.15.0", ["lstm", "gru", "dense"])


def hard_sigmoid_k3_config():
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "hard", "trainable": True, "dtype": DTYPE3, "layers": [
        k3_input("x", [5, 3]),
        k3_rnn("LSTM", "lstm", 4, recurrent_activation="hard_sigmoid", return_sequences=True),
        k3_rnn("GRU", "gru", 3, recurrent_activation="hard_sigmoid", reset_after=True),
        k3_dense("dense", 2, activation="hard_sigmoid"),
    ], "build_input_shape": [None, 5, 3]}, "registered_name": None}


def case_hard_sigmoid_k3(out):
    """The same network and weights saved by Keras 3 as legacy .h5: hard_sigmoid is relu6(x + 3) / 6 there."""
    lstm, gru, d = hard_sigmoid_weights()
    cfg = hard_sigmoid_k3_config()
    weights = [("lstm", list(zip([f"hard/lstm/lstm_cell/{n}" for n in ["kernel", "recurrent_kernel", "bias"]], lstm))),
               ("gru", list(zip([f"hard/gru/gru_cell/{n}" for n in ["kernel", "recurrent_kernel", "bias"]], gru))),
               ("dense", list(zip(["hard/dense/kernel", "hard/dense/bias"], d)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "3.3.3", ["lstm", "gru", "dense"], colon=False, fixed_strings=False)


def case_hard_sigmoid_k3_keras(out):
    """The Keras 3 model of hard_sigmoid_k3 saved as .keras (model.save('model.keras')): both must import to the same IR."""
    lstm, gru, d = hard_sigmoid_weights()
    write_keras_zip(os.path.join(out, "model.keras"), hard_sigmoid_k3_config(),
                    [("LSTM", "lstm", [], lstm), ("GRU", "gru", [], gru), ("Dense", "dense", d, None)])


# ── files that must be refused ─────────────────────────────────────────────────────────────────

def refusal_base(extra_layer, extra_weights=None):
    w = W(109)
    cfg = sequential("refuse", [k2_input("x", [4, 2]), k2_rnn("GRU", "gru", 3), extra_layer])
    weights = [("gru", list(zip(rnn_names("gru", "GRU", 3), w.gru(2, 3))))]
    if extra_weights:
        weights.append(extra_weights)
    return cfg, weights, ["gru", extra_layer["config"]["name"]]


def case_lstm_relu(out):
    """The layer kinds of the shared air-quality model, made here so a plain clone has them: LSTM with relu as its
    cell and output activation -> Dense(1), Keras 2 .h5, inputs in [0, 1) like MinMax-scaled sensors."""
    w = W(112)
    l, d = w.lstm(13, 6), [w(6, 1), w(1, scale=0.3)]
    cfg = sequential("lstm_relu", [
        k2_input("x", [10, 13]),
        k2_rnn("LSTM", "lstm", 6, activation="relu"),
        k2_dense("out", 1),
    ])
    weights = [("lstm", list(zip(rnn_names("lstm", "LSTM", 3), l))), ("out", list(zip(dense_names("out"), d)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.15.0", ["lstm", "out"])


def case_simple_rnn(out):
    """SimpleRNN (tanh, return_sequences) -> SimpleRNN (relu, go_backwards, return_sequences) -> SimpleRNN (linear,
    bias-free) -> Dense, Keras 2 .h5. Weights kernel (I, u), recurrent_kernel (u, u), bias (u,) under simple_rnn_cell."""
    w = W(113)
    names3 = lambda layer, n: [f"{layer}/simple_rnn_cell/{k}" for k in ["kernel", "recurrent_kernel", "bias"][:n]]
    a = [w(4, 6), w(6, 6, scale=0.35), w(6, scale=0.3)]
    b = [w(6, 5), w(5, 5, scale=0.3), w(5, scale=0.3) + 0.3]  # relu: biases up, so most units stay alive
    c = [w(5, 3), w(3, 3, scale=0.3)]
    d = [w(3, 2), w(2, scale=0.3)]
    rnn = lambda name, units, **kw: k2("SimpleRNN", name, **{**dict(
        return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False, time_major=False,
        units=units, activation="tanh", use_bias=True, kernel_initializer=GLOROT,
        recurrent_initializer={"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}},
        bias_initializer=ZEROS, dropout=0.0, recurrent_dropout=0.0), **kw})
    cfg = sequential("simple_rnn", [
        k2_input("x", [8, 4]),
        rnn("rnn_tanh", 6, return_sequences=True),
        rnn("rnn_relu", 5, activation="relu", go_backwards=True, return_sequences=True),
        rnn("rnn_linear", 3, activation="linear", use_bias=False),
        k2_dense("out", 2),
    ])
    weights = [("rnn_tanh", list(zip(names3("rnn_tanh", 3), a))), ("rnn_relu", list(zip(names3("rnn_relu", 3), b))),
               ("rnn_linear", list(zip(names3("rnn_linear", 2), c))), ("out", list(zip(dense_names("out"), d)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.15.0", ["rnn_tanh", "rnn_relu", "rnn_linear", "out"])
    # Refused in one line each: an activation no recurrent cell runs, and state carried between calls.
    for file, extra in [("refuse_selu.h5", dict(activation="selu")), ("refuse_stateful.h5", dict(stateful=True))]:
        one = sequential("simple_rnn_refused", [k2_input("x", [8, 4]), rnn("rnn_tanh", 6, **extra)])
        write_legacy_h5(os.path.join(out, file), one, weights[:1], "2.15.0", ["rnn_tanh"])


def case_refusals(out):
    lam = k2("Lambda", "scale_by_two", function=["4wEAAAAAAAAAAAAAAAEAAAACAAAAUwAAAHMIAAAAfABkARQAUwApAk7pAgAAAKkAKQHaAXhyAgAAAHICAAAA+gc8c3RkaW4+2gg8bGFtYmRhPgEAAADzAAAAAA==\n", None, None],
             function_type="lambda", module="__main__", output_shape=None, output_shape_type="raw", arguments={})
    cfg, weights, names = refusal_base(lam)
    write_legacy_h5(os.path.join(out, "lambda.h5"), cfg, weights, "2.15.0", names)

    att = k2("Attention", "attention_1", use_scale=False, score_mode="dot", dropout=0.0)
    cfg, weights, names = refusal_base(att)
    write_legacy_h5(os.path.join(out, "attention.h5"), cfg, weights, "2.15.0", names)

    # 'head' lists weight_names kernel and bias, but the bias dataset is not in the file.
    w = W(110)
    cfg, weights, names = refusal_base(k2_dense("head", 2), ("head", [("head/kernel", w(3, 2))]))
    path = os.path.join(out, "missing_weight.h5")
    write_legacy_h5(path, cfg, weights, "2.15.0", names)
    with h5py.File(path, "a") as f:
        f["model_weights/head"].attrs["weight_names"] = np.array([b"head/kernel:0", b"head/bias:0"])

    # A dataset declaring 2^40 elements: HDF5 allocates contiguous storage late, so the file stays small.
    cfg, weights, names = refusal_base(k2_dense("head", 2), ("head", [("head/kernel", w(3, 2)), ("head/bias", w(2))]))
    path = os.path.join(out, "huge_dataset.h5")
    write_legacy_h5(path, cfg, weights, "2.15.0", names)
    with h5py.File(path, "a") as f:
        del f["model_weights/head/head/bias:0"]
        f["model_weights/head/head"].create_dataset("bias:0", shape=(1 << 20, 1 << 20), dtype="f4", track_times=False)

    case_weights_only(out)


def case_weights_only(out):
    """model.save_weights('x.h5') layout: layer groups at the root, no model_config: no architecture to import."""
    w = W(111)
    with h5py.File(os.path.join(out, "weights_only.h5"), "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["layer_names"] = np.array([b"dense"])
        g = f.create_group("dense")
        g.attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])
        g.create_dataset("dense/kernel:0", data=w(3, 2), track_times=False)
        g.create_dataset("dense/bias:0", data=w(2), track_times=False)


CASES = {
    "conv_forecaster": case_conv_forecaster,
    "conv_causal_head": case_conv_causal_head,
    "gru_reset_before": case_gru_reset_before,
    "locally_connected": case_locally_connected,
    "embedding_lstm": case_embedding_lstm,
    "dual_encoder_k2": case_dual_encoder_k2,
    "dual_encoder_k3": case_dual_encoder_k3,
    "hard_sigmoid_k2": case_hard_sigmoid_k2,
    "hard_sigmoid_k3": case_hard_sigmoid_k3,
    "hard_sigmoid_k3_keras": case_hard_sigmoid_k3_keras,
    "lstm_relu": case_lstm_relu,
    "refuse": case_refusals,
    "simple_rnn": case_simple_rnn,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    for name, make in CASES.items():
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        make(d)
        print("wrote", d)


if __name__ == "__main__":
    main()
