"""Resumable training: periodic, atomic safetensors checkpoints of model + optimizer + RNG state,
kept in the stage's `.resume/` folder (not a declared output, so an interrupted job keeps it) and
removed once the final output is written. Resuming gives bit-identical results on CPU because the
data order of each epoch is drawn from a generator seeded by (seed, epoch), not by the run."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from .io import load_tensors, save_tensors

log = logging.getLogger("paperdag.resume")


def _flatten_optimizer(opt: torch.optim.Optimizer) -> tuple[dict, dict]:
    sd = opt.state_dict()
    tensors, meta_state = {}, {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"opt.{pid}.{k}"] = v
            else:
                meta_state[f"{pid}.{k}"] = v
    return tensors, {"param_groups": sd["param_groups"], "scalar_state": meta_state}


def _unflatten_optimizer(opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    state: dict = {}
    for key, v in tensors.items():
        if key.startswith("opt."):
            _, pid, k = key.split(".", 2)
            state.setdefault(int(pid), {})[k] = v
    for key, v in meta.get("scalar_state", {}).items():
        pid, k = key.split(".", 1)
        state.setdefault(int(pid), {})[k] = v
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


class Resumer:
    """`r = Resumer(dir, tag)`; `start = r.restore(model, opt)` returns the epoch to start from;
    call `r.save(epoch_done, model, opt)` every few epochs and `r.finish()` at the end."""

    def __init__(self, directory: str | Path, tag: str, every: int = 1):
        self.path = Path(directory) / f"{tag}.safetensors"
        self.every = max(1, int(every))

    def restore(self, model: torch.nn.Module, opt: torch.optim.Optimizer | None = None, extra: dict | None = None) -> int:
        if not self.path.exists():
            return 0
        tensors, meta = load_tensors(self.path, with_metadata=True)
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        if opt is not None:
            _unflatten_optimizer(opt, tensors, meta["optimizer"])
        torch.set_rng_state(tensors["rng.torch"])
        if extra is not None:
            extra.update(meta.get("extra", {}))
        log.info("resumed from %s at epoch %d", self.path, meta["epoch"])
        return int(meta["epoch"])

    def maybe_save(self, epoch_done: int, model, opt=None, extra: dict | None = None, force: bool = False) -> None:
        if force or epoch_done % self.every == 0:
            self.save(epoch_done, model, opt, extra)

    def save(self, epoch_done: int, model, opt=None, extra: dict | None = None) -> None:
        # clone: safetensors refuses tensors that share memory (tied embeddings)
        tensors = {f"model.{k}": v.detach().clone() for k, v in model.state_dict().items()}
        meta = {"epoch": epoch_done, "extra": extra or {}}
        if opt is not None:
            ot, om = _flatten_optimizer(opt)
            tensors.update(ot)
            meta["optimizer"] = om
        tensors["rng.torch"] = torch.get_rng_state()
        save_tensors(self.path, tensors, meta)

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)
