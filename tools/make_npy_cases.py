#!/usr/bin/python3
"""Writes small .npy files with numpy itself, for Edge's .npy reader tests (Runtime.Tests/Tensors/NpyTests.cs).

Run: /usr/bin/python3 tools/make_npy_cases.py
"""
import os
import numpy as np

out = os.path.join(os.path.dirname(__file__), "..", "Runtime.Tests", "Fixtures", "npy")
os.makedirs(out, exist_ok=True)
base = np.arange(24).reshape(2, 3, 4)

np.save(os.path.join(out, "f32.npy"), (base / 7).astype(np.float32))
np.save(os.path.join(out, "f64.npy"), (base / 7).astype(np.float64))
np.save(os.path.join(out, "i64.npy"), (base - 12).astype(np.int64))
np.save(os.path.join(out, "i32.npy"), (base - 12).astype(np.int32))
np.save(os.path.join(out, "i8.npy"), (base - 12).astype(np.int8))
np.save(os.path.join(out, "scalar.npy"), np.float32(2.5))
np.save(os.path.join(out, "empty.npy"), np.zeros((0, 3), np.float32))
np.save(os.path.join(out, "vector.npy"), np.array([1.5, -2.0, 3.25], np.float32))
# refused
np.save(os.path.join(out, "fortran.npy"), np.asfortranarray((base / 7).astype(np.float32)))
np.save(os.path.join(out, "bool.npy"), base > 5)
np.save(os.path.join(out, "f16.npy"), base.astype(np.float16))
np.save(os.path.join(out, "bigendian.npy"), base.astype(">f4"))
with open(os.path.join(out, "f32.npy"), "rb") as f:
    data = f.read()
with open(os.path.join(out, "truncated.npy"), "wb") as f:
    f.write(data[:-5])
# format version 2.0 header
with open(os.path.join(out, "v2.npy"), "wb") as f:
    np.lib.format.write_array(f, (base / 7).astype(np.float32), version=(2, 0))
print("wrote", sorted(os.listdir(out)))
