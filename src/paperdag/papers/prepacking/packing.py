"""Bin packing of prompt lengths into rows of a fixed capacity (the longest prompt of the batch).

Three packers, all returning bins as lists of prompt indices (a prompt's tokens are never split,
so every prompt is one contiguous span of one row):

- `ffd` (the default): first-fit decreasing, our own.
- `bfd`: best-fit decreasing, our own: the heuristic of `binpacking==1.5.2`'s `to_constant_volume`,
  which the official code (siyan-zhao/prepacking, `utils.greedy_packing`) pins. It gives the same
  bins as that version (tests/test_crosscheck_official.py).
- `binpacking`: the installed library (2.0.1), kept as a compared option. Its `to_constant_volume`
  changed heuristic after 1.5.2 and places each prompt in the *emptiest* row that fits, which
  needs more rows than the official code on some batches (docs/CROSSCHECKS.md).

`ffd` and `bfd` sort prompts longest first, ties by index, as the library does; on the pinned
batches both use exactly the official code's row counts."""

from __future__ import annotations

from collections.abc import Sequence

from paperdag.core.errors import PaperdagError

ALGOS = ("ffd", "bfd", "binpacking", "none")
DEFAULT_ALGO = "ffd"


def first_fit_decreasing(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Place prompts longest first into the first row with room (ties by index: deterministic).
    Uses at most 11/9 OPT + 6/9 rows (Dosa 2007)."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    bins: list[list[int]] = []
    free: list[int] = []
    for i in order:
        li = int(lengths[i])
        if li > capacity:
            raise PaperdagError(f"prompt {i} has {li} tokens, more than the row length {capacity}")
        for b, f in enumerate(free):
            if li <= f:
                bins[b].append(i)
                free[b] -= li
                break
        else:
            bins.append([i])
            free.append(capacity - li)
    return bins


def best_fit_decreasing(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Place prompts longest first (ties by index) into the *fullest* row with room (ties: the
    earliest row); the heuristic of `binpacking==1.5.2`'s `to_constant_volume`."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    bins: list[list[int]] = []
    used: list[int] = []
    for i in order:
        li = int(lengths[i])
        if li > capacity:
            raise PaperdagError(f"prompt {i} has {li} tokens, more than the row length {capacity}")
        best = -1
        for b, u in enumerate(used):
            if u + li <= capacity and (best < 0 or u > used[best]):
                best = b
        if best < 0:
            bins.append([i])
            used.append(li)
        else:
            bins[best].append(i)
            used[best] += li
    return bins


def library_packing(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """`binpacking.to_constant_volume` (greedy, largest first) on {index: length}."""
    import binpacking

    if any(int(l) > capacity for l in lengths):
        raise PaperdagError(f"a prompt is longer than the row length {capacity}")
    bins = binpacking.to_constant_volume({i: int(l) for i, l in enumerate(lengths)}, capacity)
    out = [sorted(b.keys(), key=lambda i: (-lengths[i], i)) for b in bins if b]
    return out


def pack(lengths: Sequence[int], capacity: int | None = None, algo: str = DEFAULT_ALGO) -> list[list[int]]:
    """Bins of prompt indices; capacity defaults to the longest prompt. `none` = one prompt per row
    (what padding does)."""
    lengths = [int(l) for l in lengths]
    if not lengths:
        return []
    if any(l <= 0 for l in lengths):
        raise PaperdagError("every prompt needs at least one token")
    capacity = max(lengths) if capacity is None else int(capacity)
    if algo == "binpacking":
        return library_packing(lengths, capacity)
    if algo == "ffd":
        return first_fit_decreasing(lengths, capacity)
    if algo == "bfd":
        return best_fit_decreasing(lengths, capacity)
    if algo == "none":
        return [[i] for i in range(len(lengths))]
    raise PaperdagError(f"unknown packing algorithm '{algo}' (one of {', '.join(ALGOS)})")


def check_packing(bins: list[list[int]], lengths: Sequence[int], capacity: int) -> None:
    """Raise unless every prompt is in exactly one bin and no bin is over capacity."""
    seen = sorted(i for b in bins for i in b)
    if seen != list(range(len(lengths))):
        raise AssertionError(f"packing lost or duplicated prompts: {seen}")
    for b in bins:
        if sum(lengths[i] for i in b) > capacity:
            raise AssertionError(f"bin {b} exceeds capacity {capacity}")


def token_counts(lengths: Sequence[int], bins: list[list[int]]) -> dict:
    """Tokens a forward pass processes: padded (k x m), packed (r x m), real (sum of lengths); the
    ideal speed-up bounds padded/real and padded/packed (= k / r)."""
    k, m = len(lengths), max(lengths)
    real = int(sum(lengths))
    return {
        "k": k,
        "rows": len(bins),
        "max_len": int(m),
        "real_tokens": real,
        "padded_tokens": k * m,
        "packed_tokens": len(bins) * m,
        "bound_real": k * m / real,
        "bound_rows": k / len(bins),
    }
