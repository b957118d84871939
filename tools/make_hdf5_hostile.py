#!/usr/bin/python3
"""Make the hostile HDF5 reproducers of Runtime.Tests/Fixtures/keras/hostile/ (issue 15).

    /usr/bin/python3 tools/make_hdf5_hostile.py [--out DIR]

Each file is the fixture keras/gru_reset_before/model.h5 rewritten with h5py (same attributes, same
weights) with one structure Keras never writes, made hostile:

  deflate_bomb.h5      head/bias:0 (2 floats, 8 bytes) stored chunked with a deflate filter whose one
                       chunk inflates to 64 MiB of zeros (written with write_direct_chunk).
  deflate_valid.h5     not hostile: every weight shuffled and deflated (chunked), as h5py writes when asked;
                       it must load to the same weights as the seed.
  huge_chunk.h5        head/bias:0 chunked and deflated, its layout message patched to chunks of 2^28 floats
                       (1 GiB): a filtered chunk is inflated into a buffer of the chunk's declared size.
  tiny_chunks.h5       every weight chunked one element per chunk (a large chunk B-tree for the file).
  deep_groups.h5       head's weight_names names a dataset 2,000 groups deep (compact v2 groups).
  v2_continuations.h5  libver='latest' (v2 "OHDR" object headers); the head group's header carries
                       300 attributes added one by one, which chain continuation blocks.
  v2_loop.h5           v2_continuations.h5 with the continuation message that leads to the last block
                       pointed back at the first block: the chain loops for ever.
  dense_fractal.h5     libver='latest'; model_weights holds 40 extra links (dense link storage: a
                       fractal heap and a v2 B-tree), and the fractal heap's header is patched to
                       declare a 2^40-byte managed space and a 2^30-byte starting block.

The files are written gzip-compressed (*.h5.gz) because two of them are mostly zeros; the tests
inflate them in memory. h5py is asked not to record dataset times; the v2 headers of the libver='latest'
files may still differ in a byte or two between runs (the tests do not depend on it).
"""

import argparse
import gzip
import io
import os
import struct
import zlib

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Runtime.Tests", "Fixtures", "keras")
SEED = os.path.join(FIXTURES, "gru_reset_before", "model.h5")
DEFAULT_OUT = os.path.join(FIXTURES, "hostile")


def copy_model(dst, libver="earliest", dataset_kw=None, after=None):
    """Copies the seed's attributes, groups and datasets into a new file; dataset_kw(path) gives
    create_dataset options per dataset, after(f) edits the new file before it is closed."""
    with h5py.File(SEED, "r") as src, h5py.File(dst, "w", libver=libver, track_order=False) as f:
        for k, v in src.attrs.items():
            f.attrs[k] = v

        def visit(name, obj):
            if isinstance(obj, h5py.Group):
                g = f.require_group(name)
                for k, v in obj.attrs.items():
                    g.attrs[k] = v
            else:
                kw = (dataset_kw or (lambda _: {}))(name)
                f.create_dataset(name, data=obj[()], track_times=False, **kw)

        src.visititems(visit)
        if after:
            after(f)


def deflate_bomb(path):
    target = "model_weights/head/head/bias:0"

    def kw(name):
        return {"chunks": (2,), "compression": "gzip"} if name == target else {}

    def after(f):
        # the chunk declares 8 bytes (2 float32); what it holds inflates to 64 MiB
        f[target].id.write_direct_chunk((0,), zlib.compress(bytes(64 << 20), 9), filter_mask=0)

    copy_model(path, dataset_kw=kw, after=after)


def deflate_valid(path):
    copy_model(path, dataset_kw=lambda name: {"compression": "gzip", "shuffle": True})


def huge_chunk(path):
    target = "model_weights/head/head/bias:0"
    copy_model(path, dataset_kw=lambda name: {"chunks": (2,), "compression": "gzip"} if name == target else {})
    with open(path, "rb") as fh:
        b = bytearray(fh.read())
    # Data layout message v3, chunked (HDF5 spec IV.A.2.i): version 3, class 2, dimensionality 2 (rank + 1),
    # B-tree address(O), chunk dimension 2 (4 bytes), element size 4 (4 bytes)
    at = b.find(bytes([3, 2, 2]))
    assert at > 0 and b[at + 11:at + 19] == struct.pack("<II", 2, 4), "expected the chunked layout of bias:0"
    struct.pack_into("<I", b, at + 11, 0x10000000)  # a chunk of 2^28 floats: 1 GiB
    with open(path, "wb") as fh:
        fh.write(b)


def tiny_chunks(path):
    def kw(name):
        return {"chunks": (1,) * 2 if "kernel" in name else (1,)}

    copy_model(path, dataset_kw=kw)


def deep_groups(path):
    depth = 2000

    def after(f):
        head = f["model_weights/head/head"]
        g = head
        for _ in range(depth):
            g = g.create_group("d")
        g.create_dataset("kernel:0", data=f["model_weights/head/head/kernel:0"][()], track_times=False)
        f["model_weights/head"].attrs["weight_names"] = np.array(
            [("head/" + "d/" * depth + "kernel:0").encode(), b"head/bias:0"])

    copy_model(path, libver="latest", after=after)


def v2_continuations(path):
    def after(f):
        g = f["model_weights/head"]
        for i in range(300):
            g.attrs[f"extra_{i:03d}"] = np.arange(i % 7 + 1, dtype=np.float64)

    copy_model(path, libver="latest", after=after)


def v2_loop(path):
    v2_continuations(path)
    with open(path, "rb") as fh:
        b = bytearray(fh.read())
    # A continuation message holds the next block's address(O) and length(L); the blocks start "OCHK".
    blocks = []
    at = b.find(b"OCHK")
    while at >= 0:
        blocks.append(at)
        at = b.find(b"OCHK", at + 1)
    assert len(blocks) >= 3, f"expected a chain of continuation blocks, found {len(blocks)}"

    def pointer(block):
        where = [i for i in range(len(b) - 16) if b[i:i + 8] == struct.pack("<Q", block)]
        assert len(where) == 1, f"expected one pointer to {block}, found {where}"
        return where[0]

    first = pointer(blocks[0])
    # the message that leads to the last block leads back to the first: the chain loops for ever
    b[pointer(blocks[-1]):pointer(blocks[-1]) + 16] = b[first:first + 16]
    with open(path, "wb") as fh:
        fh.write(b)


def dense_fractal(path):
    def after(f):
        g = f["model_weights"]
        for i in range(40):
            g.create_group(f"unused_{i:02d}")

    copy_model(path, libver="latest", after=after)
    with open(path, "rb") as fh:
        b = bytearray(fh.read())
    # Fractal heap header (HDF5 spec III.G): "FRHP" version(1) heap id length(2) filter length(2) flags(1)
    # max managed object size(4) next huge id(L) huge B-tree(O) free space(L) free space manager(O)
    # managed space(L) allocated managed space(L) iterator offset(L) managed objects(L) huge size(L)
    # huge count(L) tiny size(L) tiny count(L) table width(2) starting block size(L) max direct block
    # size(L) max heap size(2) ...; offsets and lengths are 8 bytes here.
    at = b.find(b"FRHP")
    assert at > 0 and b.find(b"FRHP", at + 1) < 0, "expected one fractal heap"
    managed = at + 4 + 1 + 2 + 2 + 1 + 4 + 8 + 8 + 8 + 8
    struct.pack_into("<Q", b, managed, 1 << 40)
    table_width = managed + 8 * 8
    struct.pack_into("<Q", b, table_width + 2, 1 << 30)
    # the header's checksum (Jenkins lookup3) no longer matches: a reader that checks it refuses the
    # file there, one that does not meets the sizes
    with open(path, "wb") as fh:
        fh.write(b)


CASES = {
    "deflate_bomb": deflate_bomb,
    "deflate_valid": deflate_valid,
    "huge_chunk": huge_chunk,
    "tiny_chunks": tiny_chunks,
    "deep_groups": deep_groups,
    "v2_continuations": v2_continuations,
    "v2_loop": v2_loop,
    "dense_fractal": dense_fractal,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, make in CASES.items():
        raw = os.path.join(args.out, name + ".h5")
        make(raw)
        with open(raw, "rb") as fh:
            data = fh.read()
        os.remove(raw)
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
            gz.write(data)
        with open(raw + ".gz", "wb") as fh:
            fh.write(buf.getvalue())
        print(f"{name}.h5.gz: {len(data)} bytes, {len(buf.getvalue())} compressed")


if __name__ == "__main__":
    main()
