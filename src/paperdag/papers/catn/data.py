"""Data for catn. `digits` (default/smoke): sklearn's bundled 8x8 digits, no download.

- source task: digits in `source_classes` (pretraining; the ImageNet analogue), split into
  train / val / test from the *pretrain pool* (a per-class share of the images);
- task shift (the iNat/CIFAR analogue): a new label set (`target_classes`), probed on images no
  network was trained on;
- distribution shift: all 10 classes, images translated by one pixel and noised, from the
  *transfer pool* only (never seen by pretraining).

`hf` (paper scale): image datasets by Hugging Face hub id (or a local `datasets` folder, used by
the tests as a stand-in), e.g. CIFAR-10 as source, CIFAR-100 as task shift.
"""

from __future__ import annotations

import numpy as np

from paperdag.core.errors import PaperdagError


def _split(idx: np.ndarray, fracs: tuple[float, float], rng: np.random.Generator):
    idx = rng.permutation(idx)
    n_tr = int(round(fracs[0] * len(idx)))
    n_va = int(round(fracs[1] * len(idx)))
    return idx[:n_tr], idx[n_tr : n_tr + n_va], idx[n_tr + n_va :]


def _stratified(y: np.ndarray, idx: np.ndarray, fracs, rng):
    parts = ([], [], [])
    for c in np.unique(y[idx]):
        for p, s in zip(parts, _split(idx[y[idx] == c], fracs, rng)):
            p.append(s)
    return tuple(np.sort(np.concatenate(p)) for p in parts)


def shift_images(X: np.ndarray, side: int, translate: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Translate each image by `translate` pixels in a random direction (zero fill) and add
    Gaussian noise of std `noise` (pixel range [0, 1])."""
    imgs = X.reshape(-1, side, side)
    out = np.zeros_like(imgs)
    dirs = rng.integers(0, 4, size=len(imgs))
    t = translate
    for i, d in enumerate(dirs):
        if t == 0:
            out[i] = imgs[i]
        elif d == 0:
            out[i, t:, :] = imgs[i, :-t, :]
        elif d == 1:
            out[i, :-t, :] = imgs[i, t:, :]
        elif d == 2:
            out[i, :, t:] = imgs[i, :, :-t]
        else:
            out[i, :, :-t] = imgs[i, :, t:]
    out = out + rng.normal(0.0, noise, size=out.shape)
    return out.reshape(len(X), -1).astype(np.float32)


def make_digits(p: dict) -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    rng = np.random.default_rng(p["split_seed"])
    all_idx = np.arange(len(y))
    # pretrain pool vs transfer pool, per class
    pre, _, tra = _stratified(y, all_idx, (p["pretrain_pool"], 0.0), rng)
    src = np.array(sorted(p["source_classes"]))
    tgt = np.array(sorted(p["target_classes"]))
    if set(src) & set(tgt):
        raise PaperdagError("catn config: data.source_classes and data.target_classes overlap")
    fr = tuple(p["splits"])
    out = {}
    s_idx = pre[np.isin(y[pre], src)]
    for name, part in zip(("train", "val", "test"), _stratified(y, s_idx, fr, rng)):
        out[f"source_{name}_x"], out[f"source_{name}_y"] = X[part], np.searchsorted(src, y[part])
    t_idx = all_idx[np.isin(y, tgt)]  # no network saw these classes
    for name, part in zip(("train", "val", "test"), _stratified(y, t_idx, fr, rng)):
        out[f"task_{name}_x"], out[f"task_{name}_y"] = X[part], np.searchsorted(tgt, y[part])
    Xs = shift_images(X, 8, p["shift"]["translate"], p["shift"]["noise"], rng)
    for name, part in zip(("train", "val", "test"), _stratified(y, tra, fr, rng)):
        out[f"dist_{name}_x"], out[f"dist_{name}_y"] = Xs[part], y[part]
    limit = p.get("max_train")
    if limit:
        for k in ("source", "task", "dist"):
            out[f"{k}_train_x"] = out[f"{k}_train_x"][:limit]
            out[f"{k}_train_y"] = out[f"{k}_train_y"][:limit]
    out["source_classes"] = src
    out["target_classes"] = tgt
    return out


def _hf_load(name: str, split: str):
    """A hub id (paper scale, needs network or the HF cache) or a local folder written by
    `datasets.Dataset.save_to_disk` / `DatasetDict.save_to_disk` (the tests' stand-in)."""
    import datasets
    from pathlib import Path

    if Path(name).exists():
        ds = datasets.load_from_disk(name)
        return ds[split] if isinstance(ds, datasets.DatasetDict) else ds
    try:
        return datasets.load_dataset(name, split=split)
    except Exception as e:
        raise PaperdagError(
            f"catn config data.hf: could not load dataset '{name}' split '{split}' ({type(e).__name__}: {e}). "
            "The paper scale needs the Hugging Face hub (or HF_HOME with the dataset cached); "
            "smoke and default scales use sklearn digits offline."
        ) from e


def _to_arrays(ds, image_col: str, label_col: str, size: int, limit: int | None):
    if limit:
        ds = ds.select(range(min(limit, len(ds))))
    xs, ys = [], []
    for ex in ds:
        img = ex[image_col].convert("RGB").resize((size, size))
        xs.append(np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0)
        ys.append(int(ex[label_col]))
    return np.stack(xs).reshape(len(xs), -1), np.asarray(ys, dtype=np.int64)


def make_hf(p: dict) -> dict[str, np.ndarray]:
    h = p["hf"]
    rng = np.random.default_rng(p["split_seed"])
    out = {}
    for key, spec in (("source", h["source"]), ("task", h["task_shift"]), ("dist", h["distribution_shift"])):
        tr = _hf_load(spec["id"], spec["train_split"])
        te = _hf_load(spec["id"], spec["test_split"])
        x, y = _to_arrays(tr, spec["image_column"], spec["label_column"], h["image_size"], h.get("max_train"))
        xt, yt = _to_arrays(te, spec["image_column"], spec["label_column"], h["image_size"], h.get("max_test"))
        perm = rng.permutation(len(y))
        n_val = max(1, int(len(y) * p["splits"][1]))
        va, trn = perm[:n_val], perm[n_val:]
        if key == "dist":
            x = shift_images_rgb(x, h["image_size"], p["shift"], rng)
            xt = shift_images_rgb(xt, h["image_size"], p["shift"], rng)
        out[f"{key}_train_x"], out[f"{key}_train_y"] = x[trn], y[trn]
        out[f"{key}_val_x"], out[f"{key}_val_y"] = x[va], y[va]
        out[f"{key}_test_x"], out[f"{key}_test_y"] = xt, yt
    out["source_classes"] = np.unique(out["source_train_y"])
    out["target_classes"] = np.unique(out["task_train_y"])
    return out


def shift_images_rgb(x: np.ndarray, size: int, shift: dict, rng) -> np.ndarray:
    """The same translation for the three channels of an image (one seed reused per channel)."""
    chans = x.reshape(len(x), 3, size * size)
    seed = int(rng.integers(1 << 31))
    shifted = [shift_images(chans[:, c], size, shift["translate"], shift["noise"], np.random.default_rng(seed)) for c in range(3)]
    return np.stack(shifted, 1).reshape(len(x), -1)


def make_data(p: dict) -> dict[str, np.ndarray]:
    if p["source"] == "digits":
        return make_digits(p)
    return make_hf(p)
