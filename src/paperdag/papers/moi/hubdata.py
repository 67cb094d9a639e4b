"""The `paper` scale's SFT data: one open data set per domain by hub id (or a `save_to_disk` folder
standing in for it in tests), mapped to the turns format of tasks.py. Each domain names its
columns: either `user` + `assistant` (single turn) or `messages` (a list of {role|from,
content|value} turns, ShareGPT or OpenAI style). n_train rows and n_test held-out rows are drawn
after a seeded shuffle; the held-out rows are the paper scale's in-distribution exact-match check
(the paper's seven benchmarks are not implemented: README)."""

from __future__ import annotations

from paperdag.core.errors import PaperdagError

_ROLE = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant"}


def _turns(row: dict, spec: dict) -> list:
    if "messages" in spec:
        turns, user = [], None
        for m in row[spec["messages"]]:
            role = _ROLE.get(str(m.get("role", m.get("from", ""))).lower())
            text = m.get("content", m.get("value", ""))
            if role == "user":
                user = text
            elif role == "assistant" and user is not None:
                turns.append({"user": user, "assistant": text})
                user = None
        return turns
    return [{"user": str(row[spec["user"]]), "assistant": str(row[spec["assistant"]])}]


def load(d: dict, seed: int) -> dict:
    import datasets

    out = {"train": {}, "test": {}}
    for dom, spec in d["domains"].items():
        try:
            ds = datasets.load_from_disk(spec["path"]) if d["source"] == "disk" else datasets.load_dataset(spec["id"], split=spec.get("split", "train"))
        except (FileNotFoundError, ValueError, KeyError) as e:
            raise PaperdagError(f"data.domains.{dom}: cannot load {spec.get('path', spec.get('id'))} ({e})") from e
        if hasattr(ds, "keys") and not hasattr(ds, "column_names"):
            ds = ds[spec.get("split", "train")]
        ds = ds.shuffle(seed=seed)
        need = spec["n_train"] + spec["n_test"]
        if len(ds) < need:
            raise PaperdagError(f"data.domains.{dom}: {len(ds)} rows, fewer than n_train + n_test = {need}")
        items = []
        for row in ds.select(range(need)):
            t = _turns(row, spec)
            if t:
                items.append({"domain": dom, "turns": t})
        out["test"][dom] = items[: spec["n_test"]]
        out["train"][dom] = items[spec["n_test"] :]
    return out
