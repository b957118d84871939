#!/usr/bin/python3
"""Inputs and framework reference outputs for one corpus file (tools/corpus/check.sh calls it).

    /usr/bin/python3 tools/corpus/reference.py inputs ID FORMAT MODEL OUTDIR   # in_<i>.npy + inputs.json
    /usr/bin/python3 tools/corpus/reference.py outputs ID FORMAT MODEL OUTDIR  # ref_<name>.npy (Keras, PyTorch)
    /usr/bin/python3 tools/corpus/reference.py compare REFDIR EDGEDIR          # prints the max abs error

Inputs are seeded (the corpus id), batch 2, and 8 time steps wherever the model leaves a length open.
References: Keras files run through tools/keras_reference.py (an independent numpy implementation of Keras,
float64); PyTorch state_dicts through the module rebuilt from the repository's forward() in torch_models.py;
ONNX files through ONNX Runtime (tools/corpus/ort-run, called by check.sh). Exit 3 with one line when a file
has no reference (the reason is recorded), 1 on a real error.
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tools/, for keras_reference
sys.path.insert(0, HERE)

BATCH, STEPS = 2, 8


class NoReference(Exception):
    pass


def _dim(d, axis):
    if d is None or (isinstance(d, int) and d <= 0) or isinstance(d, str):
        return BATCH if axis == 0 else STEPS
    return int(d)


def _float(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


def onnx_inputs(model, rng):
    import onnx
    m = onnx.load(model, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    out = []
    for vi in m.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        shape = [_dim(d.dim_value if d.HasField("dim_value") else None, a) for a, d in enumerate(tt.shape.dim)]
        if tt.elem_type == onnx.TensorProto.FLOAT:
            a = _float(rng, shape)
        elif tt.elem_type in (onnx.TensorProto.INT64, onnx.TensorProto.INT32):
            # token ids: small, so that any embedding table of at least 10 rows holds them
            a = rng.integers(0, 10, shape).astype(np.int64 if tt.elem_type == onnx.TensorProto.INT64 else np.int32)
        else:
            raise NoReference(f"input '{vi.name}' has ONNX element type {tt.elem_type}")
        out.append((vi.name, a))
    return out


def keras_model(model):
    import keras_reference
    return keras_reference.load(model)


def keras_inputs(model, rng):
    config, _, weights = keras_model(model)
    layers = config["config"]["layers"]
    out = []
    inputs = [l for l in layers if l["class_name"] == "InputLayer"]
    if not inputs:  # Sequential without an InputLayer: the first layer carries the shape
        first = layers[0]
        shape = first["config"].get("batch_input_shape") or first["config"].get("batch_shape")
        if shape is None:
            raise NoReference("no input shape in the Keras config")
        inputs = [{"class_name": "InputLayer", "config": {"name": first["config"]["name"] + "_input",
                                                          "batch_input_shape": shape}, "_first": first}]
    for layer in inputs:
        c = layer["config"]
        shape = c.get("batch_input_shape") or c.get("batch_shape")
        if shape is None:
            raise NoReference(f"input layer '{c['name']}' has no shape")
        shape = [_dim(d, a) for a, d in enumerate(shape)]
        # the layer that reads it decides ints (Embedding) or floats
        readers = [l for l in layers if l is not layer and _reads(l, c["name"], config)] if "_first" not in layer else [layer["_first"]]
        emb = [l for l in readers if l["class_name"] == "Embedding"]
        if emb:
            a = rng.integers(0, min(10, int(emb[0]["config"]["input_dim"])), shape).astype(np.int64)
        else:
            a = _float(rng, shape)
        out.append((c["name"], a))
    return out


def _reads(layer, name, config):
    if config["class_name"] == "Sequential":
        layers = config["config"]["layers"]
        i = layers.index(layer)
        return i > 0 and layers[i - 1]["config"]["name"] == name
    return name in json.dumps(layer.get("inbound_nodes", []))


def keras_outputs(model, inputs):
    import keras_reference
    config, k, weights = keras_model(model)
    try:
        outs = keras_reference.run(config, k, weights, {n: a.astype(np.float64) for n, a in inputs})
    except (KeyError, NotImplementedError, ValueError) as e:
        raise NoReference(f"keras_reference.py cannot run it: {type(e).__name__}: {e}")
    return list(outs.items())


def torch_inputs(id_, rng):
    import torch_models
    if id_ not in torch_models.MODELS:
        raise NoReference("no module rebuilt from the repository's code")
    return [(n, f(rng)) for n, f in torch_models.MODELS[id_]["inputs"]]


def torch_outputs(id_, model, inputs):
    import torch
    import torch_models
    entry = torch_models.MODELS[id_]
    m = entry["build"]()
    sd = torch.load(model, map_location="cpu")
    m.load_state_dict(sd, strict=True)
    m.eval()
    torch.set_num_threads(1)
    with torch.no_grad():
        ys = m(*[torch.from_numpy(a) for _, a in inputs])
    if not isinstance(ys, (tuple, list)):
        ys = [ys]
    return [(n, y.numpy()) for n, y in zip(entry["outputs"], ys)]


def main():
    mode = sys.argv[1]
    try:
        if mode == "compare":
            return compare(sys.argv[2], sys.argv[3])
        id_, fmt, model, outdir = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
        os.makedirs(outdir, exist_ok=True)
        if mode == "inputs":
            rng = np.random.default_rng(id_)
            if fmt == "onnx":
                inputs = onnx_inputs(model, rng)
            elif fmt.startswith("keras"):
                inputs = keras_inputs(model, rng)
            elif fmt == "torch":
                inputs = torch_inputs(id_, rng)
            else:
                raise NoReference(f"no reference for format {fmt}")
            names = []
            for i, (n, a) in enumerate(inputs):
                np.save(os.path.join(outdir, f"in_{i}.npy"), a)
                names.append(n)
            with open(os.path.join(outdir, "inputs.json"), "w") as f:
                json.dump(names, f)
            return 0
        inputs = [(n, np.load(os.path.join(outdir, f"in_{i}.npy")))
                  for i, n in enumerate(json.load(open(os.path.join(outdir, "inputs.json"))))]
        if fmt.startswith("keras"):
            outs = keras_outputs(model, inputs)
        elif fmt == "torch":
            outs = torch_outputs(id_, model, inputs)
        else:
            raise NoReference(f"no Python reference for format {fmt}")
        for n, a in outs:
            np.save(os.path.join(outdir, "ref_" + n.replace("/", "_").replace("\\", "_") + ".npy"), np.asarray(a, np.float32))
        return 0
    except NoReference as e:
        print(f"no reference: {e}")
        return 3


def compare(refdir, edgedir):
    """Pairs the reference outputs with Edge's by name (or, one each, by position); prints max |diff| and max |ref|."""
    refs = {f[4:-4]: np.load(os.path.join(refdir, f)) for f in sorted(os.listdir(refdir)) if f.startswith("ref_")}
    got = {f[:-4]: np.load(os.path.join(edgedir, f)) for f in sorted(os.listdir(edgedir)) if f.endswith(".npy")}
    if not refs or not got:
        print("no outputs to compare")
        return 1
    pairs = [(n, refs[n], got[n]) for n in refs if n in got]
    if not pairs and len(refs) == 1 and len(got) == 1:
        pairs = [(next(iter(refs)), next(iter(refs.values())), next(iter(got.values())))]
    if len(pairs) != len(refs):
        print(f"outputs differ: reference {sorted(refs)}, edge {sorted(got)}")
        return 1
    err, scale = 0.0, 0.0
    for n, r, g in pairs:
        if r.size == g.size and r.shape != g.shape:
            g = g.reshape(r.shape)  # e.g. (N, 1) against (N,): same values, layout noted by the shape check below
        if r.shape != g.shape:
            print(f"shape of '{n}': reference {r.shape}, edge {g.shape}")
            return 1
        err = max(err, float(np.max(np.abs(r.astype(np.float64) - g))))
        scale = max(scale, float(np.max(np.abs(r))))
    print(f"{err:.2e} {scale:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
