"""Revise: the general model (the paper's GPT-4; here the shared SmolLM2-135M-Instruct) given the
question, the draft and the evidence. Two modes:

- generative: it writes the final answer (greedy), and the answer is scored with the paper's metric;
- likelihood scoring (a constrained crutch for a 135M reviser, labelled as such): it scores
  "The applicable article is <title>." for each evidence title and the best-scoring title is the
  answer. It can only choose among the retrieved titles.

At the smoke scale the reviser is a tiny random Llama with MiniLM's WordPiece tokenizer (same code)."""

from __future__ import annotations

import torch

from paperdag.core.errors import PaperdagError

ANSWER_PREFIX = "The applicable article is"


def load_reviser(spec: dict, asset: str | None = None):
    from paperdag.core.lm import load_causal_lm

    if spec["source"] == "local":
        model, tok = load_causal_lm(asset or spec["path"])
    elif spec["source"] == "hub":
        model, tok = load_causal_lm({"source": "hub", "id": spec["id"]})
    elif spec["source"] == "random":
        from transformers import AutoTokenizer

        from .retrieval import minilm_path

        tok = AutoTokenizer.from_pretrained(minilm_path())
        cfg = dict(spec["config"], vocab_size=tok.vocab_size)
        model, _ = load_causal_lm({"source": "random", "arch": "llama", "config": cfg, "seed": spec.get("seed", 0)})
    else:
        raise PaperdagError(f"reviser source '{spec['source']}': expected local | hub | random")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model, tok


def user_message(question: str, draft: str | None, evidence: list[str] | None, ask: str) -> str:
    parts = [question]
    if draft is not None:
        parts.append(f"Draft answer from a legal assistant: {draft}")
    if evidence:
        parts.append("Evidence from the statute book:\n" + "\n".join(f"[{i + 1}] {e}" for i, e in enumerate(evidence)))
    parts.append(ask)
    return "\n".join(parts)


ASK_REVISE = "Check the draft against the evidence and give the final answer, citing the one article that applies."
ASK_DIRECT = "Answer and cite the article of the statute book that applies."


def prompt(tok, user: str, assistant_prefix: str = "") -> str:
    if getattr(tok, "chat_template", None):
        s = tok.apply_chat_template([{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True)
    else:
        s = f"User: {user}\nAssistant: "
    return s + assistant_prefix


def _ids(tok, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


@torch.no_grad()
def score_titles(model, tok, user: str, titles: list[str]) -> list[float]:
    """Sum log-likelihood of " <title>." after the answer prefix, for each title. The shared prompt
    runs once; its KV cache is repeated over the titles, which run as one right-padded batch."""
    p = _ids(tok, prompt(tok, user, ANSWER_PREFIX))
    conts = [_ids(tok, f" {t}.") for t in titles]
    pre = model(input_ids=torch.tensor([p]), use_cache=True)
    last = torch.log_softmax(pre.logits[0, -1].float(), -1)  # predicts each title's first token
    cache = pre.past_key_values
    cache.batch_repeat_interleave(len(conts))
    L = max(len(c) for c in conts)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    ids = torch.full((len(conts), L), pad, dtype=torch.long)
    att = torch.zeros((len(conts), len(p) + L), dtype=torch.long)
    att[:, : len(p)] = 1
    for r, c in enumerate(conts):
        ids[r, : len(c)] = torch.tensor(c)
        att[r, len(p) : len(p) + len(c)] = 1
    pos = torch.arange(len(p), len(p) + L).unsqueeze(0).expand(len(conts), -1)
    logp = torch.log_softmax(model(input_ids=ids, attention_mask=att, past_key_values=cache, position_ids=pos).logits.float(), -1)
    out = []
    for r, c in enumerate(conts):
        total = float(last[c[0]])
        for j in range(1, len(c)):
            total += float(logp[r, j - 1, c[j]])
        out.append(total)
    return out


def score_titles_full(model, tok, user: str, titles: list[str]) -> list[float]:
    """The same scores without the cache (one batch of full sequences): the reference the cached
    scorer is tested against."""
    p = _ids(tok, prompt(tok, user, ANSWER_PREFIX))
    seqs = [p + _ids(tok, f" {t}.") for t in titles]
    L = max(len(x) for x in seqs)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    ids = torch.full((len(seqs), L), pad, dtype=torch.long)
    att = torch.zeros((len(seqs), L), dtype=torch.long)
    for r, x in enumerate(seqs):
        ids[r, : len(x)] = torch.tensor(x)
        att[r, : len(x)] = 1
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids, attention_mask=att).logits.float(), -1)
    out = []
    for r, x in enumerate(seqs):
        pos = torch.arange(len(p) - 1, len(x) - 1)
        out.append(float(logp[r, pos, torch.tensor(x[len(p) :])].sum()))
    return out


@torch.no_grad()
def generate(model, tok, users: list[str], max_new: int, batch: int = 8) -> list[str]:
    """Greedy answers, batched with left padding."""
    outs = []
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    for s in range(0, len(users), batch):
        enc = [_ids(tok, prompt(tok, u)) for u in users[s : s + batch]]
        L = max(len(e) for e in enc)
        ids = torch.full((len(enc), L), pad, dtype=torch.long)
        att = torch.zeros((len(enc), L), dtype=torch.long)
        for r, e in enumerate(enc):
            ids[r, L - len(e) :] = torch.tensor(e)
            att[r, L - len(e) :] = 1
        g = model.generate(input_ids=ids, attention_mask=att, max_new_tokens=max_new, do_sample=False,
                           pad_token_id=pad, eos_token_id=tok.eos_token_id)
        outs += [tok.decode(g[r, L:], skip_special_tokens=True).strip() for r in range(len(enc))]
    return outs
