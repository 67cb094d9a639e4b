"""lina_speech stages: data (espeak-ng speech, phonemes, log-mel, residual k-means codec) ->
pretrain (one job per seed) -> adapt (one job per seed and held-out voice: no adaptation, prompt
continuation, IST, full fine-tuning, LoRA, by adaptation-set size, evaluated on the voice's test
utterances) -> bench (decode step time and state memory, GLA vs Transformer) -> metrics/tables
(aggregate.py) -> figures (plots.py)."""

from __future__ import annotations

from paperdag.core.io import load_npz, load_tensors, read_json, save_npz, save_tensors, write_json
from paperdag.core.stage import seed_everything, stage

from . import plan


# -- data -----------------------------------------------------------------------------------------------
@stage("lina_speech.data")
def data(ctx):
    """Sentences (wordfreq) -> phonemes (espeak-ng -x) -> WAV per voice variant (espeak-ng -w) ->
    log-mel -> residual k-means codec fit on pre-training frames only -> codes. Also the codec's
    reconstruction error and the speaker-proxy vectors of every utterance (codec round trip)."""
    import numpy as np

    from .audio import Mel, phonemes, render, sentences, speaker_vector
    from .codec import fit_rvq, rvq_decode, rvq_encode

    p = ctx.params
    d, seed = p["data"], p["seed"]
    plan.check_source(p, "data")
    voices = d["voices"]
    held = set(d["heldout"])
    n_h = d["n_adapt"] + d["n_val"] + d["n_test"]
    sents = sentences(d["n_pool"] + n_h, d["top_n"], d["min_words"], d["max_words"], seed)
    pool, hsents = sents[: d["n_pool"]], sents[d["n_pool"] :]
    ph = phonemes(sents, d["phoneme_voice"])
    chars = sorted({c for s in ph for c in s})
    vocab = ["<pad>", "<bos>", "<eos>"] + chars
    cid = {c: i for i, c in enumerate(vocab)}
    rng = np.random.default_rng(seed)
    items = []  # (voice index, sentence index, split)
    for vi, v in enumerate(voices):
        if v["name"] in held:
            for j in range(n_h):
                split = "adapt" if j < d["n_adapt"] else "val" if j < d["n_adapt"] + d["n_val"] else "test"
                items.append((vi, d["n_pool"] + j, split))
        else:
            for j in sorted(rng.choice(d["n_pool"], d["per_voice"], replace=False).tolist()):
                items.append((vi, j, "train"))
    mel = Mel(p["audio"])
    mels = []
    for i, (vi, si, _) in enumerate(items):
        mels.append(mel(render(sents[si], voices[vi])))
        if (i + 1) % 200 == 0 or i + 1 == len(items):
            ctx.log.info("rendered %d/%d utterances", i + 1, len(items))
    train_frames = np.concatenate([m for m, it in zip(mels, items) if it[2] == "train"])
    sub = np.random.default_rng(seed).choice(len(train_frames), min(p["codec"]["fit_frames"], len(train_frames)), replace=False)
    books = fit_rvq(train_frames[np.sort(sub)], p["codec"]["n_q"], p["codec"]["n_codes"], seed, p["codec"]["max_iter"])
    codes = [rvq_encode(m, books) for m in mels]
    recon = [rvq_decode(c, books) for c in codes]

    def err(split, nq):
        sel = [i for i, it in enumerate(items) if it[2] == split]
        e = [np.abs(10 * (mels[i] - rvq_decode(codes[i][:, :nq], books[:nq]))).mean() for i in sel]
        return float(np.mean(e))

    global_mean = train_frames.mean(0)
    codec_err = {
        "rvq_test_db": err("test", p["codec"]["n_q"]),
        "rvq_train_db": err("train", p["codec"]["n_q"]),
        "first_codebook_test_db": err("test", 1),
        "mean_frame_test_db": float(np.mean([np.abs(10 * (mels[i] - global_mean)).mean() for i, it in enumerate(items) if it[2] == "test"])),
    }
    ctx.log.info("codec mean abs log-mel error (dB): %s", {k: round(v, 3) for k, v in codec_err.items()})
    spk = np.stack([speaker_vector(r) for r in recon])
    text = [np.array([cid[c] for c in ph[si]], dtype=np.int64) for _, si, _ in items]
    off = lambda xs: np.cumsum([0] + [len(x) for x in xs]).astype(np.int64)  # noqa: E731
    save_npz(
        ctx.output.data,
        text=np.concatenate(text),
        text_off=off(text),
        codes=np.concatenate(codes),
        mels=np.concatenate(mels).astype(np.float32),
        frame_off=off(codes),
        voice=np.array([it[0] for it in items], dtype=np.int64),
        sentence=np.array([it[1] for it in items], dtype=np.int64),
        split=np.array([it[2] for it in items]),
        books=books,
        spk=spk,
        vocab=np.array(vocab),
        voice_names=np.array([v["name"] for v in voices]),
        sentences=np.array(sents),
    )
    write_json(ctx.output.info, {"n_items": len(items), "vocab": len(vocab), "codec_error": codec_err, "frames": int(sum(len(c) for c in codes)), "example": {"text": sents[0], "phonemes": ph[0]}})


def load_data(path):
    """The corpus as a list of utterance dicts plus the shared arrays."""
    z = load_npz(path)
    utts = []
    for i in range(len(z["voice"])):
        a, b = z["text_off"][i], z["text_off"][i + 1]
        f0, f1 = z["frame_off"][i], z["frame_off"][i + 1]
        utts.append({"i": i, "text": z["text"][a:b], "codes": z["codes"][f0:f1], "mel": z["mels"][f0:f1], "voice": int(z["voice"][i]), "split": str(z["split"][i]), "spk": z["spk"][i]})
    return utts, z


# -- batches ----------------------------------------------------------------------------------------------
def make_batch(items, prompts=None):
    """Teacher-forcing batch: text [B, L] ("<bos> phonemes <eos>", prompt phonemes first when given),
    delayed tokens in/out [B, T, Q], and the loss mask (code and tail targets of the target
    utterance only: the prompt's part is excluded)."""
    import numpy as np
    import torch

    from .codec import TAIL, delay

    texts, seqs, starts = [], [], []
    for k, it in enumerate(items):
        pr = prompts[k] if prompts is not None else None
        if pr is None:
            texts.append(np.concatenate([[1], it["text"], [2]]))
            seqs.append(delay(it["codes"]))
            starts.append(0)
        else:
            texts.append(np.concatenate([[1], pr["text"], it["text"], [2]]))
            seqs.append(delay(np.concatenate([pr["codes"], it["codes"]])))
            starts.append(len(pr["codes"]))
    L = max(len(t) for t in texts)
    T = max(len(s) for s in seqs)
    Q = seqs[0].shape[1]
    text = torch.zeros(len(items), L, dtype=torch.long)
    tok = torch.zeros(len(items), T, Q, dtype=torch.long)
    for k, (t, s) in enumerate(zip(texts, seqs)):
        text[k, : len(t)] = torch.from_numpy(t)
        tok[k, : len(s)] = torch.from_numpy(s)
    tgt = tok[:, 1:]
    mask = tgt.ge(TAIL)
    j = torch.arange(1, T)[None, :, None]
    q = torch.arange(Q)[None, None, :]
    st = torch.tensor(starts)[:, None, None]
    mask &= j >= st + q + 1  # out index j holds frame j - q - 1 of codebook q
    return text, tok[:, :-1], tgt, mask


def batch_nll(model, items, prompts=None, states_fn=None, mode="chunk"):
    """Summed NLL (nats) and number of predicted code/tail tokens."""
    import torch

    from .model import lm_loss

    text, x, y, mask = make_batch(items, prompts)
    states = states_fn(len(items)) if states_fn is not None else None
    logits, _ = model(text, x, states, mode)
    _, nll, _ = lm_loss(logits, y)
    return (nll * mask).sum(), mask.sum()


def build_model(z, p):
    from .model import LinaLM

    return LinaLM(len(z["vocab"]), p["codec"]["n_codes"], p["codec"]["n_q"], p["model"])


def train_steps(model, params, utts, steps, batch, lr_fn, gen, clip, states_fn=None, log=None, tag="", opt=None, start=0, on_step=None):
    """Generic teacher-forced training loop over `utts` (sampled with replacement by `gen`)."""
    import torch

    losses = []
    for step in range(start, steps):
        idx = torch.randint(len(utts), (batch,), generator=gen).tolist()
        s, n = batch_nll(model, [utts[i] for i in idx], states_fn=states_fn)
        loss = s / n
        for grp in opt.param_groups:
            grp["lr"] = lr_fn(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step + 1, losses)
    return losses


# -- pre-training -------------------------------------------------------------------------------------
@stage("lina_speech.pretrain")
def pretrain(ctx):
    """One independent run: AdamW (0.9, 0.999), weight decay, linear warm-up then cosine decay,
    gradient clipping, a fixed number of updates on the pre-training voices (last checkpoint, no
    selection). Resumes from `.resume/`. Then the two correctness checks on the trained model:
    chunked vs recurrent GLA logits and cached step-by-step decoding vs the full forward pass."""
    import math

    import torch

    from paperdag.core.resume import Resumer

    from .model import n_params

    p = ctx.params
    run = int(ctx.wildcards["run"])
    seed = plan.run_seed(p, run)
    seed_everything(seed)
    torch.set_num_threads(max(1, ctx.threads))
    utts, z = load_data(ctx.input.data)
    train = [u for u in utts if u["split"] == "train"]
    model = build_model(z, p)
    t = p["train"]
    opt = torch.optim.AdamW(model.parameters(), lr=t["lr"], betas=(0.9, 0.999), weight_decay=t["weight_decay"])
    res = Resumer(ctx.resume_dir(), f"run{run}", every=t["checkpoint_every"])
    extra = {"losses": []}
    start = res.restore(model, opt, extra)
    losses_log = list(extra.get("losses", []))
    ctx.log.info("run %d: %d parameters, %d training utterances, steps %d..%d", run, n_params(model), len(train), start, t["steps"])

    def lr_fn(step):
        if step < t["warmup"]:
            return t["lr"] * (step + 1) / t["warmup"]
        frac = (step - t["warmup"]) / max(1, t["steps"] - t["warmup"])
        return t["lr"] * 0.5 * (1 + math.cos(math.pi * frac))

    gen = torch.Generator().manual_seed(seed * 7919 + start)  # data order: a function of (seed, resume point)

    def on_step(num, losses):
        if num % t["log_every"] == 0 or num == t["steps"]:
            losses_log.append([num, float(sum(losses[-t["log_every"] :]) / len(losses[-t["log_every"] :]))])
            ctx.log.info("run %d step %d/%d loss %.4f", run, num, t["steps"], losses_log[-1][1])
        res.maybe_save(num, model, opt, {"losses": losses_log})

    model.train()
    train_steps(model, list(model.parameters()), train, t["steps"], t["batch"], lr_fn, gen, t["clip"], opt=opt, start=start, on_step=on_step)
    model.eval()
    checks = consistency_checks(model, train[:3])
    ctx.log.info("run %d checks: %s", run, checks)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    save_tensors(ctx.output.model, sd, {"run": run, "seed": seed, "losses": losses_log, "params": n_params(model), **checks})
    res.finish()


def consistency_checks(model, items) -> dict:
    """Max |logit difference|: chunked vs recurrent forward; cached step decoding vs forward."""
    import torch

    text, x, _, _ = make_batch(items)
    with torch.no_grad():
        a, _ = model(text, x, None, "chunk")
        b, _ = model(text, x, None, "recurrent")
        cache = model.start(text)
        c = torch.stack([model.step(cache, x[:, j]) for j in range(x.shape[1])], 1)
    return {"chunk_vs_recurrent_max_abs": float((a - b).abs().max()), "cache_vs_full_max_abs": float((a - c).abs().max())}


# -- adaptation -----------------------------------------------------------------------------------------
def evaluate_system(model, test, refs_mel, centroids, target, p, gen_seed, states_fn=None, prompt=None):
    """Held-out code NLL (teacher forced), then generation -> codec decoding -> DTW mel distance to
    the real reference mel and the speaker proxy: cosine to the target voice's centroid and whether
    the nearest centroid (of all voices) is the target's."""
    import numpy as np
    import torch

    from .audio import dtw_mel_distance, speaker_vector, trim_silence
    from .codec import delay, rvq_decode, undelay
    from .model import generate

    with torch.no_grad():
        prompts = [prompt] * len(test) if prompt is not None else None
        s, n = batch_nll(model, test, prompts, states_fn)
        nll = float(s / n)
        Q = p["codec"]["n_q"]
        B = len(test)
        if prompt is None:
            text = make_batch(test)[0]
            forced = forced_len = None
            tp = 0
        else:
            text = make_batch(test, prompts)[0]
            tp = len(prompt["codes"])
            forced = torch.from_numpy(delay(prompt["codes"]))[None].expand(B, -1, -1)
            forced_len = torch.tensor([[tp + q + 1 for q in range(Q)]] * B)
        max_len = tp + int(p["eval"]["max_len_factor"] * max(len(u["codes"]) for u in test)) + Q + 1
        g = torch.Generator().manual_seed(gen_seed)
        states = states_fn(B) if states_fn is not None else None
        out = generate(model, text, max_len, p["eval"]["top_k"], g, states, forced, forced_len).numpy()
    books = refs_mel["books"]
    dists, sims, hits, gmels = [], [], [], []
    for k, u in enumerate(test):
        codes = undelay(out[k])[tp:]
        m = rvq_decode(codes, books)
        if len(m) < 2:  # a generation that stopped at once counts as silence
            m = np.concatenate([m, np.full((2 - len(m), books.shape[2]), np.log10(p["audio"]["floor"]), np.float32)])
        gmels.append(m)
        dists.append(dtw_mel_distance(trim_silence(m), trim_silence(u["mel"])))
        v = (speaker_vector(m) - refs_mel["mu"]) / refs_mel["sd"]
        cs = centroids @ v / (np.linalg.norm(centroids, axis=1) * np.linalg.norm(v) + 1e-12)
        sims.append(float(cs[target]))
        hits.append(float(cs.argmax() == target))
    return {"nll": nll, "mel_db": float(np.mean(dists)), "sim": float(np.mean(sims)), "spk_acc": float(np.mean(hits)), "gen_frames": float(np.mean([len(m) for m in gmels]))}, gmels


@stage("lina_speech.adapt")
def adapt(ctx):
    """One pre-trained run and one held-out voice: every system and adaptation-set size, evaluated
    on the voice's test utterances. IST trains only the rank-R initial states of every GLA layer
    (both stacks; Adam, lr 0.1 as in Lina's code); full fine-tuning trains every weight (lr chosen
    per size on the validation utterances); LoRA trains rank-r adapters on the GLA projections.
    Every trained system uses the same steps and batch; no-adaptation and prompt continuation
    (one target-voice utterance as teacher-forced prefix) train nothing."""
    import copy
    from pathlib import Path

    import numpy as np
    import torch

    from .audio import Mel, write_wav
    from .model import InitialStates, add_lora, n_params

    p = ctx.params
    run, vname = int(ctx.wildcards["run"]), ctx.wildcards["voice"]
    seed = plan.run_seed(p, run)
    seed_everything(seed)
    torch.set_num_threads(max(1, ctx.threads))
    utts, z = load_data(ctx.input.data)
    names = [str(x) for x in z["voice_names"]]
    target = names.index(vname)
    mine = [u for u in utts if u["voice"] == target]
    adapt_set = [u for u in mine if u["split"] == "adapt"]
    val = [u for u in mine if u["split"] == "val"]
    test = [u for u in mine if u["split"] == "test"]
    # speaker proxy: z-scoring from the pre-training utterances, one centroid per voice (held-out
    # voices: their adaptation utterances), all on codec round-trip mels
    spk_train = np.stack([u["spk"] for u in utts if u["split"] == "train"])
    mu, sd = spk_train.mean(0), spk_train.std(0) + 1e-6
    cents = np.stack([np.mean([(u["spk"] - mu) / sd for u in utts if u["voice"] == vi and u["split"] in ("train", "adapt")], 0) for vi in range(len(names))])
    refs = {"books": z["books"], "mu": mu, "sd": sd}
    base = build_model(z, p)
    tensors, meta = load_tensors(ctx.input.model, with_metadata=True)
    base.load_state_dict(tensors)
    base.eval()
    for prm in base.parameters():
        prm.requires_grad_(False)
    a = p["adapt"]
    total = n_params(base)
    gseed = seed * 1000 + target * 10
    results = {"run": run, "seed": seed, "voice": vname, "params_total": total, "systems": {}, "pretrain": {k: meta[k] for k in ("losses", "chunk_vs_recurrent_max_abs", "cache_vs_full_max_abs")}}
    samples = {}

    def ev(name, model, states_fn=None, prompt=None, k=0):
        r, gm = evaluate_system(model, test, refs, cents, target, p, gseed + k, states_fn, prompt)
        samples[name] = gm[: p["eval"]["n_wav"]]
        ctx.log.info("run %d %s %s: %s", run, vname, name, {kk: round(vv, 4) for kk, vv in r.items()})
        return r

    def val_nll(model, states_fn=None):
        with torch.no_grad():
            s, n = batch_nll(model, val, None, states_fn)
        return float(s / n)

    if "none" in a["systems"]:
        results["systems"]["none"] = {"trainable": 0, "test": ev("none", base), "val_nll": val_nll(base)}
    if "prompt" in a["systems"]:
        results["systems"]["prompt"] = {"trainable": 0, "test": ev("prompt", base, prompt=adapt_set[0], k=1), "prompt_frames": len(adapt_set[0]["codes"])}
    for size in a["sizes"]:
        data_n = adapt_set[:size]
        largest = size == max(a["sizes"])
        if "ist" in a["systems"]:
            shapes = [l.state_shape() for l in base.gla_layers()]
            ist = InitialStates(shapes, a["ist"]["rank"], a["ist"]["scale"], seed=gseed + size)
            opt = torch.optim.Adam(ist.parameters(), lr=a["ist"]["lr"])
            g = torch.Generator().manual_seed(gseed + size)
            losses = train_steps(base, list(ist.parameters()), data_n, a["steps"], a["batch"], lambda s: a["ist"]["lr"], g, 0.0, ist.states, opt=opt)
            r = {"trainable": n_params(ist), "losses": losses[:: max(1, len(losses) // 10)], "val_nll": val_nll(base, ist.states)}
            r["test"] = ev(f"ist_{size}", base, ist.states, k=2)
            results["systems"][f"ist_{size}"] = r
            if largest:
                save_tensors(Path(ctx.output.states), {f"kappa.{i}": k for i, k in enumerate(ist.kappa)} | {f"nu.{i}": n for i, n in enumerate(ist.nu)}, {"voice": vname, "run": run, "size": size})
        if "finetune" in a["systems"]:
            cands = []
            for lr in a["finetune"]["lrs"]:
                m = copy.deepcopy(base)
                for prm in m.parameters():
                    prm.requires_grad_(True)
                m.train()
                opt = torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=0.0)
                g = torch.Generator().manual_seed(gseed + size)
                train_steps(m, list(m.parameters()), data_n, a["steps"], a["batch"], lambda s, lr=lr: lr, g, p["train"]["clip"], opt=opt)
                m.eval()
                cands.append((val_nll(m), lr, m))
            vbest, lr, m = min(cands, key=lambda c: (c[0], c[1]))
            r = {"trainable": n_params(m), "lr": lr, "val_nll": vbest, "val_by_lr": {str(c[1]): c[0] for c in cands}}
            r["test"] = ev(f"finetune_{size}", m, k=3)
            results["systems"][f"finetune_{size}"] = r
        if "lora" in a["systems"]:
            m = copy.deepcopy(base)
            add_lora(m, a["lora"]["rank"], a["lora"]["alpha"], gseed + size)
            trainable = [q for n_, q in m.named_parameters() if n_.endswith(".A") or n_.endswith(".B")]
            opt = torch.optim.AdamW(trainable, lr=a["lora"]["lr"], weight_decay=0.0)
            g = torch.Generator().manual_seed(gseed + size)
            train_steps(m, trainable, data_n, a["steps"], a["batch"], lambda s: a["lora"]["lr"], g, p["train"]["clip"], opt=opt)
            m.eval()
            r = {"trainable": sum(q.numel() for q in trainable), "val_nll": val_nll(m)}
            r["test"] = ev(f"lora_{size}", m, k=4)
            results["systems"][f"lora_{size}"] = r
    # reference: the codec round trip of the real test utterances (the floor of the mel distance)
    from .audio import dtw_mel_distance, speaker_vector, trim_silence
    from .codec import rvq_decode

    floor_mels = [rvq_decode(u["codes"], z["books"]) for u in test]
    fd = [dtw_mel_distance(trim_silence(m), trim_silence(u["mel"])) for m, u in zip(floor_mels, test)]
    fs = []
    for m in floor_mels:
        v = (speaker_vector(m) - mu) / sd
        fs.append(float(cents[target] @ v / (np.linalg.norm(cents[target]) * np.linalg.norm(v) + 1e-12)))
    results["codec_reference"] = {"mel_db": float(np.mean(fd)), "sim": float(np.mean(fs))}
    samples["reference"] = [u["mel"] for u in test[: p["eval"]["n_wav"]]]
    # one spectrogram per system for the figure (first test utterance, 0.1 precision), WAVs for listening
    big = max(a["sizes"])
    keep = ["reference", "none", "prompt", f"ist_{big}", f"finetune_{big}", f"lora_{big}"]
    results["spectrograms"] = {k: np.round(samples[k][0], 1).tolist() for k in keep if k in samples}
    results["sample_sentences"] = [str(z["sentences"][int(z["sentence"][u["i"]])]) for u in test[: p["eval"]["n_wav"]]]
    outdir = Path(ctx.output.samples)
    outdir.mkdir(parents=True, exist_ok=True)
    mel = Mel(p["audio"])
    for k in keep:
        for j, m in enumerate(samples.get(k, [])):
            write_wav(outdir / f"{k}-test{j}.wav", mel.griffin_lim(m, p["eval"]["griffin_lim_iters"], seed=j))
    write_json(ctx.output.evals, results)


# -- efficiency -----------------------------------------------------------------------------------------
@stage("lina_speech.bench")
def bench(ctx):
    """Decode-step CPU time of a GLA stack (recurrent state) and a softmax Transformer stack with a
    KV cache of the same width and depth (random weights: speed does not depend on values), after
    `length` frames, per batch size; `repeats` independent measurements of `steps` steps each. State
    bytes are exact (fp32): GLA layers x H x d_k x d_v; KV cache layers x 2 x length x D, per
    sequence. Timings go to timing.json through the metrics stage."""
    import time

    import torch

    from .gla import GLABlock
    from .model import TransformerBlock

    b = ctx.params["bench"]
    m = ctx.params["model"]
    seed_everything(ctx.params["seed"])
    torch.set_num_threads(1)
    D, Lr, H = b["d_model"], b["layers"], b["heads"]
    gla = torch.nn.ModuleList(GLABlock(D, H, expand_k=m["expand_k"], expand_v=m["expand_v"]) for _ in range(Lr)).eval()
    tfm = torch.nn.ModuleList(TransformerBlock(D, H) for _ in range(Lr)).eval()
    shape = gla[0].attn.state_shape()
    rows = []
    with torch.no_grad():
        for bs in b["batch_sizes"]:
            for L in b["lengths"]:
                x = torch.randn(bs, 1, D)
                states = [torch.randn(bs, *shape) * 0.1 for _ in range(Lr)]
                kc = [torch.randn(bs, H, L + b["steps"], D // H) for _ in range(Lr)]
                vc = [torch.randn(bs, H, L + b["steps"], D // H) for _ in range(Lr)]
                rec = {"batch": bs, "length": L, "gla_s": [], "tfm_s": []}
                for rep in range(b["repeats"] + 1):  # the first is a warm-up, not recorded
                    t0 = time.process_time()
                    for s in range(b["steps"]):
                        h = x
                        for i, blk in enumerate(gla):
                            h, states[i] = blk(h, states[i], "recurrent")
                    t1 = time.process_time()
                    for s in range(b["steps"]):
                        h = x
                        for i, blk in enumerate(tfm):
                            h = blk.step(h, kc[i], vc[i], L + s)
                    t2 = time.process_time()
                    if rep:
                        rec["gla_s"].append((t1 - t0) / b["steps"])
                        rec["tfm_s"].append((t2 - t1) / b["steps"])
                rec["gla_state_bytes"] = Lr * shape[0] * shape[1] * shape[2] * 4 * bs
                rec["kv_cache_bytes"] = Lr * 2 * L * D * 4 * bs
                rows.append(rec)
                ctx.log.info("batch %d length %d: GLA %.3f ms/step, Transformer %.3f ms/step", bs, L, 1e3 * sum(rec["gla_s"]) / len(rec["gla_s"]), 1e3 * sum(rec["tfm_s"]) / len(rec["tfm_s"]))
    write_json(ctx.output.bench, {"clock": "process CPU time, 1 thread", "device": "cpu", "d_model": D, "layers": Lr, "heads": H, "state_shape": list(shape), "rows": rows}, ndigits=9)
