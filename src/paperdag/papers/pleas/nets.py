"""Networks whose every hidden width is a named *permutation group*, so that a partially merged
model (wider groups: merged + A-private + B-private units) is the same class with other widths.

- `MLP`: Linear -> BatchNorm1d -> ReLU hidden layers (default/smoke scale), one or more heads.
- `ResNet`: a bottleneck ResNet laid out like transformers' `ResNetModel` (stem conv 7x7/2 +
  max-pool, stages of bottleneck blocks, projection shortcut in each stage's first block) with a
  free width per group; `from_hf_state_dict` loads a transformers `ResNetForImageClassification`
  checkpoint into it (paper scale).

`layer_specs(net)` lists every Conv/Linear with its BatchNorm, output group and input group
(None = an axis that is never permuted: the input pixels, or the classes of a head) and `owner`
('both' for a layer both models have, 'a'/'b' for a task head only one model has). The
residual stream of a ResNet stage is one group (shortcut and every block's last conv write it).
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F


class MLP(nn.Module):
    def __init__(self, in_dim: int, widths: dict[str, int], heads: dict[str, int]):
        super().__init__()
        self.kind = "mlp"
        self.in_dim = int(in_dim)
        self.widths = {k: int(v) for k, v in widths.items()}
        self.head_sizes = {k: int(v) for k, v in heads.items()}
        self.order = list(self.widths)  # h0, h1, ...
        dims = [self.in_dim] + [self.widths[g] for g in self.order]
        self.fcs = nn.ModuleList(nn.Linear(dims[i], dims[i + 1]) for i in range(len(self.order)))
        self.bns = nn.ModuleList(nn.BatchNorm1d(dims[i + 1]) for i in range(len(self.order)))
        self.heads = nn.ModuleDict({k: nn.Linear(dims[-1], v) for k, v in self.head_sizes.items()})

    def features(self, x):
        for fc, bn in zip(self.fcs, self.bns):
            x = F.relu(bn(fc(x)))
        return x

    def forward(self, x):
        h = self.features(x)
        return {k: head(h) for k, head in self.heads.items()}

    def arch(self) -> dict:
        return {"kind": "mlp", "in_dim": self.in_dim, "widths": self.widths, "heads": self.head_sizes}

    def group_stage(self) -> dict[str, int]:
        return {g: i for i, g in enumerate(self.order)}

    def specs(self) -> list[dict]:
        out, prev = [], None
        for i, g in enumerate(self.order):
            out.append(dict(name=f"fcs.{i}", bn=f"bns.{i}", out=g, inp=prev, kind="linear"))
            prev = g
        for k in self.head_sizes:
            out.append(dict(name=f"heads.{k}", bn=None, out=None, inp=prev, kind="linear", head=k))
        return out


class Bottleneck(nn.Module):
    def __init__(self, cin, cmid1, cmid2, cout, stride, shortcut: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cmid1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cmid1)
        self.conv2 = nn.Conv2d(cmid1, cmid2, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cmid2)
        self.conv3 = nn.Conv2d(cmid2, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        if shortcut:
            self.sc = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
            self.sc_bn = nn.BatchNorm2d(cout)
        else:
            self.sc = None

    def forward(self, x):
        r = self.sc_bn(self.sc(x)) if self.sc is not None else x
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        return F.relu(self.bn3(self.conv3(h)) + r)


class ResNet(nn.Module):
    """Bottleneck ResNet with free group widths. Groups: 'stem', 's{i}' (residual stream of
    stage i), 's{i}b{j}m1', 's{i}b{j}m2' (the two inner widths of block j)."""

    def __init__(self, depths: list[int], widths: dict[str, int], heads: dict[str, int], downsample_in_first_stage: bool = False):
        super().__init__()
        self.kind = "resnet"
        self.depths = [int(d) for d in depths]
        self.widths = {k: int(v) for k, v in widths.items()}
        self.head_sizes = {k: int(v) for k, v in heads.items()}
        self.downsample_in_first_stage = bool(downsample_in_first_stage)
        w = self.widths
        self.stem = nn.Conv2d(3, w["stem"], 7, stride=2, padding=3, bias=False)
        self.stem_bn = nn.BatchNorm2d(w["stem"])
        blocks, prev = [], "stem"
        for i, d in enumerate(self.depths):
            for j in range(d):
                stride = 2 if (j == 0 and (i > 0 or self.downsample_in_first_stage)) else 1
                blocks.append(Bottleneck(w[prev], w[f"s{i}b{j}m1"], w[f"s{i}b{j}m2"], w[f"s{i}"], stride, shortcut=(j == 0)))
                prev = f"s{i}"
        self.blocks = nn.ModuleList(blocks)
        self.heads = nn.ModuleDict({k: nn.Linear(w[prev], v) for k, v in self.head_sizes.items()})

    @staticmethod
    def base_widths(depths, embedding_size, hidden_sizes, reduction=4) -> dict[str, int]:
        w = {"stem": int(embedding_size)}
        for i, (d, h) in enumerate(zip(depths, hidden_sizes)):
            w[f"s{i}"] = int(h)
            for j in range(d):
                w[f"s{i}b{j}m1"] = w[f"s{i}b{j}m2"] = int(h) // reduction
        return w

    def features(self, x):
        x = F.relu(self.stem_bn(self.stem(x)))
        x = F.max_pool2d(x, 3, 2, 1)
        for b in self.blocks:
            x = b(x)
        return x.mean(dim=(2, 3))

    def forward(self, x):
        h = self.features(x)
        return {k: head(h) for k, head in self.heads.items()}

    def arch(self) -> dict:
        return {"kind": "resnet", "depths": self.depths, "widths": self.widths, "heads": self.head_sizes, "downsample_in_first_stage": self.downsample_in_first_stage}

    def group_stage(self) -> dict[str, int]:
        st = {"stem": 0}
        for g in self.widths:
            if g != "stem":
                st[g] = 1 + int(g[1:].split("b")[0])
        return st

    def specs(self) -> list[dict]:
        out = [dict(name="stem", bn="stem_bn", out="stem", inp=None, kind="conv")]
        prev, k = "stem", 0
        for i, d in enumerate(self.depths):
            for j in range(d):
                p = f"blocks.{k}"
                if j == 0:
                    out.append(dict(name=f"{p}.sc", bn=f"{p}.sc_bn", out=f"s{i}", inp=prev, kind="conv"))
                out.append(dict(name=f"{p}.conv1", bn=f"{p}.bn1", out=f"s{i}b{j}m1", inp=prev, kind="conv"))
                out.append(dict(name=f"{p}.conv2", bn=f"{p}.bn2", out=f"s{i}b{j}m2", inp=f"s{i}b{j}m1", kind="conv"))
                out.append(dict(name=f"{p}.conv3", bn=f"{p}.bn3", out=f"s{i}", inp=f"s{i}b{j}m2", kind="conv"))
                prev, k = f"s{i}", k + 1
        for h in self.head_sizes:
            out.append(dict(name=f"heads.{h}", bn=None, out=None, inp=prev, kind="linear", head=h))
        return out

    def from_hf_state_dict(self, sd: dict, head: str | None = None) -> None:
        """Copy a transformers ResNetForImageClassification / ResNetModel state dict into this
        network (same sizes). `head`: the name of this network's head that takes the
        checkpoint's classifier (if the checkpoint has one with the same number of classes)."""
        pre = "resnet." if any(k.startswith("resnet.") for k in sd) else ""
        mine = self.state_dict()
        new = {}

        def conv_layer(dst_conv, dst_bn, src):
            new[f"{dst_conv}.weight"] = sd[f"{pre}{src}.convolution.weight"]
            for t in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
                new[f"{dst_bn}.{t}"] = sd[f"{pre}{src}.normalization.{t}"]

        conv_layer("stem", "stem_bn", "embedder.embedder")
        k = 0
        for i, d in enumerate(self.depths):
            for j in range(d):
                src = f"encoder.stages.{i}.layers.{j}"
                if j == 0:
                    conv_layer(f"blocks.{k}.sc", f"blocks.{k}.sc_bn", f"{src}.shortcut")
                for c in range(3):
                    conv_layer(f"blocks.{k}.conv{c + 1}", f"blocks.{k}.bn{c + 1}", f"{src}.layer.{c}")
                k += 1
        if head is not None and "classifier.1.weight" in sd and sd["classifier.1.weight"].shape == mine[f"heads.{head}.weight"].shape:
            new[f"heads.{head}.weight"] = sd["classifier.1.weight"]
            new[f"heads.{head}.bias"] = sd["classifier.1.bias"]
        for key, v in mine.items():
            new.setdefault(key, v)
        self.load_state_dict(new)


def build(arch: dict) -> nn.Module:
    if arch["kind"] == "mlp":
        return MLP(arch["in_dim"], arch["widths"], arch["heads"])
    if arch["kind"] == "resnet":
        return ResNet(arch["depths"], arch["widths"], arch["heads"], arch.get("downsample_in_first_stage", False))
    raise ValueError(f"unknown network kind {arch['kind']}")


def get_module(net: nn.Module, name: str) -> nn.Module:
    m = net
    for part in name.split("."):
        m = getattr(m, part) if not part.isdigit() else m[int(part)]
    return m


def layer_flops(layer: nn.Module, out_hw: int) -> int:
    """Multiply-adds of a dense Conv/Linear (out x in x kernel x output positions)."""
    w = layer.weight
    return int(w.numel() * out_hw)
