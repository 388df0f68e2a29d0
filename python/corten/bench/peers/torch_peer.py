"""PyTorch in a process of its own (see protocol.py): eager, or ``--compile`` for torch.compile.

Eager runs the kernel, training and inference cases; torch.compile runs the training cases,
with the module compiled (forward and backward) and the optimizer eager, as PyTorch's
documentation recommends. The models, optimizers (Keras's defaults: RMSprop rho 0.9,
epsilon 1e-7; Adam epsilon 1e-7), batching and shuffling match the Keras cases, and the loop
keeps the running loss and accuracy as fit() does.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import cases
import keras_models
import protocol


def mlp(torch: Any) -> Any:
    """The seeds' digits MLP: 784 -> 64 -> 64 -> 10, ReLU, logits."""
    nn = torch.nn
    return nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                         nn.Linear(64, 10))


def vae(torch: Any) -> Any:
    """The custom-layers guide's VAE (784-64-32); forward returns (reconstruction, KL term)."""
    nn = torch.nn

    class TorchVAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.mean = nn.Linear(784, 64), nn.Linear(64, 32)
            self.log_var = nn.Linear(64, 32)
            self.dec, self.out = nn.Linear(32, 64), nn.Linear(64, 784)

        def forward(self, inputs):
            h = torch.relu(self.enc(inputs))
            z_mean, z_log_var = self.mean(h), self.log_var(h)
            z = z_mean + torch.exp(0.5 * z_log_var) * torch.randn_like(z_mean)
            kl = -0.5 * torch.mean(z_log_var - z_mean.square() - z_log_var.exp() + 1)
            return torch.sigmoid(self.out(torch.relu(self.dec(z)))), kl

    return TorchVAE()


def transformer_classifier(torch: Any, maxlen: int = 200, vocab_size: int = 20000,
                           embed_dim: int = 32, num_heads: int = 2, ff_dim: int = 32) -> Any:
    """The PyTorch twin of keras-io's transformer text classifier (keras_models.py): the same
    layers and sizes, with Keras's initialisations (embeddings uniform in +-0.05, kernels
    Glorot-uniform, biases zero). Keras's MultiHeadAttention(num_heads, key_dim=embed_dim)
    projects to num_heads x embed_dim (64 here), which nn.MultiheadAttention cannot (its heads
    split embed_dim), so the block projects by hand and calls F.scaled_dot_product_attention,
    as PyTorch's own module does. Returns logits (the softmax is in the loss)."""
    nn = torch.nn
    functional = nn.functional
    inner = num_heads * embed_dim

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.query, self.key = nn.Linear(embed_dim, inner), nn.Linear(embed_dim, inner)
            self.value, self.out = nn.Linear(embed_dim, inner), nn.Linear(inner, embed_dim)

        def forward(self, x):
            b, t, _ = x.shape

            def heads(proj):  # (b, t, heads x key_dim) -> (b, heads, t, key_dim)
                return proj(x).view(b, t, num_heads, embed_dim).transpose(1, 2)

            y = functional.scaled_dot_product_attention(heads(self.query), heads(self.key),
                                                        heads(self.value))
            return self.out(y.transpose(1, 2).reshape(b, t, inner))

    class TransformerClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_emb = nn.Embedding(vocab_size, embed_dim)
            self.pos_emb = nn.Embedding(maxlen, embed_dim)
            self.att = SelfAttention()
            self.ffn = nn.Sequential(nn.Linear(embed_dim, ff_dim), nn.ReLU(),
                                     nn.Linear(ff_dim, embed_dim))
            self.layernorm1 = nn.LayerNorm(embed_dim, eps=1e-6)
            self.layernorm2 = nn.LayerNorm(embed_dim, eps=1e-6)
            self.dropout1, self.dropout2 = nn.Dropout(0.1), nn.Dropout(0.1)
            self.dropout3, self.dropout4 = nn.Dropout(0.1), nn.Dropout(0.1)
            self.dense, self.classifier = nn.Linear(embed_dim, 20), nn.Linear(20, 2)
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.xavier_uniform_(m.weight)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.Embedding):
                    nn.init.uniform_(m.weight, -0.05, 0.05)

        def forward(self, ids):
            positions = torch.arange(ids.shape[-1], device=ids.device)
            x = self.token_emb(ids) + self.pos_emb(positions)
            out1 = self.layernorm1(x + self.dropout1(self.att(x)))
            x = self.layernorm2(out1 + self.dropout2(self.ffn(out1)))
            x = self.dropout3(x.mean(1))
            x = self.dropout4(torch.relu(self.dense(x)))
            return self.classifier(x)

    return TransformerClassifier()


class TorchPeer(protocol.Peer):
    def __init__(self, threads: int, options: argparse.Namespace) -> None:
        super().__init__(threads, options)
        import torch

        self.torch = torch
        self.version = torch.__version__
        self.compile = options.compile
        self.library = "torch.compile" if self.compile else "torch"
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        self.device = torch.device(options.device)
        self.on_gpu = self.device.type == "cuda"
        if self.on_gpu:
            self.version += f" on {torch.cuda.get_device_name(self.device)}"

    def cases(self) -> list[str]:
        return cases.cases_for(self.library)

    def to_numpy(self, value: Any) -> Any:
        return value.detach().cpu().numpy()

    def sync(self) -> None:
        if self.on_gpu:
            self.torch.cuda.synchronize(self.device)

    def setup(self, case: str, inputs: list[Any], data: str | None) -> Callable[[], Any]:
        torch = self.torch
        spec = cases.BY_KEY[case]
        if spec.calls:
            return cases.kernel_call(spec, self.library, torch,
                                     [torch.from_numpy(a).to(self.device) for a in inputs])
        if case.startswith("training/fit toy ResNet"):
            return self._fit_toy_resnet(case)
        if case.startswith("training/fit BiLSTM"):
            return self._fit_bilstm(case)
        if case.startswith("training/fit Transformer"):
            return self._fit_transformer(case)
        d = protocol.load_training_data(data)
        x = torch.from_numpy(d["x"]).to(self.device)
        y = torch.from_numpy(d["y"]).to(self.device)
        if case.startswith("training/fit MLP"):
            return self._fit_mlp(x, y)
        if case.startswith("training/fit VAE"):
            return self._fit_vae(x)
        if case.startswith("training/GradientTape loop"):
            return self._tape_loop()
        model = self._mlp().to(self.device)
        xb = x[:cases.predict_rows(case)]

        def call():
            with torch.no_grad():
                return model(xb)

        return call

    def _maybe_compile(self, module):
        return self.torch.compile(module) if self.compile else module

    def _mlp(self):
        return mlp(self.torch)

    def _fit_mlp(self, tx, ty) -> Callable[[], float]:
        torch = self.torch
        model = self._mlp().to(self.device)
        opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
        forward = self._maybe_compile(model)
        loss_fn = torch.nn.CrossEntropyLoss()
        batch, steps = cases.BATCH, len(tx) // cases.BATCH

        def epoch() -> float:
            perm = torch.randperm(len(tx), device=self.device)
            total = torch.zeros((), device=self.device)
            correct = torch.zeros((), dtype=torch.int64, device=self.device)
            for i in range(0, len(tx), batch):
                idx = perm[i:i + batch]
                xb, yb = tx[idx], ty[idx]
                opt.zero_grad()
                logits = forward(xb)
                loss = loss_fn(logits, yb)
                loss.backward()
                opt.step()
                with torch.no_grad():  # the running loss and accuracy, as fit() keeps them
                    total += loss.detach()
                    correct += (logits.argmax(-1) == yb).sum()
            return float(total) / steps

        return epoch

    def _fit_vae(self, tx) -> Callable[[], float]:
        torch = self.torch
        model = vae(torch).to(self.device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
        forward = self._maybe_compile(model)
        batch, steps = cases.BATCH, len(tx) // cases.BATCH

        def epoch() -> float:
            perm = torch.randperm(len(tx), device=self.device)
            total = torch.zeros((), device=self.device)
            for i in range(0, len(tx), batch):
                xb = tx[perm[i:i + batch]]
                opt.zero_grad()
                recon, kl = forward(xb)
                loss = torch.mean((recon - xb) ** 2) + kl
                loss.backward()
                opt.step()
                with torch.no_grad():
                    total += loss.detach()
            return float(total) / steps

        return epoch

    def _epoch(self, model, opt, loss_fn, tx, ty, batch) -> Callable[[], float]:
        """One shuffled epoch as fit() runs it, the running loss kept on the side."""
        torch = self.torch
        forward = self._maybe_compile(model)
        steps = (len(tx) + batch - 1) // batch

        def epoch() -> float:
            model.train()
            perm = torch.randperm(len(tx), device=self.device)
            total = torch.zeros((), device=self.device)
            for i in range(0, len(tx), batch):
                idx = perm[i:i + batch]
                opt.zero_grad()
                loss = loss_fn(forward(tx[idx]), ty[idx])
                loss.backward()
                opt.step()
                with torch.no_grad():
                    total += loss.detach()
            return float(total) / steps

        return epoch

    def _fit_toy_resnet(self, case: str) -> Callable[[], float]:
        import numpy as np

        torch = self.torch
        nn = torch.nn

        class ToyResNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.c1, self.c2 = nn.Conv2d(3, 32, 3), nn.Conv2d(32, 64, 3)
                self.pool = nn.MaxPool2d(3)
                self.same = nn.ModuleList(nn.Conv2d(64, 64, 3, padding=1) for _ in range(4))
                self.c7 = nn.Conv2d(64, 64, 3)
                self.fc1, self.drop, self.fc2 = nn.Linear(64, 256), nn.Dropout(0.5), nn.Linear(
                    256, 10)

            def forward(self, x):
                b = self.pool(torch.relu(self.c2(torch.relu(self.c1(x)))))
                for i in (0, 2):
                    b = b + torch.relu(self.same[i + 1](torch.relu(self.same[i](b))))
                x = torch.relu(self.c7(b)).mean((2, 3))
                return self.fc2(self.drop(torch.relu(self.fc1(x))))

        xs, ys = keras_models.synthetic_data(np, case)
        tx = torch.from_numpy(xs).permute(0, 3, 1, 2).contiguous().to(self.device)  # NCHW, once
        ty = torch.from_numpy(ys.argmax(-1)).to(self.device)
        model = ToyResNet().to(self.device)
        opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
        return self._epoch(model, opt, nn.CrossEntropyLoss(), tx, ty,
                           keras_models.CIFAR_SHAPED[1])

    def _fit_bilstm(self, case: str) -> Callable[[], float]:
        import numpy as np

        torch = self.torch
        nn = torch.nn

        class BiLSTM(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(20000, 128)
                self.l1 = nn.LSTM(128, 64, batch_first=True, bidirectional=True)
                self.l2 = nn.LSTM(128, 64, batch_first=True, bidirectional=True)
                self.out = nn.Linear(128, 1)

            def forward(self, ids):
                x, _ = self.l1(self.emb(ids))
                _, (h, _) = self.l2(x)
                return torch.sigmoid(self.out(torch.cat([h[0], h[1]], -1)))

        xs, ys = keras_models.synthetic_data(np, case)
        model = BiLSTM().to(self.device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
        return self._epoch(model, opt, nn.BCELoss(), torch.from_numpy(xs).long().to(self.device),
                           torch.from_numpy(ys).to(self.device), keras_models.SEQUENCES[1])

    def _fit_transformer(self, case: str) -> Callable[[], float]:
        import numpy as np

        torch = self.torch
        xs, ys = keras_models.synthetic_data(np, case)
        model = transformer_classifier(torch).to(self.device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
        return self._epoch(model, opt, torch.nn.CrossEntropyLoss(),
                           torch.from_numpy(xs).long().to(self.device),
                           torch.from_numpy(ys).long().to(self.device), keras_models.SEQUENCES[1])

    def _tape_loop(self) -> Callable[[], float]:
        import numpy as np

        torch = self.torch
        rng = np.random.default_rng(0)
        dev = self.device
        x = torch.from_numpy(rng.normal(size=(32, 8)).astype(np.float32)).to(dev)
        y = torch.from_numpy(rng.normal(size=(32, 1)).astype(np.float32)).to(dev)
        params = [torch.from_numpy(rng.normal(size=(8, 16)).astype(np.float32) * 0.3).to(dev),
                  torch.zeros(16, device=dev), torch.from_numpy(
                      rng.normal(size=(16, 1)).astype(np.float32) * 0.3).to(dev),
                  torch.zeros(1, device=dev)]
        for p in params:
            p.requires_grad_(True)
        w1, b1, w2, b2 = params

        def loop() -> float:
            for _ in range(cases.TAPE_STEPS):
                pred = torch.tanh(x @ w1 + b1) @ w2 + b2
                loss = torch.mean(torch.square(pred - y))
                grads = torch.autograd.grad(loss, params)
                with torch.no_grad():
                    for p, g in zip(params, grads, strict=False):
                        p.sub_(0.01 * g)
            return float(loss)

        return loop


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--compile", action="store_true", help="torch.compile the module")
    parser.add_argument("--device", default="cpu", help="the torch device: cpu or cuda")


if __name__ == "__main__":
    protocol.serve(TorchPeer, _arguments)
