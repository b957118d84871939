#!/usr/bin/python3
"""Make Runtime.Tests/Fixtures/onnx_external/: the lstm_multilayer fixture model with its weights in an external
data file, as torch 2.x exports large models (issue 17).

    /usr/bin/python3 tools/make_onnx_external.py

onnx.save_model(..., save_as_external_data=True) on Fixtures/models/lstm_multilayer/model.onnx: every tensor
(size_threshold=0) goes to model.onnx.data beside the model, at the offsets onnx chooses. The test
converts it and the inline model and checks the blobs are identical. Deterministic.
"""

import os

import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Runtime.Tests", "Fixtures")


def main():
    src = os.path.join(FIXTURES, "models", "lstm_multilayer", "model.onnx")
    out = os.path.join(FIXTURES, "onnx_external", "lstm_multilayer")
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    model = onnx.load(src)
    onnx.save_model(model, os.path.join(out, "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=0)
    check = onnx.load(os.path.join(out, "model.onnx"), load_external_data=False)
    external = [t.name for t in check.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    assert external, "expected external initializers"
    onnx.checker.check_model(os.path.join(out, "model.onnx"))
    for f in sorted(os.listdir(out)):
        print(f, os.path.getsize(os.path.join(out, f)), "bytes")
    print(len(external), "external tensors:", ", ".join(external))


if __name__ == "__main__":
    main()
