"""One training episode: ERM with SGD (momentum, cosine schedule, weight decay) on the source
task. Resumable: a checkpoint every `checkpoint_every` epochs in the stage's `.resume/` folder;
data order of epoch e is drawn from a generator seeded with (seed, e), so a resumed run follows
exactly the same trajectory as an uninterrupted one."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from paperdag.core.resume import Resumer

from .models import build


def train_model(spec: dict, p: dict, data: dict, resume_dir, tag: str, log) -> tuple[nn.Module, dict]:
    t = p["train"]
    X = torch.from_numpy(data["source_train_x"])
    Y = torch.from_numpy(data["source_train_y"])
    n_classes = int(len(data["source_classes"]))
    model = build(spec, p, X.shape[1], n_classes)
    opt = torch.optim.SGD(model.parameters(), lr=t["lr"], momentum=t["momentum"], weight_decay=spec["wd"])
    epochs, bs = t["epochs"], t["batch_size"]
    steps_per_epoch = math.ceil(len(X) / bs)
    total = epochs * steps_per_epoch
    sched = lambda step: 0.5 * t["lr"] * (1 + math.cos(math.pi * step / total))  # noqa: E731
    resumer = Resumer(resume_dir, tag, every=t["checkpoint_every"])
    hist = {"loss": []}
    start = resumer.restore(model, opt, extra=hist)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for epoch in tqdm(range(start, epochs), desc=tag, initial=start, total=epochs, mininterval=5, leave=False):
        g = torch.Generator().manual_seed(spec["seed"] * 100003 + epoch)
        perm = torch.randperm(len(X), generator=g)
        running = 0.0
        for i in range(steps_per_epoch):
            step = epoch * steps_per_epoch + i
            for group in opt.param_groups:
                group["lr"] = sched(step)
            idx = perm[i * bs : (i + 1) * bs]
            loss = loss_fn(model(X[idx]), Y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            running += loss.item() * len(idx)
        hist["loss"].append(running / len(X))
        resumer.maybe_save(epoch + 1, model, opt, extra=hist)
        if (epoch + 1) % max(1, epochs // 5) == 0:
            log.info("%s epoch %d/%d loss %.4f", tag, epoch + 1, epochs, hist["loss"][-1])
    model.eval()
    return model, {"loss": hist["loss"], "resumer": resumer}


@torch.no_grad()
def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    pred = model(torch.from_numpy(x)).argmax(1).numpy()
    return float((pred == y).mean())


@torch.no_grad()
def features(model: nn.Module, x: np.ndarray, batch: int = 1024) -> np.ndarray:
    model.eval()
    out = [model.features(torch.from_numpy(x[i : i + batch])).numpy() for i in range(0, len(x), batch)]
    return np.concatenate(out).astype(np.float64)
