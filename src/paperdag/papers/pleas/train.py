"""Source models for pleas: model A and model B of a pair, trained from different seeds (and, at
paper scale, from two different hub checkpoints), each on its own task; then their BatchNorm
statistics are re-estimated on their own training data (the same procedure that the merged
models go through, so that budget 2.0 and the ensemble are compared on equal terms)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from paperdag.core.resume import Resumer

from .bn import bn_stats
from .nets import MLP, ResNet


def head_name(setting: str, t: str) -> str:
    return "all" if setting == "domains" else t


def build_source(p: dict, setting: str, t: str, in_shape, n_cls: int, seed: int):
    torch.manual_seed(seed)
    m = p["model"]
    heads = {head_name(setting, t): n_cls}
    if m["arch"] == "mlp":
        widths = {f"h{i}": m["hidden"] for i in range(m["depth"])}
        return MLP(int(np.prod(in_shape)), widths, heads)
    r = m["resnet"]
    net = ResNet(r["depths"], ResNet.base_widths(r["depths"], r["embedding_size"], r["hidden_sizes"]), heads, r.get("downsample_in_first_stage", False))
    src = r.get(f"init_{t}")
    if src:
        from transformers import ResNetForImageClassification

        hf = ResNetForImageClassification.from_pretrained(src)
        net.from_hf_state_dict(hf.state_dict(), head=head_name(setting, t))
    return net


def batches_of(x: np.ndarray, batch_size: int) -> list[torch.Tensor]:
    t = torch.as_tensor(x)
    return [t[i : i + batch_size] for i in range(0, len(t), batch_size)]


def train_source(net, x, y, head: str, tp: dict, seed: int, resume_dir, tag: str, log):
    opt = torch.optim.SGD(net.parameters(), lr=tp["lr"], momentum=tp["momentum"], weight_decay=tp["weight_decay"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=tp["epochs"])
    res = Resumer(resume_dir, tag, every=tp["checkpoint_every"])
    start = res.restore(net, opt)
    for _ in range(start):
        sched.step()
    dev = next(net.parameters()).device
    X, Y = torch.as_tensor(x), torch.as_tensor(y)
    loss = torch.tensor(float("nan"))
    for ep in range(start, tp["epochs"]):
        net.train()
        g = torch.Generator().manual_seed(seed * 7919 + ep)
        order = torch.randperm(len(X), generator=g)
        for i in range(0, len(X), tp["batch_size"]):
            idx = order[i : i + tp["batch_size"]]
            if len(idx) < 2:
                continue
            opt.zero_grad()
            loss = F.cross_entropy(net(X[idx].to(dev))[head], Y[idx].to(dev))
            loss.backward()
            opt.step()
        sched.step()
        res.maybe_save(ep + 1, net, opt)
        if (ep + 1) % max(1, tp["epochs"] // 5) == 0:
            log.info("%s epoch %d loss %.4f", tag, ep + 1, loss.item())
    refresh_bn(net, x, tp["bn_batch"])
    return net, res


def refresh_bn(net, x, batch_size):
    bn_stats(net, batches_of(x, batch_size))  # sets the running statistics in place
    net.eval()


@torch.no_grad()
def logits(net, x, head: str, batch_size: int = 512) -> torch.Tensor:
    net.eval()
    dev = next(net.parameters()).device
    return torch.cat([net(b.to(dev))[head].cpu() for b in batches_of(x, batch_size)])


def device_of(p: dict):
    """`device: cpu` (default/smoke: byte-identical metrics), `cuda`, or `auto` (cuda if present)."""
    want = p.get("device", "cpu")
    if want == "auto":
        want = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(want)


def accuracy_from_logits(lg: torch.Tensor, y) -> float:
    return float((lg.argmax(1) == torch.as_tensor(y)).double().mean())
