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


def main():
    conv_cases()
    local_cases()
    bilinear_cases()
    dense_embedding_softmax_cases()
    gemm_matmul_cases()
    print("fixtures written to", os.path.normpath(ROOT))


if __name__ == "__main__":
    main()
