"""layer_swapping's language-model plumbing: the chat format (the same in SFT and evaluation),
supervised fine-tuning (loss on the response only; resumable), batched greedy decoding, per-token
NLL, the answer extractor and a stop-word German detector."""

from __future__ import annotations

import re

import torch

from paperdag.core.errors import PaperdagError

IM_START, IM_END = "<|im_start|>", "<|im_end|>"


def chat_prompt(question: str) -> str:
    """SmolLM2's ChatML turn without a system message (the same string in SFT and evaluation)."""
    return f"{IM_START}user\n{question}{IM_END}\n{IM_START}assistant\n"


def load_model(spec: dict, tokenizer_path: str | None = None):
    """(model, tokenizer) for a model spec of the config: the shared SmolLM2 asset (local), a hub
    id (paper) or a random Llama with the asset's tokenizer (smoke)."""
    from paperdag.core.lm import load_causal_lm

    if spec["source"] == "random":
        from transformers import AutoTokenizer

        model, _ = load_causal_lm(spec)
        if not tokenizer_path:
            raise PaperdagError("model.source random needs a tokenizer (the SmolLM2 asset folder)")
        tok = AutoTokenizer.from_pretrained(tokenizer_path)
    elif spec["source"] == "local":
        model, tok = load_causal_lm(spec, verify=spec.get("verify", True))
    else:
        model, tok = load_causal_lm(spec)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model, tok


def state_of(model) -> dict:
    """The model's parameters without the tied LM head (it is the token embedding)."""
    sd = model.state_dict()
    if getattr(model.config, "tie_word_embeddings", False):
        sd.pop("lm_head.weight", None)
    return {k: v.detach().clone().contiguous() for k, v in sd.items()}


def put_state(model, sd: dict) -> None:
    missing, unexpected = model.load_state_dict(sd, strict=False)
    bad = [k for k in missing if k != "lm_head.weight"] + list(unexpected)
    if bad:
        raise RuntimeError(f"state dict does not fit the model: {bad[:5]}")
    if getattr(model.config, "tie_word_embeddings", False):
        model.tie_weights()


def encode_sft(tok, examples: list[dict], max_len: int) -> list[tuple[list[int], list[int]]]:
    """(input ids, labels) per example: -100 on the prompt, the response + <|im_end|> learned."""
    out = []
    for ex in examples:
        p = tok(chat_prompt(ex["prompt"]), add_special_tokens=False)["input_ids"]
        r = tok(ex["response"] + IM_END, add_special_tokens=False)["input_ids"]
        ids = (p + r)[:max_len]
        labels = ([-100] * len(p) + r)[:max_len]
        out.append((ids, labels))
    return out


def collate(batch, pad_id: int):
    n = max(len(i) for i, _ in batch)
    ids = torch.full((len(batch), n), pad_id, dtype=torch.long)
    lab = torch.full((len(batch), n), -100, dtype=torch.long)
    att = torch.zeros((len(batch), n), dtype=torch.long)
    for j, (i, lb) in enumerate(batch):
        ids[j, : len(i)] = torch.tensor(i)
        lab[j, : len(lb)] = torch.tensor(lb)
        att[j, : len(i)] = 1
    return ids, att, lab


def trainable(model, freeze_embeddings: bool) -> list:
    """Parameters to fine-tune: everything, or everything but the (tied) token embedding."""
    if freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
        out = model.get_output_embeddings()
        if out is not None and out.weight is not model.get_input_embeddings().weight:
            out.weight.requires_grad_(False)
    return [p for p in model.parameters() if p.requires_grad]


def sft(model, tok, data: list[tuple], t: dict, seed: int, resumer=None, log=None) -> list[float]:
    """Fine-tune in place: AdamW, linear decay from t['lr'] to 0 over t['steps'] steps of t['batch']
    examples drawn by a generator seeded by (seed, step), so a resumed run is bit-identical."""
    params = trainable(model, t["freeze_embeddings"])
    opt = torch.optim.AdamW(params, lr=t["lr"], weight_decay=t.get("weight_decay", 0.0))
    steps = int(t["steps"])
    start = resumer.restore(model, opt) if resumer else 0
    losses = []
    model.train()
    for step in range(start, steps):
        g = torch.Generator().manual_seed(seed * 100003 + step)
        idx = torch.randint(len(data), (t["batch"],), generator=g).tolist()
        ids, att, lab = collate([data[i] for i in idx], tok.pad_token_id)
        for grp in opt.param_groups:
            grp["lr"] = t["lr"] * (1 - step / steps)
        loss = model(input_ids=ids, attention_mask=att, labels=lab).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if log and (step % 5 == 0 or step == steps - 1):
            log.info("step %d/%d loss %.4f", step + 1, steps, loss.item())
        if resumer:
            resumer.maybe_save(step + 1, model, opt)
    model.eval()
    return losses


@torch.no_grad()
def generate(model, tok, questions: list[str], max_new: int, batch: int) -> list[str]:
    """Batched greedy decoding (left padding), stopping at <|im_end|>."""
    tok.padding_side = "left"
    end_id = tok.convert_tokens_to_ids(IM_END)
    outs = []
    for s in range(0, len(questions), batch):
        enc = tok([chat_prompt(q) for q in questions[s: s + batch]], return_tensors="pt", padding=True, add_special_tokens=False)
        gen = model.generate(**enc, max_new_tokens=max_new, do_sample=False, eos_token_id=end_id, pad_token_id=tok.pad_token_id)
        outs += tok.batch_decode(gen[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    return [o.strip() for o in outs]


@torch.no_grad()
def nll(model, tok, texts: list[str], max_len: int, batch: int) -> float:
    """Mean per-token negative log-likelihood (nats) of plain texts."""
    tot, cnt = 0.0, 0
    for s in range(0, len(texts), batch):
        enc = [tok(x, add_special_tokens=False)["input_ids"][:max_len] for x in texts[s: s + batch]]
        ids, att, lab = collate([(e, e) for e in enc], tok.pad_token_id)
        logits = model(input_ids=ids, attention_mask=att).logits[:, :-1].float()
        tgt = lab[:, 1:]
        lp = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100, reduction="sum")
        tot += float(lp)
        cnt += int((tgt != -100).sum())
    return tot / max(cnt, 1)


_NUM = re.compile(r"-?\d+(?:[.,]\d{3})*(?:[.,]\d+)?")


def extract_answer(text: str) -> int | None:
    """The last number in a generated answer as an integer: thousands separators ("1,000",
    German "1.000") removed, a decimal part ("3.5", German "3,5") truncated; None if no number."""
    nums = _NUM.findall(text)
    if not nums:
        return None
    s = nums[-1]
    m = re.fullmatch(r"(-?\d{1,3})((?:[.,]\d{3})+)", s)
    if m:
        return int(m.group(1) + re.sub(r"[.,]", "", m.group(2)))
    return int(re.split(r"[.,]", s)[0])


DE_STOP = frozenset("der die das und ist nicht ein eine einen mit von zu den dem des sich auf für im es sie er ich wir wie viele hat hatte sind noch auch aber oder dann jetzt bei nach aus als wenn dass wird haben".split())
EN_STOP = frozenset("the and is not a an with of to in on for it she he i we how many has had are still also but or then now at after from as if that what will have does do there".split())


def is_german(text: str) -> bool:
    """True when the text has more German than English stop words (and at least one)."""
    words = re.findall(r"[a-zäöüß]+", text.lower())
    de = sum(w in DE_STOP for w in words)
    en = sum(w in EN_STOP for w in words)
    return de > en
