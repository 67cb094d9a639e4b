"""In-context linear regression with a small GPT-2 (transformers GPT2Model on inputs_embeds):
task sampling, the model, resumable training and evaluation with prompt transforms.

Token format ("shifted pairing", see docs in config): token i = [x_i ; y_{i-1}] (y_0 = 0), and
the read-out at position i predicts y_i. Position i therefore sees x_1..x_i and y_1..y_{i-1} and
nothing else (causal attention): the prediction at position i is the in-context prediction
from k = i - 1 examples (k = 0..K-1), as in the paper's interleaved x_1, y_1, ..., x_query format
but with half the sequence length."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from paperdag.core.resume import Resumer


def discrete_tasks(p: dict) -> np.ndarray:
    """The fixed discrete task set W_N (N, d) ~ N(0, tau^2 I), drawn once from `tasks_seed`."""
    rng = np.random.default_rng(p["tasks_seed"])
    return p["tau"] * rng.standard_normal((p["n_tasks"], p["dim"]))


class ICLRegressor(nn.Module):
    def __init__(self, dim: int, seq_len: int, m: dict):
        super().__init__()
        from transformers import GPT2Config, GPT2Model

        cfg = GPT2Config(
            n_positions=seq_len, n_embd=m["width"], n_layer=m["layers"], n_head=m["heads"],
            resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, use_cache=False, vocab_size=1,
            bos_token_id=0, eos_token_id=0,
        )
        self.read_in = nn.Linear(dim + 1, m["width"])
        self.backbone = GPT2Model(cfg)
        self.read_out = nn.Linear(m["width"], 1)

    def forward(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """X (B, K, d), y (B, K) -> predictions (B, K); output k uses X[:, :k+1], y[:, :k]."""
        y_prev = torch.cat([torch.zeros_like(y[:, :1]), y[:, :-1]], dim=1)
        z = self.read_in(torch.cat([X, y_prev[..., None]], dim=-1))
        h = self.backbone(inputs_embeds=z).last_hidden_state
        return self.read_out(h)[..., 0]


def build_model(p: dict) -> ICLRegressor:
    return ICLRegressor(p["dim"], p["prompt_len"], p["model"])


def sample_batch(g: torch.Generator, n: int, p: dict, W: torch.Tensor, kind: str):
    """n prompts from D_mix ('mix'), D_disc ('disc') or D_cont ('cont')."""
    K, d = p["prompt_len"], p["dim"]
    X = torch.randn(n, K, d, generator=g)
    w_cont = p["tau"] * torch.randn(n, d, generator=g)
    w_disc = W[torch.randint(len(W), (n,), generator=g)]
    if kind == "cont":
        w = w_cont
    elif kind == "disc":
        w = w_disc
    else:
        is_disc = torch.rand(n, generator=g) < p["alpha"]
        w = torch.where(is_disc[:, None], w_disc, w_cont)
    y = torch.einsum("bkd,bd->bk", X, w) + p["sigma"] * torch.randn(n, K, generator=g)
    return X, y


def train(model: nn.Module, p: dict, W: np.ndarray, kind: str, steps: int, t: dict, resume_dir, tag: str, log, snapshots=(), on_snapshot=None) -> list[float]:
    """Adam on fresh prompts every step (loss: MSE summed over all prefix lengths, i.e. averaged
    over positions). Step s draws its batch from a generator seeded by (seed, s), so a run
    resumed from a checkpoint follows exactly the same trajectory. Returns the loss curve
    (mean per-dimension loss of every `log_every` steps)."""
    Wt = torch.as_tensor(W, dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=t["lr"])
    resumer = Resumer(resume_dir, tag, every=t["checkpoint_every"])
    hist = {"loss": []}
    start = resumer.restore(model, opt, extra=hist)
    model.train()
    run, cnt = 0.0, 0
    for step in range(start, steps):
        g = torch.Generator().manual_seed(t["seed"] * 1_000_003 + step)
        X, y = sample_batch(g, t["batch_size"], p, Wt, kind)
        loss = ((model(X, y) - y) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        run, cnt = run + loss.item() / p["dim"], cnt + 1
        if (step + 1) % t["log_every"] == 0:
            hist["loss"].append(run / cnt)
            log.info("%s step %d/%d loss/d %.4f", tag, step + 1, steps, run / cnt)
            run, cnt = 0.0, 0
        if (step + 1) in snapshots and on_snapshot is not None:
            on_snapshot(step + 1, model)
        resumer.maybe_save(step + 1, model, opt, extra=hist)
    model.eval()
    resumer.finish()
    return hist["loss"]


def eval_set(p: dict, W: np.ndarray, kind: str, n: int, seed: int):
    """A fixed evaluation set (float64 numpy): X (n, K, d), y (n, K), w (n, d)."""
    rng = np.random.default_rng(seed)
    K, d = p["prompt_len"], p["dim"]
    X = rng.standard_normal((n, K, d))
    if kind == "cont":
        w = p["tau"] * rng.standard_normal((n, d))
    else:
        w = W[rng.integers(len(W), size=n)]
    y = np.einsum("bkd,bd->bk", X, w) + p["sigma"] * rng.standard_normal((n, K))
    return X, y, w


def random_rotations(n: int, d: int, seed: int) -> np.ndarray:
    """n Haar-random orthogonal matrices (n, d, d) (QR of Gaussian matrices, sign-fixed)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d, d))
    Q, R = np.linalg.qr(A)
    return Q * np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]


@torch.no_grad()
def predict(model: nn.Module, X: np.ndarray, y: np.ndarray, gamma: float = 1.0, batch: int = 1000) -> np.ndarray:
    """Conjugate prompting with label scaling: run the model on (X, gamma * y) and divide its
    predictions by gamma (gamma = 1: the plain prompt)."""
    model.eval()
    out = []
    for i in range(0, len(X), batch):
        Xb = torch.as_tensor(X[i : i + batch], dtype=torch.float32)
        yb = torch.as_tensor(gamma * y[i : i + batch], dtype=torch.float32)
        out.append(model(Xb, yb).double().numpy() / gamma)
    return np.concatenate(out)
