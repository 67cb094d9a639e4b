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


# -- many models in one job: train each resumably, then promote the finished ones atomically --------
def train_each(rdir: str | Path, tags, train_one, log=log) -> dict[str, Path]:
    """Train several models in one job (one process: imports and data are paid once).

    `train_one(tag, final)` trains model `tag` (resuming from its own `Resumer` checkpoint in
    `rdir`) and saves the finished model to `final` (atomically, e.g. core.io.save_tensors). A
    finished model is kept in `rdir` as `<tag>.final.safetensors` until `promote_*` has copied
    every one into the job's declared outputs, so an interrupted job redoes only what was not
    finished. Returns {tag: final path}."""
    rdir = Path(rdir)
    finals = {}
    for tag in tags:
        final = rdir / f"{tag}.final.safetensors"
        finals[tag] = final
        if final.exists():
            log.info("%s: already trained (kept from an interrupted run)", tag)
            continue
        train_one(tag, final)
    return finals


def promote_dir(finals: dict[str, Path], out_dir: str | Path, names: dict[str, str] | None = None) -> None:
    """Copy finished models into a new directory output as `<name>.safetensors` (name: `names[tag]`
    or the tag), atomically (a temporary sibling renamed over the output), then drop the finals."""
    import shutil

    out = Path(out_dir)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for tag, final in finals.items():
        shutil.copyfile(final, tmp / f"{(names or {}).get(tag, tag)}.safetensors")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    for final in finals.values():
        final.unlink()


def promote_files(finals: dict[str, Path], outputs: dict[str, str | Path]) -> None:
    """Copy each finished model to its own declared output file (atomically), then drop the finals."""
    for tag, final in finals.items():
        tensors, meta = load_tensors(final, with_metadata=True)
        save_tensors(outputs[tag], tensors, meta)
    for final in finals.values():
        final.unlink()
