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

def write_legacy_h5(path, config, weights, keras_version, layer_names, colon=True, fixed_strings=True, backend=True):
    """weights: list of (layer_name, [(weight_path, array)]). Keras 2 wrote fixed-length byte strings for
    layer_names / weight_names (and older files still have them); modern h5py writes variable-length ones."""
    def strings(names):
        if fixed_strings:
            return np.array([n.encode("utf8") for n in names], dtype="S" if names else "float64")
        return np.array(names, dtype=h5py.string_dtype()) if names else np.array([], dtype="float64")

    by_layer = dict(weights)
    with h5py.File(path, "w", track_order=False) as f:
        text = (lambda v: np.bytes_(v.encode("utf8"))) if fixed_strings else (lambda v: v)
        if backend:  # Keras 1 wrote no backend attribute
            f.attrs["backend"] = text("tensorflow")
        f.attrs["keras_version"] = text(keras_version)
        f.attrs["model_config"] = text(json.dumps(config))
        f.attrs["training_config"] = text(json.dumps({"loss": "mean_squared_error"}))
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = strings(layer_names)
        if backend:
            g.attrs["backend"] = "tensorflow"
        g.attrs["keras_version"] = keras_version
        for lname in layer_names:
            lg = g.create_group(lname)
            entries = by_layer.get(lname, [])
            names = [w + (":0" if colon else "") for (w, _) in entries]
            lg.attrs["weight_names"] = strings(names)
            for n, (_, a) in zip(names, entries):
                lg.create_dataset(n, data=np.asarray(a, dtype=np.float32), track_times=False)
        if backend:
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
            if isinstance(cell, dict):  # Bidirectional: {sub-layer attribute: its cell's vars}
                for sub, sub_vars in cell.items():
                    sg = g.create_group(sub)
                    sg.create_group("vars").attrs["name"] = sub
                    cv = sg.create_group("cell").create_group("vars")
                    cv.attrs["name"] = sub + "_cell"
                    for i, a in enumerate(sub_vars):
                        cv.create_dataset(str(i), data=np.asarray(a, dtype=np.float32), track_times=False)
            elif cell is not None:
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


def case_embedding_no_shape(out):
    """Embedding (no input_length) -> LSTM -> Dense, a Sequential model with no InputLayer and no batch_input_shape:
    Keras builds it on the first call with the steps free (a model saved without ever declaring its input)."""
    w = W(125)
    emb = [w(20, 6, scale=0.8)]
    l1, d = w.lstm(6, 5), [w(5, 3), w(3, scale=0.3)]
    cfg = sequential("tokens_free", [
        k2("Embedding", "embedding", input_dim=20, output_dim=6, embeddings_initializer={"class_name": "RandomUniform", "config": {}},
           mask_zero=False),
        k2_rnn("LSTM", "lstm", 5),
        k2_dense("probs", 3, activation="softmax"),
    ])
    names = ["embedding", "lstm", "probs"]
    weights = [("embedding", [("embedding/embeddings", emb[0])]), ("lstm", list(zip(rnn_names("lstm", "LSTM", 3), l1))),
               ("probs", list(zip(dense_names("probs"), d)))]
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


# ── Keras 1.x and 2.0-2.2 files ───────────────────────────────────────────────────────────────

def case_keras22_sequential(out):
    """Keras 2.2.4 model.save(): the Sequential config is the bare list of layers (no 'layers' key, no model name),
    the input shape sits on the first layer, and GRU writes reset_after=False (that version's default)."""
    w = W(113)
    l, g, d = w.lstm(3, 5), w.gru(5, 4, reset_after=False), [w(4, 2), w(2, scale=0.3)]
    first = k2_rnn("LSTM", "lstm_1", 5, return_sequences=True)
    first["config"]["batch_input_shape"] = [None, 6, 3]
    del first["config"]["time_major"]
    gru = k2_rnn("GRU", "gru_1", 4, reset_after=False)
    del gru["config"]["time_major"]
    cfg = {"class_name": "Sequential", "config": [first, gru, k2_dense("dense_1", 2, activation="tanh")]}
    weights = [("lstm_1", list(zip(["lstm_1/kernel", "lstm_1/recurrent_kernel", "lstm_1/bias"], l))),
               ("gru_1", list(zip(["gru_1/kernel", "gru_1/recurrent_kernel", "gru_1/bias"], g))),
               ("dense_1", list(zip(dense_names("dense_1"), d)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.2.4", ["lstm_1", "gru_1", "dense_1"])


def k1(class_name, name, **config):
    c = {"name": name, "trainable": True}
    c.update(config)
    return {"class_name": class_name, "config": c}


def case_keras1_sequential(out):
    """Keras 1.2.2 model.save(): bare-list Sequential config with Keras 1 classes and keys (Convolution1D nb_filter /
    filter_length / border_mode / subsample_length, output_dim, inner_activation, bias, Dropout p, input_dtype), and
    Keras 1 weights: Convolution1D W (filter_length, 1, input_dim, nb_filter); LSTM (consume_less 'cpu') as twelve
    arrays W_i, U_i, b_i, W_c, U_c, b_c, W_f, U_f, b_f, W_o, U_o, b_o; GRU as nine W_z, U_z, b_z, W_r, U_r, b_r,
    W_h, U_h, b_h; Dense W, b. Weight names are TensorFlow variable names ('lstm_1_W_i:0'), stored flat in the layer group."""
    w = W(114)
    T, C, F, H, G = 7, 3, 4, 5, 4
    conv = [w(3, 1, C, F), w(F, scale=0.3)]
    lstm = []
    for gate in "icfo":
        lstm += [w(F, H), w(H, H), w(H, scale=0.3)]
    gru = []
    for gate in "zrh":
        gru += [w(H, G), w(G, G), w(G, scale=0.3)]
    dense = [w(G, 2), w(2, scale=0.3)]
    rnn_common = dict(return_sequences=False, go_backwards=False, stateful=False, unroll=False, consume_less="cpu",
                      init="glorot_uniform", inner_init="orthogonal", activation="tanh", inner_activation="hard_sigmoid",
                      W_regularizer=None, U_regularizer=None, b_regularizer=None, dropout_W=0.0, dropout_U=0.0, input_dim=None, input_length=None)
    cfg = {"class_name": "Sequential", "config": [
        k1("Convolution1D", "convolution1d_1", nb_filter=F, filter_length=3, init="glorot_uniform", activation="relu",
           border_mode="same", subsample_length=1, W_regularizer=None, b_regularizer=None, activity_regularizer=None,
           W_constraint=None, b_constraint=None, bias=True, input_dim=C, input_length=T, batch_input_shape=[None, T, C], input_dtype="float32"),
        k1("LSTM", "lstm_1", output_dim=H, forget_bias_init="one", **dict(rnn_common, return_sequences=True, input_dim=F)),
        k1("Dropout", "dropout_1", p=0.25),
        k1("GRU", "gru_1", output_dim=G, **dict(rnn_common, input_dim=H)),
        k1("Dense", "dense_1", output_dim=2, init="glorot_uniform", activation="linear", W_regularizer=None, b_regularizer=None,
           activity_regularizer=None, W_constraint=None, b_constraint=None, bias=True, input_dim=G),
    ]}
    weights = [("convolution1d_1", list(zip(["convolution1d_1_W", "convolution1d_1_b"], conv))),
               ("lstm_1", list(zip([f"lstm_1_{k}_{g}" for g in "icfo" for k in "WUb"], lstm))),
               ("gru_1", list(zip([f"gru_1_{k}_{g}" for g in "zrh" for k in "WUb"], gru))),
               ("dense_1", list(zip(["dense_1_W", "dense_1_b"], dense)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "1.2.2", ["convolution1d_1", "lstm_1", "dropout_1", "gru_1", "dense_1"],
                    backend=False)


# ── normalization, merges, Bidirectional, pooling and shape layers ───────────────────────────────

def bn_weights(w, n, scale=True, center=True):
    out = []
    if scale:
        out.append(1.0 + w(n, scale=0.3))
    if center:
        out.append(w(n, scale=0.3))
    out.append(w(n, scale=0.5))
    out.append(np.abs(w(n, scale=0.8)) + 0.2)
    return out


def bn_names(layer, scale=True, center=True):
    names = (["gamma"] if scale else []) + (["beta"] if center else []) + ["moving_mean", "moving_variance"]
    return [f"{layer}/{n}" for n in names]


def case_normalization(out):
    """BatchNormalization after a linear Conv1D (folds), after the input (does not), after an LSTM with scale=False,
    then LayerNormalization and BatchNormalization after a linear Dense (folds), epsilon set."""
    w = W(115)
    T, C = 8, 3
    bn0 = bn_weights(w, C)
    conv = [w(3, C, 4), w(4, scale=0.3)]
    bn1 = bn_weights(w, 4)
    l = w.lstm(4, 6)
    bn2 = bn_weights(w, 6, scale=False)
    ln = [1.0 + w(6, scale=0.3), w(6, scale=0.3)]
    d = [w(6, 3), w(3, scale=0.3)]
    bn3 = bn_weights(w, 3, center=False)

    def bn(name, **kw):
        c = dict(axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True, beta_initializer=ZEROS,
                 gamma_initializer={"class_name": "Ones", "config": {}}, moving_mean_initializer=ZEROS,
                 moving_variance_initializer={"class_name": "Ones", "config": {}}, beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None)
        c.update(kw)
        return k2("BatchNormalization", name, **c)
    cfg = sequential("normalization", [
        k2_input("x", [T, C]),
        bn("bn_input", axis=[2]),
        k2_conv1d("conv", 4, 3, padding="same"),
        bn("bn_conv", epsilon=0.01),
        k2_rnn("LSTM", "lstm", 6, return_sequences=True),
        bn("bn_lstm", scale=False),
        k2("LayerNormalization", "ln", axis=[2], epsilon=0.001, center=True, scale=True, beta_initializer=ZEROS,
           gamma_initializer={"class_name": "Ones", "config": {}}),
        k2("GlobalAveragePooling1D", "pool", data_format="channels_last", keepdims=False),
        k2_dense("dense", 3),
        bn("bn_dense", center=False, epsilon=0.1),
    ])
    names = ["bn_input", "conv", "bn_conv", "lstm", "bn_lstm", "ln", "pool", "dense", "bn_dense"]
    weights = [("bn_input", list(zip(bn_names("bn_input"), bn0))), ("conv", list(zip(dense_names("conv"), conv))),
               ("bn_conv", list(zip(bn_names("bn_conv"), bn1))), ("lstm", list(zip(rnn_names("lstm", "LSTM", 3), l))),
               ("bn_lstm", list(zip(bn_names("bn_lstm", scale=False), bn2))), ("ln", list(zip(["ln/gamma", "ln/beta"], ln))),
               ("dense", list(zip(dense_names("dense"), d))), ("bn_dense", list(zip(bn_names("bn_dense", center=False), bn3)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.15.0", names)


def case_merges(out):
    """Functional (Keras 2): Add of three, Subtract, Multiply, Average, Maximum of three, Minimum; six outputs."""
    w = W(116)
    da, db = [w(4, 5), w(5, scale=0.3)], [w(3, 5), w(5, scale=0.3)]
    layers = [
        dict(k2_input("a", [4]), name="a", inbound_nodes=[]),
        dict(k2_input("b", [3]), name="b", inbound_nodes=[]),
        dict(k2_dense("da", 5, activation="tanh"), name="da", inbound_nodes=inbound_k2(("a", 0, 0))),
        dict(k2_dense("db", 5), name="db", inbound_nodes=inbound_k2(("b", 0, 0))),
        dict(k2("Add", "add"), name="add", inbound_nodes=inbound_k2(("da", 0, 0), ("db", 0, 0), ("da", 0, 0))),
        dict(k2("Subtract", "sub"), name="sub", inbound_nodes=inbound_k2(("da", 0, 0), ("db", 0, 0))),
        dict(k2("Multiply", "mul"), name="mul", inbound_nodes=inbound_k2(("add", 0, 0), ("sub", 0, 0))),
        dict(k2("Average", "avg"), name="avg", inbound_nodes=inbound_k2(("mul", 0, 0), ("db", 0, 0), ("sub", 0, 0))),
        dict(k2("Maximum", "max"), name="max", inbound_nodes=inbound_k2(("da", 0, 0), ("db", 0, 0), ("sub", 0, 0))),
        dict(k2("Minimum", "min"), name="min", inbound_nodes=inbound_k2(("da", 0, 0), ("db", 0, 0))),
    ]
    cfg = functional_k2("merges", layers, ["a", "b"], ["add", "sub", "mul", "avg", "max", "min"])
    names = ["a", "b", "da", "db", "add", "sub", "mul", "avg", "max", "min"]
    weights = [("da", list(zip(dense_names("da"), da))), ("db", list(zip(dense_names("db"), db)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.15.0", names)


def bidi_names(layer, cls, n):
    cell = {"LSTM": "lstm_cell", "GRU": "gru_cell"}[cls]
    inner = cls.lower()
    return [f"{layer}/{d}_{inner}/{cell}/{w}" for d in ("forward", "backward") for w in ["kernel", "recurrent_kernel", "bias"][:n]]


def case_bidirectional_k2(out):
    """Keras 2 (tf.keras 2.x) .h5: Bidirectional(LSTM, concat, sequences) -> Bidirectional(GRU, sum, sequences, no bias)
    -> Bidirectional(LSTM, mul, last step) -> Dense. Weights listed forward then backward."""
    w = W(117)
    T, C = 6, 3
    b1 = w.lstm(C, 4) + w.lstm(C, 4)
    b2 = w.gru(8, 5, bias=False) + w.gru(8, 5, bias=False)
    b3 = w.lstm(5, 3) + w.lstm(5, 3)
    d = [w(3, 2), w(2, scale=0.3)]

    def bidi(name, inner, merge_mode):
        return k2("Bidirectional", name, layer=inner, merge_mode=merge_mode)
    cfg = sequential("bidi_k2", [
        k2_input("x", [T, C]),
        bidi("bidirectional", k2_rnn("LSTM", "lstm", 4, return_sequences=True), "concat"),
        bidi("bidirectional_1", k2_rnn("GRU", "gru", 5, return_sequences=True, use_bias=False), "sum"),
        bidi("bidirectional_2", k2_rnn("LSTM", "lstm_1", 3), "mul"),
        k2_dense("out", 2),
    ])
    names = ["bidirectional", "bidirectional_1", "bidirectional_2", "out"]
    weights = [("bidirectional", list(zip(bidi_names("bidirectional", "LSTM", 3), b1))),
               ("bidirectional_1", list(zip(bidi_names("bidirectional_1", "GRU", 2), b2))),
               ("bidirectional_2", list(zip(bidi_names("bidirectional_2", "LSTM", 3), b3))),
               ("out", list(zip(dense_names("out"), d)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.15.0", names)


def case_bidirectional_k3(out):
    """Keras 3 .keras: Functional, Bidirectional(GRU, ave, sequences) -> Bidirectional(LSTM, merge_mode None) whose two
    outputs are the model's outputs. Config has backward_layer (go_backwards=True); weights live in groups
    layers/bidirectional/{forward_layer,backward_layer}/cell/vars."""
    w = W(118)
    T, C = 5, 3
    g = w.gru(C, 4) + w.gru(C, 4)
    l = w.lstm(4, 3) + w.lstm(4, 3)
    t = k3_tensor

    def bidi(name, cls, inner_name, units, merge_mode, **kw):
        fwd = k3_rnn(cls, "forward_" + inner_name, units, **kw)
        bwd = k3_rnn(cls, "backward_" + inner_name, units, go_backwards=True, **kw)
        return k3("Bidirectional", name, merge_mode=merge_mode, layer=fwd, backward_layer=bwd)
    layers = [
        dict(k3_input("x", [T, C]), name="x", inbound_nodes=[]),
        k3_call(bidi("bidirectional", "GRU", "gru", 4, "ave", return_sequences=True), [t([None, T, C], ("x", 0, 0))], {"training": False, "mask": None}),
        k3_call(bidi("bidirectional_1", "LSTM", "lstm", 3, None), [t([None, T, 4], ("bidirectional", 0, 0))], {"training": False, "mask": None}),
    ]
    cfg = {"module": "keras.src.models.functional", "class_name": "Functional",
           "config": {"name": "bidi_k3", "trainable": True, "layers": layers,
                      "input_layers": [["x", 0, 0]],
                      "output_layers": [["bidirectional_1", 0, 0], ["bidirectional_1", 0, 1]]},
           "registered_name": "Functional", "build_config": {"input_shape": None}}
    zip_layers = [("InputLayer", "x", [], None),
                  ("Bidirectional", "bidirectional", [], {"forward_layer": g[:3], "backward_layer": g[3:]}),
                  ("Bidirectional", "bidirectional_1", [], {"forward_layer": l[:3], "backward_layer": l[3:]})]
    write_keras_zip(os.path.join(out, "model.keras"), cfg, zip_layers)


def case_pool_reshape(out):
    """Permute((2, 1)) -> TimeDistributed-like Dense on the last axis -> Reshape((12,)) -> Reshape((3, -1))
    -> GlobalAveragePooling1D -> Dense(softmax)."""
    w = W(119)
    d1, d2 = [w(6, 3), w(3, scale=0.3)], [w(4, 2), w(2, scale=0.3)]
    cfg = sequential("pool_reshape", [
        k2_input("x", [6, 4]),
        k2("Permute", "permute", dims=[2, 1]),
        k2_dense("mix", 3, activation="tanh"),
        k2("Reshape", "flat", target_shape=[12]),
        k2("Reshape", "regroup", target_shape=[3, -1]),
        k2("GlobalAveragePooling1D", "pool", data_format="channels_last", keepdims=False),
        k2_dense("probs", 2, activation="softmax"),
    ])
    names = ["permute", "mix", "flat", "regroup", "pool", "probs"]
    weights = [("mix", list(zip(dense_names("mix"), d1))), ("probs", list(zip(dense_names("probs"), d2)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.15.0", names)


def case_global_max_pool(out):
    """LSTM (sequences) -> GlobalMaxPooling1D (channels_last) -> Dense, and the same pooling channels_first with
    keepdims on a second branch is not needed: one form keeps the fixture small."""
    w = W(123)
    T, C, H = 6, 3, 5
    l, d = w.lstm(C, H), [w(H, 2), w(2, scale=0.3)]
    cfg = sequential("global_max_pool", [
        k2_input("x", [T, C]),
        k2_rnn("LSTM", "lstm", H, return_sequences=True),
        k2("GlobalMaxPooling1D", "pool", data_format="channels_last", keepdims=False),
        k2_dense("out", 2),
    ])
    names = ["lstm", "pool", "out"]
    weights = [("lstm", list(zip(rnn_names("lstm", "LSTM", 3), l))), ("out", list(zip(dense_names("out"), d)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.15.0", names)


def case_attention_k2(out):
    """tf.keras 2.x Functional: GRU encoder (sequences) -> Attention([query, value]) dot with use_scale and causal=True
    (the tf.keras 2 config key) -> AdditiveAttention([query, value, key]) with use_scale -> GlobalAveragePooling1D -> Dense."""
    w = W(121)
    T, C, H = 5, 3, 4
    g, q = w.gru(C, H), [w(C, H), w(H, scale=0.3)]
    d = [w(H, 2), w(2, scale=0.3)]
    layers = [
        dict(k2_input("x", [T, C]), name="x", inbound_nodes=[]),
        dict(k2_rnn("GRU", "encoder", H, return_sequences=True), name="encoder", inbound_nodes=inbound_k2(("x", 0, 0))),
        dict(k2_dense("query", H, activation="tanh"), name="query", inbound_nodes=inbound_k2(("x", 0, 0))),
        dict(k2("Attention", "attention", use_scale=True, score_mode="dot", dropout=0.0, causal=True), name="attention",
             inbound_nodes=inbound_k2(("query", 0, 0), ("encoder", 0, 0))),
        dict(k2("AdditiveAttention", "additive", use_scale=True, dropout=0.0, causal=False), name="additive",
             inbound_nodes=inbound_k2(("attention", 0, 0), ("encoder", 0, 0), ("query", 0, 0))),
        dict(k2("GlobalAveragePooling1D", "pool", data_format="channels_last", keepdims=False), name="pool", inbound_nodes=inbound_k2(("additive", 0, 0))),
        dict(k2_dense("out", 2), name="out", inbound_nodes=inbound_k2(("pool", 0, 0))),
    ]
    cfg = functional_k2("attention_k2", layers, ["x"], ["out", "attention"])
    names = ["x", "encoder", "query", "attention", "additive", "pool", "out"]
    weights = [("encoder", list(zip(rnn_names("encoder", "GRU", 3), g))), ("query", list(zip(dense_names("query"), q))),
               ("attention", [("attention/scale", np.float32(1.7))]),
               ("additive", [("additive/scale", w(H, scale=0.8))]),
               ("out", list(zip(dense_names("out"), d)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.15.0", names)


def case_attention_k3(out):
    """Keras 3 .keras: Attention(score_mode='concat', use_scale=True) called with use_causal_mask=True and
    return_attention_scores=True (call kwargs), both outputs returned; value and key from two LSTMs."""
    w = W(122)
    T, C, H = 4, 3, 5
    l1, l2 = w.lstm(C, H), w.lstm(C, H)
    t = k3_tensor
    layers = [
        dict(k3_input("x", [T, C]), name="x", inbound_nodes=[]),
        k3_call(k3_rnn("LSTM", "values", H, return_sequences=True), [t([None, T, C], ("x", 0, 0))], {"training": False, "mask": None}),
        k3_call(k3_rnn("LSTM", "keys", H, return_sequences=True), [t([None, T, C], ("x", 0, 0))], {"training": False, "mask": None}),
        k3_call(k3("Attention", "attention", use_scale=True, score_mode="concat", dropout=0.0, seed=None),
                [[t([None, T, H], ("values", 0, 0)), t([None, T, H], ("values", 0, 0)), t([None, T, H], ("keys", 0, 0))]],
                {"use_causal_mask": True, "return_attention_scores": True}),
    ]
    cfg = {"module": "keras.src.models.functional", "class_name": "Functional",
           "config": {"name": "attention_k3", "trainable": True, "layers": layers,
                      "input_layers": [["x", 0, 0]],
                      "output_layers": [["attention", 0, 0], ["attention", 0, 1]]},
           "registered_name": "Functional", "build_config": {"input_shape": None}}
    zip_layers = [("InputLayer", "x", [], None), ("LSTM", "values", [], l1), ("LSTM", "keys", [], l2),
                  ("Attention", "attention", [np.float32(0.6), np.float32(1.3)], None)]
    write_keras_zip(os.path.join(out, "model.keras"), cfg, zip_layers)


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

    # A built-in Keras layer Edge does not implement.
    pool = k2("MaxPooling2D", "max_pooling2d", pool_size=[2, 2], padding="valid", strides=[2, 2], data_format="channels_last")
    cfg, weights, names = refusal_base(pool)
    write_legacy_h5(os.path.join(out, "unknown.h5"), cfg, weights, "2.15.0", names)

    # 'head' lists weight_names kernel and bias, but the bias dataset is not in the file.
    w = W(110)
    cfg, weights, names = refusal_base(k2_dense("head", 2), ("head", [("head/kernel", w(3, 2))]))
    path = os.path.join(out, "missing_weight.h5")
    write_legacy_h5(path, cfg, weights, "2.15.0", names)
    with h5py.File(path, "a") as f:
        f["model_weights/head"].attrs["weight_names"] = np.array([b"head/kernel:0", b"head/bias:0"])

    # A model saved before it was built: Keras writes each layer's group with an empty weight_names list.
    cfg, weights, names = refusal_base(k2_dense("head", 2))
    write_legacy_h5(os.path.join(out, "unbuilt.h5"), cfg, weights, "2.15.0", names)

    # A dataset declaring 2^40 elements: HDF5 allocates contiguous storage late, so the file stays small.
    cfg, weights, names = refusal_base(k2_dense("head", 2), ("head", [("head/kernel", w(3, 2)), ("head/bias", w(2))]))
    path = os.path.join(out, "huge_dataset.h5")
    write_legacy_h5(path, cfg, weights, "2.15.0", names)
    with h5py.File(path, "a") as f:
        del f["model_weights/head/head/bias:0"]
        f["model_weights/head/head"].create_dataset("bias:0", shape=(1 << 20, 1 << 20), dtype="f4", track_times=False)

    # stateful=True with the fixed batch Keras requires for it: Keras carries state between predict() calls.
    w = W(120)
    cfg = sequential("stateful", [k2_rnn("LSTM", "lstm", 3, stateful=True, batch_input_shape=[64, 4, 2]), k2_dense("head", 1)])
    write_legacy_h5(os.path.join(out, "stateful.h5"), cfg,
                    [("lstm", list(zip(rnn_names("lstm", "LSTM", 3), w.lstm(2, 3)))), ("head", list(zip(dense_names("head"), [w(3, 1), w(1)])))],
                    "2.15.0", ["lstm", "head"])

    # A user's own layer class (Keras 3 registers it as "package>Class").
    custom = k2("Scale", "my_scale", factor=2.0)
    custom["module"] = None
    custom["registered_name"] = "my_layers>Scale"
    cfg, weights, names = refusal_base(custom)
    write_legacy_h5(os.path.join(out, "custom.h5"), cfg, weights, "3.3.3", names, colon=False)

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


def case_prelu(out):
    """PReLU (Keras 2): LSTM(return_sequences) -> PReLU(shared_axes=[1]) (alpha (1, 5)) -> LSTM -> Dense -> PReLU()
    (alpha (3,), one per unit) -> Dense. Alphas uniform in [-0.5, 0.8] (the Keras default is all zeros)."""
    w = W(120)
    rng = np.random.default_rng(121)
    l1, l2 = w.lstm(4, 5), w.lstm(5, 4)
    d1, d2 = [w(4, 3), w(3, scale=0.3)], [w(3, 2), w(2, scale=0.3)]
    a1 = rng.uniform(-0.5, 0.8, (1, 5)).astype(np.float32)
    a2 = rng.uniform(-0.5, 0.8, (3,)).astype(np.float32)
    prelu = lambda name, shared: k2("PReLU", name, alpha_initializer=ZEROS, alpha_regularizer=None, alpha_constraint=None,
                                    shared_axes=shared)
    cfg = sequential("prelu", [
        k2_input("x", [6, 4]),
        k2_rnn("LSTM", "lstm", 5, return_sequences=True),
        prelu("p_re_lu", [1]),
        k2_rnn("LSTM", "lstm_1", 4),
        k2_dense("dense", 3),
        prelu("p_re_lu_1", None),
        k2_dense("head", 2),
    ])
    names = ["lstm", "p_re_lu", "lstm_1", "dense", "p_re_lu_1", "head"]
    weights = [("lstm", list(zip(rnn_names("lstm", "LSTM", 3), l1))), ("p_re_lu", [("p_re_lu/alpha", a1)]),
               ("lstm_1", list(zip(rnn_names("lstm_1", "LSTM", 3), l2))), ("dense", list(zip(dense_names("dense"), d1))),
               ("p_re_lu_1", [("p_re_lu_1/alpha", a2)]), ("head", list(zip(dense_names("head"), d2)))]
    write_legacy_h5(os.path.join(out, "model.h5"), cfg, weights, "2.15.0", names)


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
    "global_max_pool": case_global_max_pool,
    "embedding_no_shape": case_embedding_no_shape,
    "keras22_sequential": case_keras22_sequential,
    "keras1_sequential": case_keras1_sequential,
    "normalization": case_normalization,
    "merges": case_merges,
    "bidirectional_k2": case_bidirectional_k2,
    "bidirectional_k3": case_bidirectional_k3,
    "pool_reshape": case_pool_reshape,
    "attention_k2": case_attention_k2,
    "attention_k3": case_attention_k3,
    "refuse": case_refusals,
    "prelu": case_prelu,
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
