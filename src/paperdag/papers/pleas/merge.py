"""PLeaS: permutation matching (weight / activation, Git Re-Basin), partial merging at a FLOPs
budget, the layer-wise least-squares step, and BatchNorm re-estimation.

Conventions. Each permutation group g has n_g units in A and in B. A matching is
`perm[g][i] = j`: unit i of A is matched with unit j of B; `score[g][i]` is the similarity of that
pair (higher = better). A *layout* of a merged group lists the A units merged (`am`), their B
partners (`bm`), the A units kept separate (`as_`) and the B units kept separate (`bs`); merged
units come first, then A-private, then B-private, so the merged width is |am| + |as_| + |bs|.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from .bn import bn_stats  # noqa: F401  (re-exported: merge.bn_stats)
from .nets import build, get_module


# ---------------------------------------------------------------------------------------------
# layouts and ratios


@dataclass
class Layout:
    am: np.ndarray
    bm: np.ndarray
    as_: np.ndarray
    bs: np.ndarray

    @property
    def width(self) -> int:
        return len(self.am) + len(self.as_) + len(self.bs)

    def slices(self):
        k, a = len(self.am), len(self.as_)
        return slice(0, k), slice(k, k + a), slice(k + a, self.width)


def make_layout(perm: np.ndarray, score: np.ndarray, ratio: float) -> Layout:
    """Merge the (1 - ratio) * n best-scoring matched pairs; keep the rest of A and of B apart."""
    n = len(perm)
    k = n - int(round(ratio * n))
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="stable")
    am = np.sort(order[:k])
    bm = np.asarray(perm)[am]
    as_ = np.setdiff1d(np.arange(n), am)
    bs = np.setdiff1d(np.arange(n), bm)
    return Layout(am.astype(np.int64), bm.astype(np.int64), as_.astype(np.int64), bs.astype(np.int64))


def identity_matching(widths: dict) -> tuple[dict, dict]:
    return {g: np.arange(n) for g, n in widths.items()}, {g: np.zeros(n) for g, n in widths.items()}


# ---------------------------------------------------------------------------------------------
# matching


def solve_lap(sim: np.ndarray) -> np.ndarray:
    """perm[i] = j maximising sum_i sim[i, perm[i]] (scipy's Hungarian solver)."""
    rows, cols = linear_sum_assignment(sim, maximize=True)
    perm = np.empty(sim.shape[0], dtype=np.int64)
    perm[rows] = cols
    return perm


@torch.no_grad()
def capture(net, batches, names: list[str], kind: str = "output") -> dict[str, list[torch.Tensor]]:
    """Inputs or outputs of the named modules on each batch (eval mode)."""
    net.eval()
    dev = next(net.parameters()).device
    store = {n: [] for n in names}
    hooks = []
    for n in names:
        m = get_module(net, n)
        if kind == "output":
            hooks.append(m.register_forward_hook(lambda mod, i, o, n=n: store[n].append(o.detach().cpu())))
        else:
            hooks.append(m.register_forward_hook(lambda mod, i, o, n=n: store[n].append(i[0].detach().cpu())))
    try:
        for x in batches:
            net(x.to(dev))
    finally:
        for h in hooks:
            h.remove()
    return store


def _units(t: torch.Tensor) -> torch.Tensor:
    """(N, C[, H, W]) -> (C, N*H*W) as float64."""
    if t.dim() == 4:
        t = t.permute(1, 0, 2, 3).reshape(t.shape[1], -1)
    else:
        t = t.t()
    return t.double()


ACTIVATION_COSTS = ("sqdist_bn", "dist_prebn_bn_relu")
DEFAULT_ACTIVATION_COST = "sqdist_bn"


def _sqdist(ua: torch.Tensor, ub: torch.Tensor) -> torch.Tensor:
    return ua.pow(2).sum(1, keepdim=True) + ub.pow(2).sum(1)[None, :] - 2 * ua @ ub.t()


def _dist(ua: torch.Tensor, ub: torch.Tensor) -> torch.Tensor:
    return _sqdist(ua, ub).clamp_min(0).sqrt()


def activation_matching(net_a, net_b, batches, cost: str = DEFAULT_ACTIVATION_COST) -> tuple[dict, dict]:
    """Git Re-Basin activation matching, one assignment problem per group, similarity = -cost
    summed over every batch of the merge data (all samples and positions of a unit are one vector).

    `cost`:
    - `sqdist_bn` (default, the paper's specification: Git Re-Basin's activation matching,
      min_P sum_x ||Z_A - P Z_B||^2 over the layer's features): squared Euclidean distance between
      unit activations at the output of the group's BatchNorms.
    - `dist_prebn_bn_relu` (what the official code computes, `activation_matching.py`: the default
      `cross_features_cdist` summed over the graph nodes of the group): plain (not squared)
      Euclidean distances at the Conv/Linear output (pre-BN), the BatchNorm output and the ReLU of
      it, added up. Unlike the official code, every batch counts: its `compute_matching_costs`
      keeps only the last batch (a tuple key never equals the `Axis` dataclass key, so each batch
      overwrites the sum). On a ResNet's residual stream, ReLU(BN output) stands for the ReLU
      after the residual addition (an approximation; exact for the MLPs)."""
    if cost not in ACTIVATION_COSTS:
        raise ValueError(f"unknown activation matching cost '{cost}' (one of {', '.join(ACTIVATION_COSTS)})")
    specs = [s for s in net_a.specs() if s["out"] is not None]
    bns = [s["bn"] for s in specs]
    layers = [s["name"] for s in specs]
    sims = {}
    for x in batches:  # one batch at a time: memory does not grow with the merge data
        names = bns + (layers if cost == "dist_prebn_bn_relu" else [])
        ca = capture(net_a, [x], names)
        cb = capture(net_b, [x], names)
        for s in specs:
            g = s["out"]
            ua, ub = _units(ca[s["bn"]][0]), _units(cb[s["bn"]][0])
            if cost == "sqdist_bn":
                d = -_sqdist(ua, ub)
            else:
                pa, pb = _units(ca[s["name"]][0]), _units(cb[s["name"]][0])
                d = -(_dist(pa, pb) + _dist(ua, ub) + _dist(ua.clamp_min(0), ub.clamp_min(0)))
            sims[g] = sims.get(g, 0) + d
    perm, score = {}, {}
    for g, sim in sims.items():
        sim = sim.numpy()
        perm[g] = solve_lap(sim)
        score[g] = sim[np.arange(len(perm[g])), perm[g]]
    return perm, score


def _permute_axis(t: torch.Tensor, axis: int, idx) -> torch.Tensor:
    return t.index_select(axis, torch.as_tensor(idx, dtype=torch.long))


def weight_matching(net_a, net_b, seed: int = 0, max_iter: int = 100) -> tuple[dict, dict]:
    """Git Re-Basin weight matching: coordinate ascent over groups (random order) maximising
    sum of <W_A, P W_B P'^T> over every weight / BatchNorm vector touching the group."""
    sa = {k: v.detach().cpu() for k, v in net_a.state_dict().items()}
    sb = {k: v.detach().cpu() for k, v in net_b.state_dict().items()}
    specs = [s for s in net_a.specs() if s.get("head") is None or s["head"] in getattr(net_b, "head_sizes", {})]
    widths = net_a.widths
    perm = {g: np.arange(n) for g, n in widths.items()}
    rng = np.random.default_rng(seed)
    groups = list(widths)

    def sim_for(g):
        n = widths[g]
        S = torch.zeros(n, n, dtype=torch.float64)
        for s in specs:
            wa, wb = sa[f"{s['name']}.weight"].double(), sb[f"{s['name']}.weight"].double()
            if s["out"] == g:
                if s["inp"] is not None:
                    wb = _permute_axis(wb, 1, perm[s["inp"]])
                S += wa.reshape(n, -1) @ wb.reshape(n, -1).t()
                vecs = ["bias"] if f"{s['name']}.bias" in sa else []
                for v in vecs:
                    S += sa[f"{s['name']}.{v}"].double()[:, None] * sb[f"{s['name']}.{v}"].double()[None, :]
                if s["bn"]:
                    for v in ("weight", "bias"):
                        S += sa[f"{s['bn']}.{v}"].double()[:, None] * sb[f"{s['bn']}.{v}"].double()[None, :]
            if s["inp"] == g:
                if s["out"] is not None:
                    wb = _permute_axis(wb, 0, perm[s["out"]])
                S += wa.transpose(0, 1).reshape(n, -1) @ wb.transpose(0, 1).reshape(n, -1).t()
        return S.numpy()

    for _ in range(max_iter):
        improved = False
        for gi in rng.permutation(len(groups)):
            g = groups[gi]
            S = sim_for(g)
            old = S[np.arange(len(perm[g])), perm[g]].sum()
            new_perm = solve_lap(S)
            new = S[np.arange(len(new_perm)), new_perm].sum()
            if new > old + 1e-12:
                perm[g] = new_perm
                improved = True
        if not improved:
            break
    score = {}
    for g in groups:
        S = sim_for(g)
        score[g] = S[np.arange(len(perm[g])), perm[g]]
    return perm, score


# ---------------------------------------------------------------------------------------------
# partial merge: weights, FLOPs


def _block(wa, wb, lo: Layout | None, li: Layout | None, owner: str):
    """The merged tensor of a Conv/Linear weight (first two axes out, in), zero cross blocks."""
    if owner != "both":
        w = wa if owner == "a" else wb
        if li is None:
            return w.clone()
        out = torch.zeros((w.shape[0], li.width) + tuple(w.shape[2:]), dtype=w.dtype)
        sm, sa, sb = li.slices()
        if owner == "a":
            out[:, sm] = _permute_axis(w, 1, li.am)
            out[:, sa] = _permute_axis(w, 1, li.as_)
        else:
            out[:, sm] = _permute_axis(w, 1, li.bm)
            out[:, sb] = _permute_axis(w, 1, li.bs)
        return out
    n_out = wa.shape[0] if lo is None else lo.width
    n_in = wa.shape[1] if li is None else li.width
    out = torch.zeros((n_out, n_in) + tuple(wa.shape[2:]), dtype=wa.dtype)
    # row selections: (dest slice, A rows, B rows) for merged; A-private; B-private
    if lo is None:
        all_rows = np.arange(wa.shape[0])
        rows = {"m": (slice(None), all_rows, all_rows), "a": None, "b": None}
    else:
        sm, sa, sb = lo.slices()
        rows = {"m": (sm, lo.am, lo.bm), "a": (sa, lo.as_, None), "b": (sb, None, lo.bs)}
    if li is None:
        all_cols = np.arange(wa.shape[1])
        cols = {"m": (slice(None), all_cols, all_cols), "a": None, "b": None}
    else:
        sm, sa, sb = li.slices()
        cols = {"m": (sm, li.am, li.bm), "a": (sa, li.as_, None), "b": (sb, None, li.bs)}

    def take(w, r, c):
        return _permute_axis(_permute_axis(w, 0, r), 1, c)

    # merged rows: half of A's and B's contributions
    dr, ar, br = rows["m"]
    dc, ac, bc = cols["m"]
    out[dr, dc] = 0.5 * (take(wa, ar, ac) + take(wb, br, bc))
    if cols["a"] is not None:
        dca, aca, _ = cols["a"]
        out[dr, dca] = 0.5 * take(wa, ar, aca)
        dcb, _, bcb = cols["b"]
        out[dr, dcb] = 0.5 * take(wb, br, bcb)
    if rows["a"] is not None:
        dra, ara, _ = rows["a"]
        drb, _, brb = rows["b"]
        out[dra, dc] = take(wa, ara, ac)
        out[drb, dc] = take(wb, brb, bc)
        if cols["a"] is not None:
            out[dra, cols["a"][0]] = take(wa, ara, cols["a"][1])
            out[drb, cols["b"][0]] = take(wb, brb, cols["b"][2])
    return out


def _vec(va, vb, lo: Layout | None, owner: str):
    if owner == "a":
        return va.clone()
    if owner == "b":
        return vb.clone()
    if lo is None:
        return 0.5 * (va + vb)
    return torch.cat([0.5 * (va[lo.am] + vb[lo.bm]), va[lo.as_], vb[lo.bs]])


def allowed_mask(lo: Layout | None, li: Layout | None, n_out: int, n_in: int, owner: str = "both") -> torch.Tensor:
    """Boolean (out, in) mask of the weights a merged layer may use: everything except the
    A-private <-> B-private cross blocks (and, for a task head, the other model's private units)."""
    m = torch.ones(n_out, n_in, dtype=torch.bool)
    if li is None:
        return m
    _, ia, ib = li.slices()
    if owner == "a":
        m[:, ib] = False
        return m
    if owner == "b":
        m[:, ia] = False
        return m
    if lo is None:
        return m
    _, oa, ob = lo.slices()
    m[oa, ib] = False
    m[ob, ia] = False
    return m


def merged_arch(arch_a: dict, arch_b: dict, layouts: dict) -> dict:
    arch = dict(arch_a)
    arch["widths"] = {g: layouts[g].width for g in arch_a["widths"]}
    heads = dict(arch_a["heads"])
    heads.update(arch_b["heads"])
    arch["heads"] = heads
    return arch


def head_owner(spec, net_a, net_b) -> str:
    h = spec.get("head")
    if h is None:
        return "both"
    in_a, in_b = h in net_a.head_sizes, h in net_b.head_sizes
    return "both" if (in_a and in_b) else ("a" if in_a else "b")


def partial_merge(net_a, net_b, layouts: dict):
    """Build the partially merged network (see module doc) from the two sources and layouts."""
    arch = merged_arch(net_a.arch(), net_b.arch(), layouts)
    merged = build(arch)
    sa = {k: v.detach().cpu() for k, v in net_a.state_dict().items()}
    sb = {k: v.detach().cpu() for k, v in net_b.state_dict().items()}
    new = {}
    for s in merged.specs():
        owner = head_owner(s, net_a, net_b)
        lo = layouts[s["out"]] if s["out"] is not None else None
        li = layouts[s["inp"]] if s["inp"] is not None else None
        wa = sa.get(f"{s['name']}.weight")
        wb = sb.get(f"{s['name']}.weight")
        new[f"{s['name']}.weight"] = _block(wa, wb, lo, li, owner)
        if f"{s['name']}.bias" in merged.state_dict():
            new[f"{s['name']}.bias"] = _vec(sa.get(f"{s['name']}.bias"), sb.get(f"{s['name']}.bias"), lo, owner)
        if s["bn"]:
            for v in ("weight", "bias", "running_mean", "running_var"):
                new[f"{s['bn']}.{v}"] = _vec(sa[f"{s['bn']}.{v}"], sb[f"{s['bn']}.{v}"], lo, "both")
            new[f"{s['bn']}.num_batches_tracked"] = torch.zeros((), dtype=torch.long)
    merged.load_state_dict(new)
    merged.to(next(net_a.parameters()).device)
    merged.eval()
    return merged


@torch.no_grad()
def output_positions(net, x) -> dict[str, int]:
    """Output positions (H*W for a conv, 1 for a linear layer) of every Conv/Linear, per sample."""
    specs = net.specs()
    outs = capture(net, [x[:1]], [s["name"] for s in specs])
    return {n: int(np.prod(v[0].shape[2:])) if v[0].dim() == 4 else 1 for n, v in outs.items()}


def layer_table(net_a, net_b) -> list[dict]:
    """Every Conv/Linear of the merged network: groups, fixed sizes, kernel size and owner."""
    rows = []
    seen = set()
    for net in (net_a, net_b):
        for s in net.specs():
            if s["name"] in seen:
                continue
            seen.add(s["name"])
            w = get_module(net, s["name"]).weight
            rows.append(dict(name=s["name"], out=s["out"], inp=s["inp"], n_out=w.shape[0], n_in=w.shape[1],
                             k=int(np.prod(w.shape[2:])) if w.dim() == 4 else 1, head=s.get("head"),
                             owner=head_owner(s, net_a, net_b)))
    return rows


def merge_flops(table: list[dict], layouts: dict | None, positions: dict, budget_heads: bool = True) -> float:
    """Multiply-adds of one forward pass of the partially merged network described by `layouts`,
    not counting the zero cross blocks (per layer: (1 + r_in)(1 + r_out) - 2 r_in r_out times
    one model's cost when the merged pairs are a share 1 - r). With `layouts` None: one source
    model (layers of model A). Task heads are skipped when `budget_heads` is False."""
    total = 0
    for t in table:
        if t["head"] is not None and not budget_heads:
            continue
        if layouts is None:
            if t["owner"] == "b":
                continue
            n = t["n_out"] * t["n_in"]
        else:
            lo = layouts[t["out"]] if t["out"] is not None else None
            li = layouts[t["inp"]] if t["inp"] is not None else None
            n_out = lo.width if lo is not None else t["n_out"]
            n_in = li.width if li is not None else t["n_in"]
            n = int(allowed_mask(lo, li, n_out, n_in, t["owner"]).sum())
        total += n * t["k"] * positions[t["name"]]
    return float(total)


@torch.no_grad()
def direct_flops(net, x) -> float:
    """Multiply-adds counted on a real forward pass: nonzero weights x output positions of every
    Conv/Linear (an independent check of `merge_flops`)."""
    total = [0]

    def hook(mod, i, o):
        pos = int(np.prod(o.shape[2:])) if o.dim() == 4 else 1
        total[0] += int((mod.weight != 0).sum()) * pos

    hooks = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    net.eval()
    net(x[:1].to(next(net.parameters()).device))
    for h in hooks:
        h.remove()
    return float(total[0])


def ratios_for_budget(budget: float, groups: list[str], flops_fn, rule: str = "uniform", group_stage: dict | None = None) -> dict:
    """Per-group ratios (share of units kept separate) whose merged FLOPs / one model's FLOPs
    is as close as possible to `budget`. `uniform`: one ratio for every group, by bisection;
    `zip`: the first stages fully merged, the later ones fully separate (the official launchers'
    --use_zip_ratios), choosing the number of merged stages closest to the budget."""
    if rule == "uniform":
        lo, hi = 0.0, 1.0
        if flops_fn({g: 1.0 for g in groups}) <= budget + 1e-9:
            return {g: 1.0 for g in groups}
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            if flops_fn({g: mid for g in groups}) > budget:
                hi = mid
            else:
                lo = mid
        return {g: lo for g in groups}
    if rule == "zip":
        stages = sorted(set(group_stage.values()))
        best = None
        for k in range(len(stages) + 1):
            merged_stages = set(stages[:max(k, 1)])  # the stem / first stage is always merged
            r = {g: (0.0 if group_stage[g] in merged_stages else 1.0) for g in groups}
            f = flops_fn(r)
            if best is None or abs(f - budget) < best[0] - 1e-12:
                best = (abs(f - budget), r)
        # also the no-merge point (ensemble) if budget ~ 2
        r_all = {g: 1.0 for g in groups}
        if abs(flops_fn(r_all) - budget) < best[0] - 1e-12:
            best = (abs(flops_fn(r_all) - budget), r_all)
        return best[1]
    raise ValueError(f"unknown ratio rule {rule}")


# ---------------------------------------------------------------------------------------------
# least squares


def _merge_features(fa: torch.Tensor, fb: torch.Tensor, lay: Layout | None) -> torch.Tensor:
    """Target merged features along axis 1: [(A_M + B_pi(M))/2 ; A_SA ; B_SB]."""
    if lay is None:
        return 0.5 * (fa + fb)
    return torch.cat([0.5 * (_permute_axis(fa, 1, lay.am) + _permute_axis(fb, 1, lay.bm)), _permute_axis(fa, 1, lay.as_), _permute_axis(fb, 1, lay.bs)], 1)


def _design(x: torch.Tensor, layer, positions_per_image: int | None, gen: torch.Generator | None) -> torch.Tensor:
    """Rows = samples (x output positions for a conv), columns = the layer's inputs (in x k x k)."""
    if x.dim() == 4:
        cols = F.unfold(x, layer.kernel_size, dilation=layer.dilation, padding=layer.padding, stride=layer.stride)  # N, C*k*k, L
        if positions_per_image is not None and cols.shape[2] > positions_per_image:
            idx = torch.randperm(cols.shape[2], generator=gen)[:positions_per_image]
            cols = cols[:, :, idx]
        return cols.permute(0, 2, 1).reshape(-1, cols.shape[1])
    return x


def _targets(y: torch.Tensor, layer, positions_per_image, gen) -> torch.Tensor:
    if y.dim() == 4:
        n, c = y.shape[:2]
        y = y.reshape(n, c, -1)
        if positions_per_image is not None and y.shape[2] > positions_per_image:
            idx = torch.randperm(y.shape[2], generator=gen)[:positions_per_image]
            y = y[:, :, idx]
        return y.permute(0, 2, 1).reshape(-1, c)
    return y


def ls_problems(net_a, net_b, merged, layouts: dict, batches, positions_per_image: int | None = None, seed: int = 0,
                max_rows: int | None = None):
    """For every Conv/Linear that both models own, the least-squares problem of PLeaS, built
    batch by batch: the design X~ (merged target inputs from the ORIGINAL models' activations,
    unfolded for a conv, plus a ones column when the layer has a bias) and the targets Y~ (merged
    target pre-activation outputs), kept as sufficient statistics G = X~^T X~, R = X~^T Y~,
    sum(Y~^2) and the row count (for the closed form and the error), and as up to `max_rows`
    rows (for the Adam variant; None = all); the initial (permutation-merged) weight W0 as an
    (out, cols) matrix; the mask of allowed weights (cross blocks excluded)."""
    specs = [s for s in merged.specs() if head_owner(s, net_a, net_b) == "both"]
    names = [s["name"] for s in specs]
    probs = {}
    for s in specs:
        layer = get_module(merged, s["name"])
        lo = layouts[s["out"]] if s["out"] is not None else None
        li = layouts[s["inp"]] if s["inp"] is not None else None
        w = layer.weight.detach().cpu().double()
        kk = int(np.prod(w.shape[2:])) if w.dim() == 4 else 1
        W0 = w.reshape(w.shape[0], -1)
        mask = allowed_mask(lo, li, w.shape[0], w.shape[1])
        if kk > 1:
            mask = mask.repeat_interleave(kk, dim=1)
        has_bias = layer.bias is not None
        if has_bias:
            W0 = torch.cat([W0, layer.bias.detach().cpu().double()[:, None]], 1)
            mask = torch.cat([mask, torch.ones(mask.shape[0], 1, dtype=torch.bool)], 1)
        c = W0.shape[1]
        probs[s["name"]] = {"G": torch.zeros(c, c, dtype=torch.float64), "R": torch.zeros(c, W0.shape[0], dtype=torch.float64),
                            "YY": 0.0, "N": 0, "X": [], "Y": [], "W0": W0, "mask": mask, "shape": tuple(w.shape), "bias": has_bias,
                            "lo": lo, "li": li, "layer": layer}
    for i, x in enumerate(batches):
        xa, xb = capture(net_a, [x], names, "input"), capture(net_b, [x], names, "input")
        ya, yb = capture(net_a, [x], names, "output"), capture(net_b, [x], names, "output")
        for name, p in probs.items():
            # the same random positions for X and Y of one batch
            g1 = torch.Generator().manual_seed(seed * 100003 + i)
            g2 = torch.Generator().manual_seed(seed * 100003 + i)
            X = _design(_merge_features(xa[name][0], xb[name][0], p["li"]), p["layer"], positions_per_image, g1).double()
            Y = _targets(_merge_features(ya[name][0], yb[name][0], p["lo"]), p["layer"], positions_per_image, g2).double()
            if p["bias"]:
                X = torch.cat([X, torch.ones(X.shape[0], 1, dtype=X.dtype)], 1)
            p["G"] += X.t() @ X
            p["R"] += X.t() @ Y
            p["YY"] += float((Y * Y).sum())
            p["N"] += X.shape[0]
            kept = sum(len(t) for t in p["X"])
            if max_rows is None or kept < max_rows:  # max_rows 0: no rows kept (closed form only)
                take = X.shape[0] if max_rows is None else min(X.shape[0], max_rows - kept)
                p["X"].append(X[:take])
                p["Y"].append(Y[:take])
    for p in probs.values():
        c, o = p["W0"].shape[1], p["W0"].shape[0]
        p["X"] = torch.cat(p["X"]) if p["X"] else torch.zeros(0, c, dtype=torch.float64)
        p["Y"] = torch.cat(p["Y"]) if p["Y"] else torch.zeros(0, o, dtype=torch.float64)
        del p["lo"], p["li"], p["layer"]
    return probs


def recon_error(p: dict, W: torch.Tensor) -> float:
    """Mean squared reconstruction error ||X~ W^T - Y~||^2 / (rows x outputs) over all merge
    data, from the sufficient statistics."""
    sq = float(torch.sum((W @ p["G"]) * W)) - 2.0 * float(torch.sum(W.t() * p["R"])) + p["YY"]
    return max(sq, 0.0) / (p["N"] * W.shape[0])


def solve_closed_form(p: dict, ridge: float) -> torch.Tensor:
    """min_W ||X W^T - Y||^2 + lam ||W - W0||^2 over the allowed entries (cross blocks stay 0),
    lam = ridge * tr(X^T X) / n_cols: one ridge solve per distinct row pattern of the mask."""
    W0, mask, G, R = p["W0"], p["mask"], p["G"], p["R"]  # R: cols x out
    W = torch.zeros_like(W0)
    patterns = {}
    for r in range(mask.shape[0]):
        patterns.setdefault(mask[r].numpy().tobytes(), []).append(r)
    for _, rows in patterns.items():
        cols = torch.nonzero(mask[rows[0]]).squeeze(1)
        Gc = G[cols][:, cols]
        lam = ridge * float(torch.trace(Gc)) / max(1, len(cols))
        lam = max(lam, 1e-12)
        rhs = R[cols][:, rows] + lam * W0[rows][:, cols].t()
        sol = torch.linalg.solve(Gc + lam * torch.eye(len(cols), dtype=G.dtype), rhs)
        idx = torch.as_tensor(rows)
        W[idx[:, None], cols[None, :]] = sol.t()
    return W


def solve_adam(probs: dict, steps: int, lr: float, batch_size: int, seed: int) -> dict:
    """The official code's variant: Adam (cosine schedule) on the sum over layers of the mean
    squared reconstruction error, from the permutation-merged weights, with a gradient mask that
    keeps the cross blocks at zero.

    The mask is `allowed_mask` (rows = output units, columns = input units), as the paper says:
    A-private and B-private units never feed each other. We deliberately do not follow the official
    `pleas_merging.get_gradient_mask`, which indexes the weight as [input slice, output slice]
    (rows and columns the wrong way round): it equals ours when a layer's input and output groups
    have the same merge ratio, and masks the wrong entries when they differ (docs/CROSSCHECKS.md)."""
    gen = torch.Generator().manual_seed(seed)
    Ws = {k: torch.nn.Parameter(p["W0"].float().clone()) for k, p in probs.items()}
    opt = torch.optim.Adam(Ws.values(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.0
        for k, p in probs.items():
            N = p["X"].shape[0]
            idx = torch.randint(0, N, (min(batch_size, N),), generator=gen)
            loss = loss + ((p["X"][idx].float() @ Ws[k].t() - p["Y"][idx].float()) ** 2).mean()
        loss.backward()
        for k, p in probs.items():
            Ws[k].grad.mul_(p["mask"].float())
        opt.step()
        sched.step()
    return {k: W.detach().double() * probs[k]["mask"] for k, W in Ws.items()}


@torch.no_grad()
def set_weights(merged, probs: dict, sols: dict) -> None:
    for name, W in sols.items():
        p = probs[name]
        layer = get_module(merged, name)
        if p["bias"]:
            layer.bias.copy_(W[:, -1].to(layer.bias.dtype))
            W = W[:, :-1]
        layer.weight.copy_(W.reshape(p["shape"]).to(layer.weight.dtype))


# ---------------------------------------------------------------------------------------------
# BatchNorm re-estimation


@torch.no_grad()
def reset_bn(net, batches_union, batches_a=None, batches_b=None, layouts: dict | None = None, keep_private: bool = False) -> None:
    """Re-estimate BatchNorm statistics of a merged network. Merged units take the statistics
    of the union of both models' data; with `batches_a`/`batches_b` and `layouts`, A-private
    units take those of A's data and B-private units those of B's data (so that budget 2.0 is
    exactly the two source models). Without them every unit uses the union. `keep_private`
    (PLeaS-free, which has no task data): private units keep the statistics they inherited
    from their source model; only merged units are re-estimated (on public data)."""
    before = {name: (mod.running_mean.clone(), mod.running_var.clone()) for name, mod in net.named_modules() if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm)}
    st_u = bn_stats(net, batches_union)
    final = {k: (m.clone(), v.clone()) for k, (m, v) in st_u.items()}
    if keep_private and layouts is not None:
        for s in net.specs():
            if not s["bn"] or s["out"] is None:
                continue
            _, sa, sb = layouts[s["out"]].slices()
            m, v = final[s["bn"]]
            for sl in (sa, sb):
                m[sl], v[sl] = before[s["bn"]][0][sl], before[s["bn"]][1][sl]
    elif batches_a is not None and layouts is not None:
        st_a = bn_stats(net, batches_a)
        st_b = bn_stats(net, batches_b)
        for s in net.specs():
            if not s["bn"] or s["out"] is None:
                continue
            _, sa, sb = layouts[s["out"]].slices()
            m, v = final[s["bn"]]
            m[sa], v[sa] = st_a[s["bn"]][0][sa], st_a[s["bn"]][1][sa]
            m[sb], v[sb] = st_b[s["bn"]][0][sb], st_b[s["bn"]][1][sb]
    for name, mod in net.named_modules():
        if name in final:
            mod.running_mean.copy_(final[name][0])
            mod.running_var.copy_(final[name][1])
    net.eval()
