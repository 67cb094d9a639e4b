"""The learned name-matching model with the paper's objective (scaled down).

Encoder g: characters -> embeddings -> a small residual character CNN -> masked mean and max
pooling -> linear projection (the released models are character-level Transformers of 9M-31M
parameters, v1 a character/word LSTM; ours is a ~0.1M-parameter CNN, the fastest of these on one
CPU thread: a 2-layer Transformer of the same width ran ~5x slower per step here). Match probability of an alias pair from the distance of their
embeddings: d_ij = sqrt(mean_k (e_ik - e_jk)^2), p_ij = sigmoid(gamma * BN(d_ij) + beta) (a batch
norm on the distance, gamma learned). Loss: binary cross-entropy (= Bernoulli KL up to a constant)
to the label-smoothed soft target (1 - 0.1) m + 0.05. Batches of `batch` pairs, half positive, half
negative; a share `hard_share` of each half is mined adversarially from a pool (the positives
with the lowest p and the negatives with the highest p). Optimizer NAdam with a cosine-cycle
learning rate. Matching uses the distance d.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

MAXLEN = 40
VOCAB = " abcdefghijklmnopqrstuvwxyz0123456789"
CHAR = {ch: i + 2 for i, ch in enumerate(VOCAB)}  # 0 pad, 1 unknown


def encode_chars(names: list[str]) -> torch.Tensor:
    out = torch.zeros(len(names), MAXLEN, dtype=torch.long)
    for i, s in enumerate(names):
        ids = [CHAR.get(ch, 1) for ch in s[:MAXLEN]] or [1]
        out[i, : len(ids)] = torch.tensor(ids)
    return out


class Encoder(nn.Module):
    """Character CNN: embeddings -> `layers` 1-d convolutions (width 3, ReLU, residual) -> masked
    mean and max pooling -> linear projection."""

    def __init__(self, dim: int = 64, layers: int = 2, out_dim: int = 64):
        super().__init__()
        self.emb = nn.Embedding(len(VOCAB) + 2, dim, padding_idx=0)
        self.convs = nn.ModuleList(nn.Conv1d(dim, dim, 3, padding=1) for _ in range(layers))
        self.proj = nn.Linear(2 * dim, out_dim)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        keep = (chars != 0).unsqueeze(1).float()  # B x 1 x L
        h = self.emb(chars).transpose(1, 2)  # B x C x L
        for conv in self.convs:
            h = (h + torch.relu(conv(h))) * keep
        mean = h.sum(2) / keep.sum(2).clamp(min=1.0)
        mx = (h - 1e4 * (1 - keep)).max(2).values
        return self.proj(torch.cat([mean, mx], 1))


class MatchModel(nn.Module):
    """Encoder + the distance -> batch-norm -> sigmoid head of the paper."""

    def __init__(self, **kw):
        super().__init__()
        self.encoder = Encoder(**kw)
        self.bn = nn.BatchNorm1d(1)
        with torch.no_grad():
            self.bn.weight.fill_(-1.0)  # gamma < 0: closer -> more likely a match

    @staticmethod
    def distance(ea: torch.Tensor, eb: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(((ea - eb) ** 2).mean(-1) + 1e-8)

    def logit(self, ca: torch.Tensor, cb: torch.Tensor) -> torch.Tensor:
        d = self.distance(self.encoder(ca), self.encoder(cb))
        return self.bn(d.unsqueeze(-1)).squeeze(-1)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def lr_at(step: int, steps: int, base: float) -> float:
    """A cosine cycle over the first half, then a slow decay to a tenth."""
    half = max(1, steps // 2)
    if step < half:
        return base * (0.55 + 0.45 * math.cos(math.pi * step / half))
    return base * 0.1 * (1 + (steps - step) / max(1, steps - half))


def train(a: list[str], b: list[str], y: np.ndarray, cfg: dict, seed: int, log=None) -> tuple[MatchModel, dict]:
    """Trains the model on soft-labelled pairs; returns it and the loss trace."""
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    model = MatchModel(dim=cfg["dim"], layers=cfg["layers"], out_dim=cfg["out_dim"])
    init_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # the paper scale's GPU
    model.to(dev)
    opt = torch.optim.NAdam(model.parameters(), lr=cfg["lr"])
    ca, cb = encode_chars(a).to(dev), encode_chars(b).to(dev)
    yt = torch.tensor(y, dtype=torch.float32, device=dev)
    pos = np.flatnonzero(y > 0)
    neg = np.flatnonzero(y <= 0)
    half = cfg["batch"] // 2
    n_hard = int(round(cfg["hard_share"] * half))
    trace = []
    for step in range(cfg["steps"]):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg["steps"], cfg["lr"])
        idx = []
        for pool, hardest_low in ((pos, True), (neg, False)):
            cand = rng.choice(pool, cfg["pool_factor"] * half)
            if n_hard > 0:
                model.eval()
                with torch.no_grad():
                    lp = model.logit(ca[cand], cb[cand]).cpu().numpy()
                model.train()
                order = np.argsort(lp if hardest_low else -lp, kind="stable")
                hard = cand[order[:n_hard]]
                rest = rng.choice(pool, half - n_hard)
                idx.append(np.concatenate([hard, rest]))
            else:
                idx.append(cand[:half])
        bi = torch.from_numpy(np.concatenate(idx))
        target = (1 - cfg["label_smoothing"]) * yt[bi] + cfg["label_smoothing"] / 2
        logit = model.logit(ca[bi], cb[bi])
        loss = nn.functional.binary_cross_entropy_with_logits(logit, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        trace.append(float(loss.detach()))
        if log is not None and (step % max(1, cfg["steps"] // 10) == 0 or step == cfg["steps"] - 1):
            log.info("step %d/%d loss %.4f", step, cfg["steps"], float(np.mean(trace[-50:])))
    del g
    return model.cpu(), {"loss": trace, "init_state": init_state}


@torch.no_grad()
def embed(model: MatchModel | Encoder, names: list[str], batch: int = 512) -> np.ndarray:
    enc = model.encoder if isinstance(model, MatchModel) else model
    enc.eval()
    out = []
    for k in range(0, len(names), batch):
        out.append(enc(encode_chars(names[k : k + batch])).numpy())
    return np.concatenate(out) if out else np.zeros((0, enc.proj.out_features), np.float32)


def top1_accuracy(model, a: list[str], b: list[str]) -> float:
    """Held-out monitor of the package: for each name of a positive pair, is its partner the
    nearest among all partners?"""
    if not a:
        return float("nan")
    ea, eb = embed(model, a), embed(model, b)
    d = ((ea[:, None, :] - eb[None, :, :]) ** 2).mean(-1)
    return float(np.mean(np.argmin(d, axis=1) == np.arange(len(a))))


def released_pairs(pos_path: str, neg_path: str, limit: int | None = None) -> tuple[list[str], list[str], np.ndarray]:
    """The released training pairs (HF dataset cjerzak/LinkOrgs, `PosMatches_mat*.csv` /
    `NegMatches_mat*.csv`): alias columns `name1`, `name2`, soft label `matchProb` (negatives: 0
    when absent). Names get the package's preprocessing; identical strings are dropped."""
    import pandas as pd

    from .corpus import normalize

    a, b, y = [], [], []
    for path, default in ((pos_path, None), (neg_path, 0.0)):
        df = pd.read_csv(path, nrows=limit)
        if "name1" not in df or "name2" not in df:
            from paperdag.core.errors import PaperdagError

            raise PaperdagError(f"linkorgs: {path} has no name1/name2 columns (the released pair files' layout)")
        lab = df["matchProb"].astype(float) if "matchProb" in df else pd.Series(default or 0.0, index=df.index)
        for n1, n2, m in zip(df["name1"].astype(str), df["name2"].astype(str), lab):
            n1, n2 = normalize(n1), normalize(n2)
            if n1 and n2 and n1 != n2:
                a.append(n1)
                b.append(n2)
                y.append(float(m))
    return a, b, np.asarray(y, dtype=np.float32)
