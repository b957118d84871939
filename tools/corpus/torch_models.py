"""The corpus's PyTorch state_dicts as modules, rebuilt (written anew, same structure and forward) from each
repository's own forward(), so that tools/corpus/reference.py can run PyTorch on the file's weights.
Keys: the manifest id. Each entry: build() -> nn.Module whose state_dict keys are the file's, inputs
[(name, rng -> array)], outputs [names, in the order forward() returns them]. specs/<id>.json is the same
model written as an Edge spec (docs/spec.md); the two are written independently from the repository's code.
"""
import numpy as np
import torch
from torch import nn


def _f(*shape):
    return lambda rng: rng.standard_normal(shape).astype(np.float32)


def _ids(high, *shape):
    return lambda rng: rng.integers(0, high, shape).astype(np.int64)


class Lstm3Stock(nn.Module):  # 53: 23092003e/...Apache-Spark models/lstm.py
    def __init__(self):
        super().__init__()
        self.lstm1 = nn.LSTM(1, 128, batch_first=True)
        self.lstm2 = nn.LSTM(128, 64, batch_first=True)
        self.lstm3 = nn.LSTM(64, 32, batch_first=True)
        self.fc1 = nn.Linear(32, 16)
        self.fc2 = nn.Linear(16, 1)

    def forward(self, x):
        out, _ = self.lstm1(x)
        out, _ = self.lstm2(out)
        out, _ = self.lstm3(out)
        return self.fc2(torch.relu(self.fc1(out[:, -1, :])))


class AttentionPool(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.attn = nn.Linear(d, 1)

    def forward(self, x):
        w = torch.softmax(self.attn(x), dim=1)
        return torch.sum(w * x, dim=1)


class SpeechBiLstm(nn.Module):  # 54: 456sjq8756/Speech-Emotion-System model.py LSTM_Model
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(40, 128, num_layers=2, batch_first=True, bidirectional=True)
        self.attention = AttentionPool(256)
        self.fc = nn.Linear(256, 6)

    def forward(self, x):
        out, _ = self.lstm(x.permute(0, 2, 1))
        return self.fc(self.attention(out))


class LastStepLstm(nn.Module):  # 55, 56, 58, 74, 75: LSTM -> out[:, -1, :] -> fc
    def __init__(self, inp, hidden, layers, out=1):
        super().__init__()
        self.lstm = nn.LSTM(inp, hidden, layers, batch_first=True)
        self.fc = nn.Linear(hidden, out)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1, :])


class LastStepLstmFc1(nn.Module):  # 77: AstapovIE/NN_in_radiolocation neuron.ipynb LSTMModel (head named fc1)
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(240, 128, 2, batch_first=True)
        self.fc1 = nn.Linear(128, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc1(out[:, -1, :])


class LstmAutoencoder(nn.Module):  # 57: Aish328/pred_proj model.py at the file's commit
    def __init__(self):
        super().__init__()
        self.encoder = nn.LSTM(9, 128, 2, batch_first=True)
        self.latent = nn.Linear(128, 64)
        self.decoder_input = nn.Linear(64, 128)
        self.decoder = nn.LSTM(128, 128, 2, batch_first=True)
        self.output_layer = nn.Linear(128, 9)

    def forward(self, x):
        _, (h, _) = self.encoder(x)
        d = self.decoder_input(self.latent(h[-1]))
        out, _ = self.decoder(d.unsqueeze(1).repeat(1, x.shape[1], 1))
        return self.output_layer(out)


class CharLstm(nn.Module):  # 59: AntaresAnton/Deep-Learming-03 ejemplo01.py, the second LSTMModel
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(77, 128)
        self.lstm = nn.LSTM(128, 256, 2, batch_first=True)
        self.fc = nn.Linear(256, 77)

    def forward(self, x):
        out, _ = self.lstm(self.embedding(x))
        return self.fc(out[:, -1, :])


class BiLstmAnomaly(nn.Module):  # 60: AnthonyCampos1234/Pydaline models/lstm_detector.py
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 64, 2, batch_first=True, bidirectional=True)
        self.attention = nn.Sequential(nn.Linear(128, 64), nn.Tanh(), nn.Linear(64, 1), nn.Softmax(dim=1))
        self.reconstruction = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 5))
        self.classification = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.BatchNorm1d(64), nn.Dropout(0.3),
                                            nn.Linear(64, 1), nn.Sigmoid())

    def forward(self, x):
        out, _ = self.lstm(x)
        w = self.attention(out)
        ctx = torch.sum(w * out, dim=1)
        return self.reconstruction(ctx), self.classification(ctx), w


MODELS = {
    53: {"build": Lstm3Stock, "inputs": [("x", _f(2, 8, 1))], "outputs": ["y"]},
    54: {"build": SpeechBiLstm, "inputs": [("x", _f(2, 40, 8))], "outputs": ["logits"]},
    55: {"build": lambda: LastStepLstm(1, 50, 2), "inputs": [("x", _f(2, 8, 1))], "outputs": ["y"]},
    56: {"build": lambda: LastStepLstm(5, 126, 3), "inputs": [("x", _f(2, 8, 5))], "outputs": ["y"]},
    57: {"build": LstmAutoencoder, "inputs": [("x", _f(2, 8, 9))], "outputs": ["reconstructed"]},
    58: {"build": lambda: LastStepLstm(1, 50, 1), "inputs": [("x", _f(2, 8, 1))], "outputs": ["y"]},
    59: {"build": CharLstm, "inputs": [("tokens", _ids(77, 2, 8))], "outputs": ["logits"]},
    60: {"build": BiLstmAnomaly, "inputs": [("x", _f(2, 8, 5))],
         "outputs": ["reconstructed", "classification", "attention_weights"]},
    74: {"build": lambda: LastStepLstm(3, 64, 2, out=3), "inputs": [("x", _f(2, 8, 3))], "outputs": ["y"]},
    75: {"build": lambda: LastStepLstm(1, 64, 2), "inputs": [("x", _f(2, 8, 1))], "outputs": ["y"]},
    77: {"build": LastStepLstmFc1, "inputs": [("x", _f(2, 8, 240))], "outputs": ["y"]},
}
