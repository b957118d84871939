#!/usr/bin/python3
"""ONNX Runtime's own int8 versions of the perf/ bench models, for the peer comparison in docs/benchmarks.md.

Rewrites perf/models/{lstm200,forecaster50}.onnx into perf/models/*.ort-int8.onnx the way onnxruntime's
quantize_dynamic(model, out, per_channel=True, weight_type=QuantType.QInt8) rewrites them (the onnxruntime Python
package is not available here; Debian's python3-onnx is, and this is written from the operator specifications):

- LSTM -> com.microsoft::DynamicQuantizeLSTM: W (dir, 4H, in) and R (dir, 4H, H) transposed to (dir, in, 4H) and
  (dir, H, 4H), quantized symmetric int8 per output channel (per row of the original: scale = max|w| / 127, zero
  point 0, round half to even), scales and zero points of shape (dir, 4H); B, sequence_lens, initial_h/c and the
  attributes unchanged. ORT quantizes the activations dynamically inside the operator (u8, per call).
- MatMul with a constant B (none in these models) -> DynamicQuantizeLinear + MatMulInteger + Cast + Mul, the
  dynamic QOperator form.
Left in fp32, and said so: Conv (the forecaster's 6 x 200 x 4 head: quantize_dynamic would make it ConvInteger;
it is under 0.5 % of the forecaster's work) and GRU (quantize_dynamic has no GRU rewrite).

Numerical agreement with the fp32 model under ONNX Runtime is checked in Runtime.Tests (OrtInt8PeerTests).
Usage: tools/make_ort_int8.py [--check]   (--check: fail if the committed files differ from a fresh rewrite)
"""
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODELS = ["lstm200", "forecaster50"]


def quantize_per_channel(w, axis):
    """Symmetric int8 per channel along `axis`: scale = max|w| / 127 (an all-zero channel: scale 1), q = rint(w / s)."""
    other = tuple(i for i in range(w.ndim) if i != axis)
    amax = np.max(np.abs(w), axis=other, keepdims=True).astype(np.float32)
    scale = np.where(amax > 0, amax / np.float32(127), np.float32(1)).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, np.squeeze(scale, axis=other)


def rewrite(model):
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    new_nodes, drop = [], set()
    for node in g.node:
        if node.op_type == "LSTM":
            w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)  # (dir, 4H, in)
            r = numpy_helper.to_array(inits[node.input[2]]).astype(np.float32)  # (dir, 4H, H)
            wt = np.ascontiguousarray(np.transpose(w, (0, 2, 1)))  # (dir, in, 4H)
            rt = np.ascontiguousarray(np.transpose(r, (0, 2, 1)))  # (dir, H, 4H)
            wq, ws = quantize_per_channel(wt, axis=2)
            rq, rs = quantize_per_channel(rt, axis=2)
            ws = ws.reshape(w.shape[0], -1)
            rs = rs.reshape(r.shape[0], -1)
            base = node.name.strip("/").replace("/", "_") or "lstm"
            names = [f"{base}_W_quantized", f"{base}_W_scale", f"{base}_W_zero_point",
                     f"{base}_R_quantized", f"{base}_R_scale", f"{base}_R_zero_point"]
            g.initializer.extend([
                numpy_helper.from_array(wq, names[0]), numpy_helper.from_array(ws, names[1]),
                numpy_helper.from_array(np.zeros(ws.shape, np.int8), names[2]),
                numpy_helper.from_array(rq, names[3]), numpy_helper.from_array(rs, names[4]),
                numpy_helper.from_array(np.zeros(rs.shape, np.int8), names[5]),
            ])
            drop.update([node.input[1], node.input[2]])
            ins = list(node.input) + [""] * (8 - len(node.input))
            # DynamicQuantizeLSTM inputs: X, W, R, B, sequence_lens, initial_h, initial_c, P, W_scale, W_zero_point, R_scale, R_zero_point
            q_inputs = [ins[0], names[0], names[3], ins[3], ins[4], ins[5], ins[6], ins[7], names[1], names[2], names[4], names[5]]
            q = helper.make_node("DynamicQuantizeLSTM", q_inputs, list(node.output), name=node.name + "_quant", domain="com.microsoft")
            q.attribute.extend(node.attribute)
            new_nodes.append(q)
        elif node.op_type == "MatMul" and node.input[1] in inits:
            b = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)  # (K, N): channel = column
            bq, bs = quantize_per_channel(b, axis=1)
            base = (node.name.strip("/").replace("/", "_") or "matmul")
            g.initializer.extend([numpy_helper.from_array(bq, base + "_B_quantized"), numpy_helper.from_array(bs, base + "_B_scale"),
                                  numpy_helper.from_array(np.zeros(bs.shape, np.int8), base + "_B_zero_point")])
            drop.add(node.input[1])
            a = node.input[0]
            new_nodes += [
                helper.make_node("DynamicQuantizeLinear", [a], [base + "_A_q", base + "_A_scale", base + "_A_zp"], name=base + "_dql"),
                helper.make_node("MatMulInteger", [base + "_A_q", base + "_B_quantized", base + "_A_zp", base + "_B_zero_point"],
                                 [base + "_int32"], name=base + "_mmi"),
                helper.make_node("Cast", [base + "_int32"], [base + "_f"], to=TensorProto.FLOAT, name=base + "_cast"),
                helper.make_node("Mul", [base + "_A_scale", base + "_B_scale"], [base + "_scale"], name=base + "_scales"),
                helper.make_node("Mul", [base + "_f", base + "_scale"], list(node.output), name=base + "_dequant"),
            ]
        else:
            new_nodes.append(node)
    del g.node[:]
    g.node.extend(new_nodes)
    kept = [i for i in g.initializer if i.name not in drop or any(i.name in n.input for n in g.node)]
    del g.initializer[:]
    g.initializer.extend(kept)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    model.producer_name = "edge tools/make_ort_int8.py"
    return model


def main():
    check = "--check" in sys.argv[1:]
    bad = 0
    for name in MODELS:
        src = os.path.join(ROOT, "perf", "models", name + ".onnx")
        dst = os.path.join(ROOT, "perf", "models", name + ".ort-int8.onnx")
        model = rewrite(onnx.load(src))
        onnx.checker.check_model(model)
        data = model.SerializeToString()
        if check:
            with open(dst, "rb") as f:
                if f.read() != data:
                    print(f"{dst}: differs from a fresh rewrite of {src}", file=sys.stderr)
                    bad += 1
            continue
        with open(dst, "wb") as f:
            f.write(data)
        print(f"{dst}: {len(data)} bytes ({', '.join(sorted({n.op_type for n in model.graph.node if n.domain == 'com.microsoft'}))})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
