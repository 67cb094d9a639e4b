"""Networks for catn. A *tower* maps an input to a representation (ReLU features); a *model*
is one or more towers whose representations are concatenated, plus a linear head.

- member: one tower (width h, representation r), trained alone: CATn concatenates n members;
- wide{n}: one tower of width n*h and representation n*r, trained in one episode;
- joint{n}: n towers + one head on their concatenation, trained in one episode (the paper's
  "n x ResNet-50 trained jointly" control: CATn's architecture, one episode);
- random{n}: n untrained members (a control: random ReLU features are strong on 8x8 digits).

`arch: mlp` (default/smoke) or `arch: resnet` (paper scale: a transformers ResNet trunk with
global-average-pooled features, the paper's ResNet family)."""

from __future__ import annotations

import torch
from torch import nn

from paperdag.core.errors import PaperdagError

from .plan import parse_spec, spec_name  # noqa: F401 (re-exported)


class MLPTower(nn.Module):
    def __init__(self, d_in: int, hidden: int, rep: int, depth: int = 2):
        super().__init__()
        layers, d = [], d_in
        for _ in range(depth):
            layers += [nn.Linear(d, hidden), nn.ReLU()]
            d = hidden
        layers += [nn.Linear(d, rep), nn.ReLU()]
        self.net = nn.Sequential(*layers)
        self.rep_dim = rep

    def forward(self, x):
        return self.net(x)


class ResNetTower(nn.Module):
    """A transformers ResNet trunk (ResNetConfig sizes from config) with pooled features."""

    def __init__(self, image_size: int, hidden_sizes: list[int], depths: list[int], embedding_size: int, layer_type: str):
        super().__init__()
        from transformers import ResNetConfig, ResNetModel

        cfg = ResNetConfig(
            num_channels=3, embedding_size=embedding_size, hidden_sizes=hidden_sizes, depths=depths,
            layer_type=layer_type, hidden_act="relu",
        )
        self.trunk = ResNetModel(cfg)
        self.image_size = image_size
        self.rep_dim = hidden_sizes[-1]

    def forward(self, x):
        x = x.view(len(x), 3, self.image_size, self.image_size)
        return self.trunk(pixel_values=x).pooler_output.flatten(1)


def make_tower(p: dict, d_in: int, width_mult: int = 1) -> nn.Module:
    m = p["model"]
    if m["arch"] == "mlp":
        return MLPTower(d_in, m["hidden"] * width_mult, m["rep"] * width_mult, m.get("depth", 2))
    r = m["resnet"]
    return ResNetTower(
        r["image_size"], [h * width_mult for h in r["hidden_sizes"]], r["depths"], r["embedding_size"] * width_mult, r["layer_type"]
    )


class Net(nn.Module):
    def __init__(self, towers: list[nn.Module], n_classes: int):
        super().__init__()
        self.towers = nn.ModuleList(towers)
        self.rep_dim = sum(t.rep_dim for t in towers)
        self.head = nn.Linear(self.rep_dim, n_classes)

    def features(self, x):
        return torch.cat([t(x) for t in self.towers], dim=1)

    def forward(self, x):
        return self.head(self.features(x))


def build(spec: dict, p: dict, d_in: int, n_classes: int) -> Net:
    """Deterministic construction: initialisation is drawn from `seed` alone."""
    torch.manual_seed(spec["seed"])
    if spec["kind"] == "member":
        towers = [make_tower(p, d_in)]
    elif spec["kind"] == "wide":
        towers = [make_tower(p, d_in, width_mult=spec["n"])]
    else:
        towers = [make_tower(p, d_in) for _ in range(spec["n"])]
    return Net(towers, n_classes)


def n_params(model: nn.Module, features_only: bool = True) -> int:
    mods = model.towers if features_only else model
    return sum(q.numel() for q in mods.parameters())
