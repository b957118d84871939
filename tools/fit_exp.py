#!/usr/bin/python3
"""Fit the polynomial Runtime/Kernels/GateMath.cs evaluates for e^r on the reduced range |r| <= ln2 / 2.

    /usr/bin/python3 tools/fit_exp.py

e^r ~ 1 + r + r^2 (c2 + c3 r + c4 r^2 + c5 r^3 + c6 r^4): the first two coefficients are kept exact (1, 1), the
other five are fitted for the smallest maximum *relative* error, by weighted least squares on Chebyshev nodes
reweighted towards the largest errors (an iterative approximation of the minimax fit), in double precision.
Prints the coefficients rounded to float32 (GateMath's constants, with their bit patterns), the fit's error in
exact arithmetic, and the largest error in ulps of the whole exp (clamp, Cody-Waite reduction with ln2 split in
two, Horner with fused multiply-adds in float32, times 2^n) on GateMathTests' sweep, emulated here with numpy:
each fused multiply-add is a product and sum in double rounded once to float32, which is exact for the product of
two float32 values. Edge's own test (Runtime.Tests GateMathTests) checks the C# result against double.
Needs numpy (Debian's python3-numpy).
"""

import numpy as np

F = np.float32


def fit(nodes=4000, rounds=30):
    half = np.log(2.0) / 2
    r = np.cos(np.pi * (np.arange(nodes) + 0.5) / nodes) * half
    basis = np.vstack([r ** k for k in range(5)]).T
    target = (np.exp(r) - 1 - r) / r ** 2
    weight = r ** 2 / np.exp(r)  # the residual of the full polynomial, relative to e^r
    coeffs = np.linalg.lstsq(basis * weight[:, None], target * weight, rcond=None)[0]
    for _ in range(rounds):
        rel = (1 + r + r ** 2 * (basis @ coeffs)) / np.exp(r) - 1
        weight = weight * (np.abs(rel) / np.abs(rel).max() + 1e-3) ** 0.5
        coeffs = np.linalg.lstsq(basis * weight[:, None], target * weight, rcond=None)[0]
    rel = (1 + r + r ** 2 * (basis @ coeffs)) / np.exp(r) - 1
    return coeffs, float(np.abs(rel).max())


def fma(a, b, c):
    return F(np.float64(a) * np.float64(b) + np.float64(c))


def exp32(x, c):
    log2e, ln2_hi, ln2_lo = F(1.44269504088896341), F(0.693145751953125), F(1.42860682030941723e-6)
    x = np.minimum(np.maximum(x, F(-87)), F(87))
    n = np.round(F(x * log2e))  # numpy rounds half to even, as GateMath does
    r = fma(n, -ln2_hi, x)
    r = fma(n, -ln2_lo, r)
    p = fma(c[4], r, c[3])
    for k in (2, 1, 0):
        p = fma(p, r, c[k])
    p = fma(p, r, F(1))
    p = fma(p, r, F(1))
    return F(p * F(np.ldexp(F(1), n.astype(np.int32))))


def main():
    coeffs, err = fit()
    c = [F(v) for v in coeffs]
    print(f"fit: max relative error {err:.3g} in exact arithmetic")
    for k, v in enumerate(c, start=2):
        print(f"  C{k} = {v:.9g}f  (0x{int(np.array(v).view(np.int32)):08x})")
    xs = np.concatenate([np.arange(-200_000, 200_001) * F(1e-4), np.arange(-870_000, 870_001) * F(1e-4)]).astype(F)
    exact = np.exp(np.clip(xs.astype(np.float64), -87, 87))
    rounded = exact.astype(F)
    ulp = np.abs(np.nextafter(rounded, F(np.inf)) - rounded).astype(np.float64)
    got = exp32(xs, c).astype(np.float64)
    worst = np.abs(got - exact) / ulp
    print(f"exp in float32 (emulated): max {worst.max():.3f} ulp at x = {xs[np.argmax(worst)]}")


if __name__ == "__main__":
    main()
