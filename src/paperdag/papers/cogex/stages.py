"""cogex's stages (toy ones made by `paperdag new`: replace them with the paper's)."""

from __future__ import annotations

from paperdag.core.io import load_npz, load_tensors, read_json, save_npz, save_tensors, write_json
from paperdag.core.stage import seed_everything, stage

from . import plan


@stage("cogex.data")
def data(ctx):
    """A synthetic linear-regression task with known weights (seeded)."""
    import numpy as np

    d = ctx.params["data"]
    rng = np.random.default_rng(ctx.params["seed"])
    w = rng.normal(size=d["dim"])
    out = {"w_true": w}
    for part in ("train", "val", "test"):
        x = rng.normal(size=(d[f"n_{part}"], d["dim"]))
        out[f"{part}_x"] = x
        out[f"{part}_y"] = x @ w + d["noise"] * rng.normal(size=len(x))
    save_npz(ctx.output.data, **out)


@stage("cogex.train")
def train(ctx):
    """One independent run: a linear model trained by gradient descent from a seeded init."""
    import torch

    p = ctx.params
    seed = plan.run_seed(p, ctx.wildcards["run"])
    seed_everything(seed)
    d = load_npz(ctx.input.data)
    x = torch.tensor(d["train_x"], dtype=torch.float32)
    y = torch.tensor(d["train_y"], dtype=torch.float32)
    model = torch.nn.Linear(x.shape[1], 1)
    opt = torch.optim.SGD(model.parameters(), lr=p["train"]["lr"])
    for step in range(p["train"]["steps"]):
        opt.zero_grad()
        loss = torch.mean((model(x).squeeze(-1) - y) ** 2)
        loss.backward()
        opt.step()
        if step % 20 == 0:
            ctx.log.info("step %d/%d loss %.4f", step, p["train"]["steps"], float(loss))
    save_tensors(ctx.output.model, model.state_dict(), {"seed": seed})


@stage("cogex.evaluate")
def evaluate(ctx):
    """Test error of every run and of the trivial control (the training mean)."""
    import numpy as np

    d = load_npz(ctx.input.data)
    runs = []
    for path in ctx.input.models:
        sd = load_tensors(path)
        pred = d["test_x"] @ sd["weight"].numpy()[0].astype(float) + float(sd["bias"])
        runs.append(float(np.mean((pred - d["test_y"]) ** 2)))
    control = float(np.mean((d["train_y"].mean() - d["test_y"]) ** 2))
    write_json(ctx.output.evals, {"run_mse": runs, "control_mse": control})
