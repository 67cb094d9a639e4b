"""Data for catn. `glyphs` (default): a generated compositional image task (see `make_glyphs`);
`digits` (smoke): sklearn's bundled 8x8 digits, no download.

digits:

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

from paperdag.core.datasets import digits, stratified_split
from paperdag.core.errors import PaperdagError


def _stratified(y: np.ndarray, idx: np.ndarray, fracs, rng):
    """train / val / rest per class (core.datasets.stratified_split with two fractions)."""
    return stratified_split(y, idx, tuple(fracs), rng)


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
    X, y = digits()
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
    if p["source"] == "glyphs":
        return make_glyphs(p["glyphs"])
    if p["source"] == "digits":
        return make_digits(p)
    return make_hf(p)


# -- glyphs: a generated compositional image task -----------------------------------------------
# Ten 5x5 primitives. Every image is a canvas with a few primitives drawn at random,
# non-overlapping positions (random stroke intensity) plus Gaussian pixel noise. Classes are sets
# of primitives: the source task labels *pairs* of primitives (each class = two primitives that
# always occur together, so either one alone identifies the class: a representation can solve it
# with half of the primitive detectors); the task shift labels *single* primitives (10-way: every
# detector is needed); the distribution shift keeps the source task and changes the images
# (weaker strokes, stronger noise, clutter pixels). A linear probe on pixels cannot find a
# primitive anywhere on the canvas, so learned features matter here (unlike 8x8 digits, where raw
# pixels and random towers probe as well as any trained network).
GLYPHS = (
    ("#####", "#...#", "#...#", "#...#", "#####"),  # 0 square
    ("..#..", "..#..", "#####", "..#..", "..#.."),  # 1 plus
    ("#...#", ".#.#.", "..#..", ".#.#.", "#...#"),  # 2 cross
    (".###.", "#...#", "#...#", "#...#", ".###."),  # 3 ring
    ("..#..", ".#.#.", "#...#", "#####", "....."),  # 4 triangle
    ("#####", "..#..", "..#..", "..#..", "..#.."),  # 5 T
    ("#....", "#....", "#....", "#....", "#####"),  # 6 L
    ("#...#", "#...#", "#####", "#...#", "#...#"),  # 7 H
    ("#####", "....#", "...#.", "..#..", ".#..."),  # 8 seven
    ("#.#.#", ".....", "#.#.#", ".....", "#.#.#"),  # 9 dots
)


def glyph_array() -> np.ndarray:
    return np.array([[[c == "#" for c in row] for row in g] for g in GLYPHS], dtype=np.float32)


def place(parts, side: int, intensity, rng: np.random.Generator) -> list[tuple[int, int, int, float]]:
    """Random non-overlapping positions (top-left corners) and stroke intensities for `parts`:
    a list of (glyph, row, col, intensity)."""
    k = len(GLYPHS[0])
    if side < k:
        raise PaperdagError(f"catn config data.glyphs.side: {side} is smaller than a primitive ({k})")
    for _ in range(1000):  # draw all positions again until no two primitives overlap
        pos = [tuple(int(v) for v in rng.integers(0, side - k + 1, 2)) for _ in parts]
        if all(abs(a[0] - b[0]) >= k or abs(a[1] - b[1]) >= k for i, a in enumerate(pos) for b in pos[:i]):
            return [(int(g), r, c, float(rng.uniform(*intensity))) for g, (r, c) in zip(parts, pos)]
    raise PaperdagError(f"catn config data.glyphs.side: {side} too small for {len(parts)} primitives")


def draw(placements, side: int, glyphs: np.ndarray, contrast: float = 1.0) -> np.ndarray:
    """The clean canvas: each primitive's strokes at its position, times its intensity."""
    img = np.zeros((side, side), np.float32)
    k = glyphs.shape[1]
    for g, r, c, a in placements:
        img[r : r + k, c : c + k] = np.maximum(img[r : r + k, c : c + k], glyphs[g] * a * contrast)
    return img


def corrupt(img: np.ndarray, noise: float, clutter: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian pixel noise of std `noise` and `clutter` random pixels set to a bright value."""
    out = img.copy()
    if clutter:
        idx = rng.choice(img.size, size=clutter, replace=False)
        out.reshape(-1)[idx] = np.maximum(out.reshape(-1)[idx], rng.uniform(0.6, 1.0, size=clutter).astype(np.float32))
    return out + rng.normal(0.0, noise, size=img.shape).astype(np.float32)


def glyph_images(classes, n_per_class: int, g: dict, rng: np.random.Generator, shift: dict | None = None):
    """`n_per_class` images of every class (a class = a list of primitives), shuffled. Returns
    (X, y, placements). `shift`: {contrast, noise, clutter} of the distribution shift instead of
    the base images' (contrast 1, noise g['noise'], no clutter)."""
    glyphs = glyph_array()
    side = g["side"]
    contrast, noise, clutter = (shift["contrast"], shift["noise"], shift["clutter"]) if shift else (1.0, g["noise"], 0)
    # content (which primitives where, the order) and corruption come from separate streams, so
    # that the same generator state gives the same images with or without the shift
    content_rng, noise_rng = (np.random.default_rng(int(v)) for v in rng.integers(0, 2**63, size=2))
    xs, ys, pls = [], [], []
    for ci, parts in enumerate(classes):
        for _ in range(n_per_class):
            pl = place(content_rng.permutation(parts), side, g["intensity"], content_rng)
            xs.append(corrupt(draw(pl, side, glyphs, contrast), noise, clutter, noise_rng).reshape(-1))
            ys.append(ci)
            pls.append(pl)
    perm = content_rng.permutation(len(ys))
    return np.stack(xs)[perm].astype(np.float32), np.asarray(ys, dtype=np.int64)[perm], [pls[i] for i in perm]


def make_glyphs(g: dict) -> dict[str, np.ndarray]:
    src = [list(c) for c in g["source_classes"]]
    tgt = [list(c) for c in g["task_classes"]]
    used = {x for c in src + tgt for x in c}
    if not used <= set(range(len(GLYPHS))):
        raise PaperdagError(f"catn config data.glyphs: primitives must be in 0..{len(GLYPHS) - 1}")
    if len({tuple(sorted(c)) for c in src}) != len(src) or len({tuple(sorted(c)) for c in tgt}) != len(tgt):
        raise PaperdagError("catn config data.glyphs: source_classes and task_classes must each be distinct sets")
    rng = np.random.default_rng(g["seed"])
    out: dict[str, np.ndarray] = {}
    for key, classes, sizes, shift in (("source", src, g["n_source"], None), ("task", tgt, g["n_target"], None), ("dist", src, g["n_target"], g["shift"])):
        for part, n in zip(("train", "val", "test"), sizes):
            x, y, _ = glyph_images(classes, n, g, rng, shift)
            out[f"{key}_{part}_x"], out[f"{key}_{part}_y"] = x, y
    out["source_classes"] = np.arange(len(src))
    out["target_classes"] = np.arange(len(tgt))
    return out
