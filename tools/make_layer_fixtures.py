#!/usr/bin/python3
"""Golden fixtures for Edge's non-recurrent layers (Runtime.Tests/Layers).

Run with Debian's interpreter (it has python3-torch 1.13 and numpy):
    /usr/bin/python3 tools/make_layer_fixtures.py
Writes Runtime.Tests/Fixtures/layers/<case>/{in_0.npy, in_1.npy, ..., out.npy}: the inputs of the
op in the order of the Edge IR node, and the expected output computed by PyTorch (or, where PyTorch
has no such layer, by the numpy reference written below). Seeds are fixed; the output is deterministic.
"""
import os
import shutil

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Runtime.Tests", "Fixtures", "layers")


def save(case, inputs, out):
    d = os.path.join(ROOT, case)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    for i, a in enumerate(inputs):
        a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
        np.save(os.path.join(d, f"in_{i}.npy"), np.ascontiguousarray(a))
    out = out.detach().numpy() if isinstance(out, torch.Tensor) else np.asarray(out)
    np.save(os.path.join(d, "out.npy"), np.ascontiguousarray(out))


# ── LocalLinear: copied from the seed (the unfold-based locally connected layer) ─────────────────
class LocalLinear(nn.Module):
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


def keras_locally_connected_1d(x, kernel, bias, kernel_size, stride):
    """numpy reference of Keras LocallyConnected1D (padding='valid'): x (N, L, C),
    kernel (folds, K*C, F) with the K*C axis in (k, c) row-major order, bias (folds, F)."""
    n, length, c = x.shape
    folds = (length - kernel_size) // stride + 1
    out = np.zeros((n, folds, kernel.shape[2]), dtype=np.float64)
    for p in range(folds):
        window = x[:, p * stride:p * stride + kernel_size, :].reshape(n, kernel_size * c)  # (k, c) row-major
        out[:, p, :] = window.astype(np.float64) @ kernel[p].astype(np.float64) + bias[p]
    return out.astype(np.float32)


def conv_cases():
    torch.manual_seed(1)
    # PyTorch 'same' (stride 1): even kernel 4 pads 1 left, 2 right (= IR auto_pad SAME_UPPER).
    conv = nn.Conv1d(3, 5, kernel_size=4, padding="same")
    x = torch.randn(2, 3, 11)
    save("conv1d_same_k4", [x, conv.weight, conv.bias], conv(x))
    conv = nn.Conv1d(3, 4, kernel_size=3, dilation=2, padding="same")
    x = torch.randn(2, 3, 9)
    save("conv1d_same_k3_d2", [x, conv.weight, conv.bias], conv(x))
    conv = nn.Conv1d(3, 4, kernel_size=3, stride=2)  # valid
    x = torch.randn(2, 3, 12)
    save("conv1d_valid_s2", [x, conv.weight, conv.bias], conv(x))
    conv = nn.Conv1d(4, 6, kernel_size=3, padding=1, groups=2, bias=False)
    x = torch.randn(3, 4, 7)
    save("conv1d_groups2_pad1", [x, conv.weight], conv(x))
    # Causal (Keras padding='causal'): left pad dilation*(K-1) then valid.
    conv = nn.Conv1d(2, 3, kernel_size=3, dilation=2)
    x = torch.randn(1, 2, 8)
    save("conv1d_causal_k3_d2", [x, conv.weight, conv.bias], conv(F.pad(x, [4, 0])))


def local_cases():
    torch.manual_seed(2)
    layer = LocalLinear(30, 4, kernel_size=5, padding=2, stride=3)
    x = torch.randn(8, 30)
    # The IR op is channels-last with C = 1: X (8, 30, 1), W (folds, K*1, F) = LocalLinear's weight.
    save("locallinear_p2_s3", [x.unsqueeze(-1), layer.weight, layer.bias], layer(x))
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 10, 3)).astype(np.float32)
    kernel = rng.standard_normal((4, 3 * 3, 5)).astype(np.float32)  # folds = (10 - 3) // 2 + 1 = 4
    bias = rng.standard_normal((4, 5)).astype(np.float32)
    save("lc1d_keras_c3", [x, kernel, bias], keras_locally_connected_1d(x, kernel, bias, 3, 2))


def bilinear_cases():
    torch.manual_seed(4)
    c = torch.randn(16, 32)
    r = torch.randn(16, 32)
    m = torch.randn(32, 32) * 0.1
    save("bilinear_b16_d32", [c, r, m], (c @ m * r).sum(1, keepdim=True))
    c1 = torch.randn(1, 24)
    r = torch.randn(10, 20)
    m = torch.randn(24, 20) * 0.1
    b = torch.tensor([0.25])
    save("bilinear_rank_nc1", [c1, r, m, b], (c1 @ m * r).sum(1, keepdim=True) + b)


def dense_embedding_softmax_cases():
    torch.manual_seed(5)
    lin = nn.Linear(7, 5)
    x = torch.randn(3, 4, 7)
    save("dense_3x4x7_to_5", [x, lin.weight, lin.bias], lin(x))
    emb = nn.Embedding(10, 6)
    idx = torch.tensor([[0, 9, 3], [3, 1, 7]], dtype=torch.int64)
    save("embedding_v10_d6", [idx, emb.weight], emb(idx))
    x = torch.randn(2, 3, 4) * 3
    save("softmax_axis1", [x], torch.softmax(x, dim=1))
    save("logsoftmax_last", [x], torch.log_softmax(x, dim=-1))
    # legacy_2d (ONNX opset < 13) with axis 1: flatten to (2, 12), softmax per row.
    save("softmax_legacy2d_axis1", [x], torch.softmax(x.reshape(2, 12), dim=1).reshape(2, 3, 4))


def gemm_matmul_cases():
    torch.manual_seed(6)
    a = torch.randn(4, 3)   # transA -> (3, 4)
    b = torch.randn(5, 4)   # transB -> (4, 5)
    c = torch.randn(5)      # broadcast over rows
    save("gemm_transA_transB_alpha_beta_cvec", [a, b, c], 0.5 * (a.T @ b.T) + 2.0 * c)
    a = torch.randn(3, 6)
    b = torch.randn(6, 2)
    c = torch.randn(3, 1)
    save("gemm_plain_ccol", [a, b, c], a @ b + c)
    a = torch.randn(2, 1, 3, 4)
    b = torch.randn(5, 4, 6)
    save("matmul_batch_broadcast", [a, b], torch.matmul(a, b))
    a = torch.randn(4)
    b = torch.randn(2, 4, 3)
    save("matmul_1d_by_3d", [a, b], torch.matmul(a, b))
    a = torch.randn(2, 3, 4)
    b = torch.randn(4)
    save("matmul_3d_by_1d", [a, b], torch.matmul(a, b))


# ── ONNX node conformance cases, converted to the Edge IR's attribute conventions ────────────────
ONNX_NODE_TESTS = "/usr/share/libonnx-testdata/data/node"
ONNX_PREFIXES = (
    "abs", "add", "cast", "concat", "constantofshape", "conv_with", "div", "elu", "exp", "expand", "flatten",
    "gather_0", "gather_1", "gather_2d", "gather_negative", "gemm", "hardsigmoid", "identity", "leakyrelu",
    "logsoftmax", "matmul_", "mul", "neg", "reduce_sum_", "relu", "reshape", "shape", "sigmoid", "slice",
    "softmax", "softplus", "softsign", "sqrt", "squeeze", "sub", "tanh", "transpose", "unsqueeze",
    "constant_pad", "edge_pad", "reflect_pad", "clip", "reduce_prod_",
)
# Redundant variants left out to keep the fixtures small (the kept ones cover each rule once).
ONNX_SKIP = (
    "reduce_sum_square", "_random", "transpose_all_permutations_1", "transpose_all_permutations_2",
    "transpose_all_permutations_3", "transpose_all_permutations_4", "concat_1d_axis_0", "concat_2d_axis_0",
    "concat_2d_axis_1", "concat_2d_axis_negative_1", "concat_3d_axis_0", "concat_3d_axis_2",
    "concat_3d_axis_negative_1", "concat_3d_axis_negative_3", "flatten_axis1", "flatten_axis3",
    "flatten_negative_axis2", "flatten_negative_axis3", "unsqueeze_axis_1", "unsqueeze_axis_2",
    "unsqueeze_axis_3", "unsqueeze_two_axes",
)
OP_KINDS = {"Conv": "Conv1D"}  # every other ONNX op_type has the same name in the IR (Shape -> OpKind.Shape)
ONNX_TO_EDGE_DTYPE = {1: 1, 7: 2, 6: 3, 3: 4}  # float, int64, int32, int8 -> Edge DataType values
NP_SUPPORTED = (np.float32, np.int64, np.int32, np.int8)


def onnx_node_cases():
    """Each kept test becomes layers/onnx/<test>/{in_i.npy, out.npy, node.json}; node.json holds the IR
    op kind and attributes. Tests whose dtypes or ops the fp32 runtime does not cover are skipped."""
    import json
    import onnx
    from onnx import numpy_helper

    out_root = os.path.join(ROOT, "onnx")
    if os.path.isdir(out_root):
        shutil.rmtree(out_root)
    kept = []
    for name in sorted(os.listdir(ONNX_NODE_TESTS)):
        if not name.startswith("test_") or "expanded" in name or not name[5:].startswith(ONNX_PREFIXES) \
                or any(k in name for k in ONNX_SKIP):
            continue
        model = onnx.load(os.path.join(ONNX_NODE_TESTS, name, "model.onnx"))
        if len(model.graph.node) != 1:
            continue
        node = model.graph.node[0]
        opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        data_dir = os.path.join(ONNX_NODE_TESTS, name, "test_data_set_0")
        ins, outs = [], []
        try:
            if any(not i.type.HasField("tensor_type") for i in list(model.graph.input) + list(model.graph.output)):
                continue  # sequences / optionals
            for i in range(len(model.graph.input)):
                t = onnx.TensorProto()
                t.ParseFromString(open(os.path.join(data_dir, f"input_{i}.pb"), "rb").read())
                ins.append(numpy_helper.to_array(t))
            t = onnx.TensorProto()
            t.ParseFromString(open(os.path.join(data_dir, "output_0.pb"), "rb").read())
            outs.append(numpy_helper.to_array(t))
        except ValueError:
            continue
        if any(a.dtype not in NP_SUPPORTED for a in ins + outs):
            continue
        # Inputs by position in the node (graph inputs are fed in the node's order in these tests).
        names = [i.name for i in model.graph.input]
        if list(node.input) != names[:len(node.input)]:
            continue
        attrs = {}
        ok = True
        for a in node.attribute:
            v = onnx.helper.get_attribute_value(a)
            if a.name == "to":
                if v not in ONNX_TO_EDGE_DTYPE:
                    ok = False
                attrs["to"] = {"int": ONNX_TO_EDGE_DTYPE.get(v, 0)}
            elif a.name == "value" and node.op_type == "ConstantOfShape":
                arr = numpy_helper.to_array(v)
                if arr.dtype.type not in NP_SUPPORTED:
                    ok = False
                    continue
                attrs["value"] = {"float": float(arr.reshape(-1)[0])}
                attrs["dtype"] = {"int": {np.float32: 1, np.int64: 2, np.int32: 3, np.int8: 4}[arr.dtype.type]}
            elif a.name == "kernel_shape":
                continue  # implied by W
            elif isinstance(v, bytes):
                attrs[a.name] = {"string": v.decode()}
            elif isinstance(v, int):
                attrs[a.name] = {"int": v}
            elif isinstance(v, float):
                attrs[a.name] = {"float": v}
            elif isinstance(v, list) and all(isinstance(x, int) for x in v):
                attrs[a.name] = {"ints": v}
            elif isinstance(v, list) and all(isinstance(x, float) for x in v):
                attrs[a.name] = {"floats": v}
            else:
                ok = False
        if not ok:
            continue
        kind = OP_KINDS.get(node.op_type, node.op_type)
        if kind == "Conv1D":
            if ins[0].ndim != 3:
                continue
        if kind in ("Softmax", "LogSoftmax") and opset < 13:
            attrs["legacy_2d"] = {"int": 1}
        if kind == "Pad" and "value" in attrs:
            pass  # opset < 11 attribute form, accepted as is
        d = os.path.join(out_root, name[5:])
        os.makedirs(d)
        for i, a in enumerate(ins):
            np.save(os.path.join(d, f"in_{i}.npy"), np.ascontiguousarray(a))
        np.save(os.path.join(d, "out.npy"), np.ascontiguousarray(outs[0]))
        with open(os.path.join(d, "node.json"), "w") as f:
            json.dump({"kind": kind, "opset": opset, "attributes": attrs}, f, indent=1, sort_keys=True)
        kept.append(name[5:])
    with open(os.path.join(out_root, "index.txt"), "w") as f:
        f.write("\n".join(kept) + "\n")
    print(len(kept), "ONNX node cases")


def main():
    onnx_node_cases()
    conv_cases()
    local_cases()
    bilinear_cases()
    dense_embedding_softmax_cases()
    gemm_matmul_cases()
    print("fixtures written to", os.path.normpath(ROOT))


if __name__ == "__main__":
    main()
