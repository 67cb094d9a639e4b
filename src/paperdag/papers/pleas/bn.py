"""BatchNorm statistics re-estimation (used by the source models after training and by every
merged model), in its own module so that editing the merging code does not retrain sources."""

from __future__ import annotations

import torch


@torch.no_grad()
def bn_stats(net, batches) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Population statistics of every BatchNorm (cumulative average over `batches`, train-mode
    forward passes as in BN re-estimation / REPAIR)."""
    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum) for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    dev = next(net.parameters()).device
    net.train()
    for x in batches:
        net(x.to(dev))
    net.eval()
    out = {}
    for name, m in net.named_modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            out[name] = (m.running_mean.clone(), m.running_var.clone())
    for m, mom in zip(bns, saved):
        m.momentum = mom
    return out
