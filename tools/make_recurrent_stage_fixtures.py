#!/usr/bin/python3
"""Golden values for the staged recurrent cells (Runtime/Layers/LstmCell.cs, GruCell.cs; RecurrentCell's fp32 stages).

Writes Runtime.Tests/Fixtures/recurrent_stages/stages.json: per case the float32 inputs of a cell step (gate
pre-activations, state, peepholes) and the value after each stage, computed by PyTorch in float64 from those float32
inputs. The default LSTM cell and the GRU with linear_before_reset = 1 also go through torch.nn.LSTMCell / GRUCell
(an identity input weight and zero recurrent weight with the recurrent part as the hidden bias, so the module sees
exactly the given pre-activations); the ONNX-only variants (peepholes, clip, input_forget, other activations, GRU
with linear_before_reset = 0) follow the ONNX operator formulas with torch ops.

Run: /usr/bin/python3 tools/make_recurrent_stage_fixtures.py
"""
import json
import os

import torch

torch.manual_seed(16)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Runtime.Tests", "Fixtures", "recurrent_stages", "stages.json")


def f32(n, scale):
    return ((torch.rand(n, dtype=torch.float32) * 2 - 1) * scale)


def dump(t):
    return [float(v) for v in t.to(torch.float32).tolist()]


def act(name, x, alpha=0.0, beta=0.0):
    if name == "Sigmoid":
        return torch.sigmoid(x)
    if name == "Tanh":
        return torch.tanh(x)
    if name == "HardSigmoid":
        return torch.clamp(alpha * x + beta, 0.0, 1.0)
    if name == "Softsign":
        return torch.nn.functional.softsign(x)
    if name == "Elu":
        return torch.nn.functional.elu(x, alpha=alpha)
    raise ValueError(name)


def clip(x, c):
    return torch.clamp(x, -c, c) if c > 0 else x


def lstm_case(n, acts, clip_at, input_forget, peepholes):
    pre = f32(4 * n, 3.0)
    c = f32(n, 1.5)
    p = f32(3 * n, 0.8) if peepholes else torch.zeros(3 * n)
    (fa, fal, fbe), (ga, gal, gbe), (ha, hal, hbe) = acts
    P, C = pre.double(), c.double()
    pp = p.double()
    pi, pf, pg, po = P[:n], P[n:2 * n], P[2 * n:3 * n], P[3 * n:]
    i = act(fa, clip(pi + pp[:n] * C, clip_at), fal, fbe)
    f = 1 - i if input_forget else act(fa, clip(pf + pp[n:2 * n] * C, clip_at), fal, fbe)
    g = act(ga, clip(pg, clip_at), gal, gbe)
    c_new = f * C + i * g
    o = act(fa, clip(po + pp[2 * n:] * c_new, clip_at), fal, fbe)
    h_new = o * act(ha, c_new, hal, hbe)
    case = {
        "n": n, "activations": [[a, al, be] for a, al, be in acts], "clip": clip_at, "input_forget": input_forget,
        "pre": dump(pre), "c": dump(c), "peepholes": dump(p) if peepholes else None,
        "i": dump(i), "f": dump(f), "g": dump(g), "o": dump(o), "c_new": dump(c_new), "h_new": dump(h_new),
    }
    if acts == [("Sigmoid", 0, 0), ("Tanh", 0, 0), ("Tanh", 0, 0)] and clip_at == 0 and not input_forget and not peepholes:
        # The real module on the same pre-activations: x = pre through an identity W_ih, no recurrent part.
        cell = torch.nn.LSTMCell(4 * n, n).double()
        with torch.no_grad():
            cell.weight_ih.copy_(torch.eye(4 * n, dtype=torch.float64))
            cell.weight_hh.zero_()
            cell.bias_ih.zero_()
            cell.bias_hh.zero_()
            h_mod, c_mod = cell(P.unsqueeze(0), (torch.zeros(1, n, dtype=torch.float64), C.unsqueeze(0)))
        assert torch.allclose(h_mod[0], h_new, atol=1e-12) and torch.allclose(c_mod[0], c_new, atol=1e-12)
        case["module"] = "torch.nn.LSTMCell"
    return case


def gru_case(n, linear_before_reset, clip_at):
    x = f32(3 * n, 2.5)     # x W^T + b_W: [r | z | n]
    hp = f32(3 * n, 2.5)    # h R^T + b_R (linear_before_reset = 1), or its r and z parts
    h = f32(n, 1.0)
    X, HP, H = x.double(), hp.double(), h.double()
    rz = act("Sigmoid", clip(X[:2 * n] + HP[:2 * n], clip_at))
    r, z = rz[:n], rz[n:]
    case = {"n": n, "linear_before_reset": linear_before_reset, "clip": clip_at, "x": dump(x), "hp": dump(hp), "h": dump(h),
            "r": dump(r), "z": dump(z)}
    if linear_before_reset:
        n_pre = X[2 * n:] + r * HP[2 * n:]
    else:
        # (r·h) R_n^T + b_Rn with a small R_n; the reset stage's output r·h is checked on its own.
        rn = f32(n * n, 0.7).reshape(n, n)
        brn = f32(n, 0.5)
        rh = r * H
        n_pre = X[2 * n:] + rh @ rn.double().T + brn.double()
        case["rh"] = dump(rh)
    nn_ = act("Tanh", clip(n_pre, clip_at))
    h_new = (1 - z) * nn_ + z * H
    case.update({"n_pre": dump(n_pre), "candidate": dump(nn_), "h_new": dump(h_new)})
    if linear_before_reset and clip_at == 0:
        cell = torch.nn.GRUCell(3 * n, n).double()
        with torch.no_grad():
            cell.weight_ih.copy_(torch.eye(3 * n, dtype=torch.float64))
            cell.bias_ih.zero_()
            cell.weight_hh.zero_()
            cell.bias_hh.copy_(HP)
            h_mod = cell(X.unsqueeze(0), H.unsqueeze(0))
        assert torch.allclose(h_mod[0], h_new, atol=1e-12)
        case["module"] = "torch.nn.GRUCell"
    return case


cases = {
    "lstm_default_5": lstm_case(5, [("Sigmoid", 0, 0), ("Tanh", 0, 0), ("Tanh", 0, 0)], 0.0, False, False),
    "lstm_default_17": lstm_case(17, [("Sigmoid", 0, 0), ("Tanh", 0, 0), ("Tanh", 0, 0)], 0.0, False, False),
    "lstm_peepholes_clip_acts_6": lstm_case(6, [("HardSigmoid", 0.2, 0.5), ("Softsign", 0, 0), ("Elu", 1.0, 0)], 1.5, False, True),
    "lstm_input_forget_peepholes_4": lstm_case(4, [("Sigmoid", 0, 0), ("Tanh", 0, 0), ("Tanh", 0, 0)], 0.0, True, True),
    "gru_linear_before_reset_5": gru_case(5, 1, 0.0),
    "gru_linear_before_reset_clip_7": gru_case(7, 1, 1.2),
    "gru_reset_before_linear_6": gru_case(6, 0, 0.0),
}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as fh:
    json.dump({"generator": "tools/make_recurrent_stage_fixtures.py", "torch": torch.__version__, "cases": cases}, fh, indent=1)
print(OUT)
