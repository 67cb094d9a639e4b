"""lina_speech: per-(run, voice) adaptation evaluations, the decode benchmark and the codec report ->
metrics (mean ± std over independent pre-training runs: each run's value is the mean over the
held-out voices), timing (decode-step times: timing.json) and tables; writes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paperdag.core.io import read_json
from paperdag.core.results import Results, Table
from paperdag.core.stats import mean_std

NAMES = {"none": "no adaptation", "prompt": "prompt continuation (1 utterance)", "ist": "initial-state tuning (IST)", "finetune": "full fine-tuning", "lora": "LoRA (GLA q/k/v/o)"}
METRICS = ("nll", "mel_db", "sim", "spk_acc")
LABELS = {"nll": "code NLL (nats)", "mel_db": "mel distance (dB)", "sim": "SIM proxy", "spk_acc": "speaker-ID proxy"}


def _fmt(s: dict, digits: int = 3) -> str:
    return f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f}" if s and s.get("mean") is not None else "–"


def system_keys(adapt: dict) -> list[tuple[str, int | None]]:
    keys = []
    for s in adapt["systems"]:
        if s in ("none", "prompt"):
            keys.append((s, None))
        else:
            keys.extend((s, n) for n in adapt["sizes"])
    return keys


def _key(system: str, size: int | None) -> str:
    return system if size is None else f"{system}_{size}"


def aggregate(inputs: dict, p: dict) -> Results:
    evs = [read_json(f) for f in inputs["evals"]]
    bench = read_json(inputs["bench"])
    info = read_json(inputs["info"])
    a = p["adapt"]
    runs = sorted({e["run"] for e in evs})
    voices = sorted({e["voice"] for e in evs})
    by = {(e["run"], e["voice"]): e for e in evs}
    keys = system_keys(a)

    # per run: the mean over held-out voices
    per_run = {}
    for sys_, size in keys:
        k = _key(sys_, size)
        per_run[k] = {m: [float(np.mean([by[(r, v)]["systems"][k]["test"][m] for v in voices])) for r in runs] for m in METRICS}
    scores = {k: {m: mean_std(vals) for m, vals in d.items()} for k, d in per_run.items()}
    trainable = {k: by[(runs[0], voices[0])]["systems"][k]["trainable"] for k in per_run}
    total = by[(runs[0], voices[0])]["params_total"]
    ft_lr = {k: [by[(r, v)]["systems"][k]["lr"] for r in runs for v in voices] for k in per_run if k.startswith("finetune_")}

    small, big = min(a["sizes"]), max(a["sizes"])
    mid = a["sizes"][len(a["sizes"]) // 2]
    nll = {k: np.array(per_run[k]["nll"]) for k in per_run}
    ci = {}
    ci["nll_gain_ist_largest"] = mean_std(nll["none"] - nll[f"ist_{big}"])
    if f"finetune_{big}" in nll:
        ci["nll_gain_finetune_largest"] = mean_std(nll["none"] - nll[f"finetune_{big}"])
        for tag, n in (("smallest", small), ("largest", big)):
            ci[f"ist_ft_gain_ratio_{tag}"] = mean_std((nll["none"] - nll[f"ist_{n}"]) / (nll["none"] - nll[f"finetune_{n}"]))
    if "prompt" in nll:
        ci["nll_prompt_minus_ist_mid"] = mean_std(nll["prompt"] - nll[f"ist_{mid}"])
        ci["nll_gain_prompt"] = mean_std(nll["none"] - nll["prompt"])
    ci["sim_gain_ist_largest"] = mean_std(np.array(per_run[f"ist_{big}"]["sim"]) - np.array(per_run["none"]["sim"]))
    if f"lora_{big}" in nll:
        ci["nll_gain_lora_largest"] = mean_std(nll["none"] - nll[f"lora_{big}"])
    ci["ist_param_percent"] = 100.0 * trainable[f"ist_{big}"] / total
    ci["chunk_vs_recurrent_max_abs"] = max(by[(r, voices[0])]["pretrain"]["chunk_vs_recurrent_max_abs"] for r in runs)
    ci["cache_vs_full_max_abs"] = max(by[(r, voices[0])]["pretrain"]["cache_vs_full_max_abs"] for r in runs)
    ci["codec_mel_error_db"] = info["codec_error"]["rvq_test_db"]

    # the benchmark: bytes are exact (metrics), times are measured (timing)
    rows = bench["rows"]
    bsz = max(r["batch"] for r in rows)
    lens = sorted({r["length"] for r in rows})
    cell = {(r["batch"], r["length"]): r for r in rows}
    lo, hi = cell[(bsz, lens[0])], cell[(bsz, lens[-1])]
    ci["gla_state_ratio"] = hi["gla_state_bytes"] / lo["gla_state_bytes"]
    ci["kv_cache_ratio"] = hi["kv_cache_bytes"] / lo["kv_cache_bytes"]
    memory = [{"batch": r["batch"], "length": r["length"], "gla_state_bytes": r["gla_state_bytes"], "kv_cache_bytes": r["kv_cache_bytes"]} for r in rows]
    timing_ci = {
        "timing_gla_step_ratio": mean_std([h / l for h, l in zip(hi["gla_s"], lo["gla_s"])]),
        "timing_transformer_step_ratio": mean_std([h / l for h, l in zip(hi["tfm_s"], lo["tfm_s"])]),
        "timing_transformer_over_gla_longest": mean_std([t / g for t, g in zip(hi["tfm_s"], hi["gla_s"])]),
    }
    timing = {
        "timing": {"clock": bench["clock"], "device": bench["device"], "random_weights": True, "d_model": bench["d_model"], "layers": bench["layers"],
                   "rows": [{"batch": r["batch"], "length": r["length"], "gla_ms": mean_std([1e3 * x for x in r["gla_s"]]), "tfm_ms": mean_std([1e3 * x for x in r["tfm_s"]])} for r in rows]},
        "claims_inputs": timing_ci,
    }

    e0 = by[(runs[0], voices[0])]
    metrics = {
        "units": "held-out target-voice test utterances; code NLL in nats per predicted code/tail token (teacher forced); mel distance = mean |log-mel difference| in dB along the DTW path (generated vs real reference); SIM proxy = cosine of z-scored log-mel mean/std vectors to the target voice's centroid; speaker-ID proxy = share of generations whose nearest voice centroid (of all voices) is the target. Each run's value is the mean over held-out voices; mean ± std (ddof 1) over n independent pre-training runs.",
        "runs": len(runs),
        "heldout_voices": voices,
        "sizes": a["sizes"],
        "systems": a["systems"],
        "params_total": total,
        "trainable": trainable,
        "scores": scores,
        "scores_runs": per_run,
        "finetune_lr_chosen": ft_lr,
        "codec_reference": {m: mean_std([float(np.mean([by[(r, v)]["codec_reference"][m] for v in voices])) for r in runs]) for m in ("mel_db", "sim")},
        "codec_error": info["codec_error"],
        "corpus": {"utterances": info["n_items"], "frames": info["frames"], "phoneme_symbols": info["vocab"], "example": info["example"]},
        "memory": memory,
        "state_shape": bench["state_shape"],
        "spectrograms": {"run": runs[0], "voice": voices[0], "sentence": e0.get("sample_sentences", [""])[0], "mels": e0["spectrograms"]},
        "pretrain_losses": {str(r): by[(r, voices[0])]["pretrain"]["losses"] for r in runs},
        "paper_reference": p.get("paper_reference", {}),
        "claims_inputs": ci,
    }

    # tables
    arows = []
    for sys_ in a["systems"]:
        sizes = [None] if sys_ in ("none", "prompt") else a["sizes"]
        row = {"system": NAMES[sys_], "trainable params": trainable[_key(sys_, sizes[0])], "% of model": f"{100 * trainable[_key(sys_, sizes[0])] / total:.3g}"}
        for m in METRICS:
            for n in a["sizes"]:
                k = _key(sys_, None if sys_ in ("none", "prompt") else n)
                row[f"{LABELS[m]} @{n}"] = _fmt(scores[k][m])
        arows.append(row)
    cr = metrics["codec_reference"]
    arows.append({"system": "codec round trip of the real utterance (floor)", "trainable params": "", "% of model": "", **{f"{LABELS[m]} @{n}": (_fmt(cr[m]) if m in cr else "") for m in METRICS for n in a["sizes"]}})
    adaptation = Table(
        pd.DataFrame(arows),
        title="Speaker adaptation to held-out espeak-ng voices, by adaptation-set size (utterances)",
        note=f"{len(runs)} independent pre-training runs x {len(voices)} held-out voices ({', '.join(voices)}); each cell: mean ± std over runs of the voice-averaged value. "
        f"Prompt continuation and no adaptation do not depend on the set size (repeated). Full fine-tuning's lr chosen per size on validation utterances from {a['finetune']['lrs']}. "
        f"IST: rank-{a['ist']['rank']} initial states of all GLA layers, Adam lr {a['ist']['lr']}; all trained systems {a['steps']} steps of batch {a['batch']}. Paper values: none retrievable (notes).",
    )
    erows = []
    for tr in timing["timing"]["rows"]:
        r = cell[(tr["batch"], tr["length"])]
        erows.append({"batch": tr["batch"], "length (frames)": tr["length"], "GLA ms/step": _fmt(tr["gla_ms"], 3), "Transformer ms/step": _fmt(tr["tfm_ms"], 3), "GLA state (KiB)": r["gla_state_bytes"] / 1024, "KV cache (KiB)": r["kv_cache_bytes"] / 1024})
    efficiency = Table(pd.DataFrame(erows), title="Decode step: GLA (recurrent state) vs softmax Transformer (KV cache), same width and depth",
                       note=f"D = {bench['d_model']}, {bench['layers']} layers, random weights, fp32, {bench['clock']}; mean ± std over independent measurements. State bytes are exact.")
    ce = info["codec_error"]
    codec = Table(pd.DataFrame([
        {"codec": "residual k-means, all codebooks", "split": "held-out voices, test", "mean |log-mel error| (dB)": ce["rvq_test_db"]},
        {"codec": "residual k-means, all codebooks", "split": "pre-training voices", "mean |log-mel error| (dB)": ce["rvq_train_db"]},
        {"codec": "first codebook only", "split": "held-out voices, test", "mean |log-mel error| (dB)": ce["first_codebook_test_db"]},
        {"codec": "control: the mean pre-training frame", "split": "held-out voices, test", "mean |log-mel error| (dB)": ce["mean_frame_test_db"]},
    ]), title="Codec reconstruction error (log-mel, 40 bands, 50 frames/s)", note="10 x |log10 mel power difference| averaged over bands and frames; the k-means is fit on pre-training frames only.", floatfmt=".3f")
    crow = [{"run": int(r), "step": s, "train_loss": l} for r, ls in metrics["pretrain_losses"].items() for s, l in ls]
    curve = Table(pd.DataFrame(crow), title="pre-training loss", floatfmt=".4f")
    return Results(metrics, {"adaptation": adaptation, "efficiency": efficiency, "codec": codec, "pretrain_curve": curve}, timing)
