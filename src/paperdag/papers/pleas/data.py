"""Data for pleas: two settings, each a pair of tasks (A, B), plus "public" data for PLeaS-free.

`digits` (default/smoke; sklearn's bundled 8x8 digits, no download):
- `labels` (different label spaces): task A = digits `classes_a` in the clean domain, task B =
  digits `classes_b` in the shifted domain (the CUB / Pets analogue: different classes and
  different images); each task keeps its own head.
- `domains` (shared label space, the DomainNet analogue): all 10 classes; A = clean images, B =
  the shifted domain; the train pool is split in two halves so A and B never see the same
  digit images.
- shifted domain: intensity inversion (1 - x) then a 90° rotation.
- public data (PLeaS-free, the ImageNet analogue): a held-out pool of digits (all classes) that
  no model is trained on, in a third domain (mirrored left-right, Gaussian noise), used for
  matching, least squares and BatchNorm statistics instead of the tasks' training data.
- validation data: `val_frac` of each task's training data (stratified, seed `val_seed`) is held
  out before training (`<setting>_<t>_val_x/y`): no model is trained or merged on it; the merge
  job selects the ridge and the headline's best budget on it, never on the test set.

`hf` (paper scale): image datasets by hub id or a local `datasets.save_to_disk` folder (the
tests' stand-in), resized to `image_size`, ImageNet-normalised, channels first.
"""

from __future__ import annotations

import numpy as np

from paperdag.core.datasets import digits, stratified_split
from paperdag.core.errors import PaperdagError

SETTINGS = ("labels", "domains")


def _stratified(y, idx, frac, rng):
    """(a share `frac` of each class, the rest): core.datasets.stratified_split with one fraction."""
    return stratified_split(y, idx, (frac,), rng)


def shift_domain(X: np.ndarray) -> np.ndarray:
    imgs = 1.0 - X.reshape(-1, 8, 8)
    return np.rot90(imgs, k=1, axes=(1, 2)).reshape(len(X), -1).astype(np.float32)


def rotate_domain(X: np.ndarray) -> np.ndarray:
    return np.rot90(X.reshape(-1, 8, 8), k=1, axes=(1, 2)).reshape(len(X), -1).astype(np.float32)


def translate_domain(X: np.ndarray, rng=None) -> np.ndarray:
    """One pixel down and right (zero fill), contrast 0.7, Gaussian noise 0.15 (fixed seed)."""
    rng = rng or np.random.default_rng(12345)
    imgs = np.zeros((len(X), 8, 8), dtype=np.float32)
    imgs[:, 1:, 1:] = X.reshape(-1, 8, 8)[:, :-1, :-1]
    return (0.7 * imgs.reshape(len(X), -1) + rng.normal(0, 0.15, size=(len(X), 64))).astype(np.float32)


DOMAINS = {"clean": lambda a: a, "invert_rotate": None, "rotate": rotate_domain, "translate_noise": translate_domain}


def public_domain(X: np.ndarray, noise: float, rng) -> np.ndarray:
    imgs = X.reshape(-1, 8, 8)[:, :, ::-1]
    return (imgs.reshape(len(X), -1) + rng.normal(0, noise, size=(len(X), 64))).astype(np.float32)


def carve_validation(out: dict, p: dict) -> dict:
    """Move `val_frac` of every task's training data (stratified by class, seed `val_seed`) to
    `<setting>_<t>_val_x/y`; the rest stays the training (and merge) data."""
    frac = p.get("val_frac", 0.0)
    if not frac:
        return out
    for setting in SETTINGS:
        for k, t in enumerate(("a", "b")):
            x, y = out[f"{setting}_{t}_train_x"], out[f"{setting}_{t}_train_y"]
            rng = np.random.default_rng([p.get("val_seed", 0), k, SETTINGS.index(setting)])
            val, train = _stratified(y, np.arange(len(y)), frac, rng)
            if len(val) == 0 or len(train) == 0:
                raise PaperdagError(f"config/papers/pleas.yaml: data.val_frac = {frac} leaves no validation or no training data for {setting} task {t}")
            out[f"{setting}_{t}_val_x"], out[f"{setting}_{t}_val_y"] = x[val], y[val]
            out[f"{setting}_{t}_train_x"], out[f"{setting}_{t}_train_y"] = x[train], y[train]
    return out


def make_digits(p: dict) -> dict[str, np.ndarray]:
    X, y = digits()
    rng = np.random.default_rng(p["split_seed"])
    idx = np.arange(len(y))
    public, rest = _stratified(y, idx, p["public_frac"], rng)
    train, test = _stratified(y, rest, p["train_frac"], rng)
    out = {"public_x": public_domain(X[public], p["public_noise"], rng)}
    ca, cb = np.array(sorted(p["classes_a"])), np.array(sorted(p["classes_b"]))
    if set(ca) & set(cb):
        raise PaperdagError("config/papers/pleas.yaml: data.classes_a and data.classes_b overlap")
    dom = dict(DOMAINS, invert_rotate=shift_domain)
    # labels: different classes (and domains) per task
    for t, cls, dm in (("a", ca, p["domain_a"]), ("b", cb, p["domain_b"])):
        for part, ids in (("train", train), ("test", test)):
            sel = ids[np.isin(y[ids], cls)]
            out[f"labels_{t}_{part}_x"] = dom[dm](X[sel])
            out[f"labels_{t}_{part}_y"] = np.searchsorted(cls, y[sel])
    # domains: all classes, disjoint train halves, both domains on the whole test set
    half_a, half_b = _stratified(y, train, 0.5, rng)
    for t, ids, dm in (("a", half_a, p["domains_a"]), ("b", half_b, p["domains_b"])):
        out[f"domains_{t}_train_x"], out[f"domains_{t}_train_y"] = dom[dm](X[ids]), y[ids]
        out[f"domains_{t}_test_x"], out[f"domains_{t}_test_y"] = dom[dm](X[test]), y[test]
    return out


def _load_hf(spec: dict, split: str):
    import datasets

    if spec.get("path"):
        ds = datasets.load_from_disk(spec["path"])
        ds = ds[split] if isinstance(ds, datasets.DatasetDict) else ds
    else:
        ds = datasets.load_dataset(spec["id"], split=split, revision=spec.get("revision"))
    return ds


def _images(ds, col, size, limit, seed):
    if limit is not None and len(ds) > limit:
        ds = ds.shuffle(seed=seed).select(range(limit))
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)[:, None, None]
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)[:, None, None]
    xs = []
    for im in ds[col]:
        im = im.convert("RGB").resize((size, size))
        a = np.asarray(im, dtype=np.float32).transpose(2, 0, 1) / 255.0
        xs.append((a - mean) / std)
    return np.stack(xs).astype(np.float32), ds


def make_hf(p: dict) -> dict[str, np.ndarray]:
    h = p["hf"]
    out = {}
    for setting in SETTINGS:
        for t in ("a", "b"):
            spec = h[setting][t]
            for part in ("train", "test"):
                ds = _load_hf(spec, spec[f"{part}_split"])
                if spec.get("filter_column"):
                    ds = ds.filter(lambda r: r[spec["filter_column"]] == spec["filter_value"])
                x, ds = _images(ds, spec["image_column"], h["image_size"], h.get(f"max_{part}"), p["split_seed"])
                out[f"{setting}_{t}_{part}_x"] = x
                out[f"{setting}_{t}_{part}_y"] = np.asarray(ds[spec["label_column"]], dtype=np.int64)
    pub = h["public"]
    x, _ = _images(_load_hf(pub, pub["split"]), pub["image_column"], h["image_size"], h.get("max_public"), p["split_seed"])
    out["public_x"] = x
    return out


def make_data(p: dict) -> dict[str, np.ndarray]:
    if p["source"] == "digits":
        return carve_validation(make_digits(p), p)
    if p["source"] == "hf":
        return carve_validation(make_hf(p), p)
    raise PaperdagError(f"config/papers/pleas.yaml: data.source must be digits or hf, got {p['source']}")


def n_classes(d: dict, setting: str, t: str) -> int:
    if setting == "domains":
        return int(max(d["domains_a_train_y"].max(), d["domains_b_train_y"].max(), d["domains_a_test_y"].max()) + 1)
    return int(max(d[f"labels_{t}_train_y"].max(), d[f"labels_{t}_test_y"].max()) + 1)
