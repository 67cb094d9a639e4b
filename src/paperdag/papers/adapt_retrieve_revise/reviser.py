"""Revise: the general model (the paper's GPT-4; here the shared SmolLM2-135M-Instruct) given the
question, the draft and the evidence. Two modes:

- generative: it writes the final answer (greedy), and the answer is scored with the paper's metric;
- likelihood scoring (a constrained crutch for a 135M reviser, labelled as such): it scores
  "The applicable article is <title>." for each evidence title and the best-scoring title is the
  answer. It can only choose among the retrieved titles. On Exam-MCQ it scores
  "The answer is <letter>) <option>." for the 4 options.

At the smoke scale the reviser is a tiny random Llama with MiniLM's WordPiece tokenizer (same code)."""

from __future__ import annotations

import torch

from paperdag.core.errors import PaperdagError

ANSWER_PREFIX = "The applicable article is"
MCQ_PREFIX = "The answer is"


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
ASK_REVISE_MCQ = "Check the draft against the evidence and give the final answer: the letter of the one correct option."
ASK_DIRECT_MCQ = "Answer with the letter of the one correct option."


def asks(task: str) -> tuple[str, str]:
    """(revise, direct) instructions for a task."""
    return (ASK_REVISE_MCQ, ASK_DIRECT_MCQ) if task == "mcq" else (ASK_REVISE, ASK_DIRECT)


def prompt(tok, user: str, assistant_prefix: str = "") -> str:
    if getattr(tok, "chat_template", None):
        s = tok.apply_chat_template([{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True)
    else:
        s = f"User: {user}\nAssistant: "
    return s + assistant_prefix


def _ids(tok, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


def title_conts(titles: list[str]) -> list[str]:
    return [f" {t}." for t in titles]


def option_conts(options: list[str]) -> list[str]:
    from .statutes import LETTERS

    return [f" {LETTERS[i]}) {o}." for i, o in enumerate(options)]


@torch.no_grad()
def score(model, tok, user: str, prefix: str, conts: list[str]) -> list[float]:
    """Sum log-likelihood of each continuation after the answer prefix, in ONE forward pass: the
    shared prompt once, then every continuation packed after it, each attending to the prompt and to
    itself only (a 4D attention mask; positions restart after the prompt for each continuation)."""
    p = _ids(tok, prompt(tok, user, prefix))
    cs = [_ids(tok, c) for c in conts]
    n = len(p) + sum(len(c) for c in cs)
    allowed = torch.zeros((n, n), dtype=torch.bool)
    allowed[: len(p), : len(p)] = torch.tril(torch.ones(len(p), len(p), dtype=torch.bool))
    pos, ids, starts, s0 = list(range(len(p))), list(p), [], len(p)
    for c in cs:
        starts.append(s0)
        allowed[s0 : s0 + len(c), : len(p)] = True
        allowed[s0 : s0 + len(c), s0 : s0 + len(c)] = torch.tril(torch.ones(len(c), len(c), dtype=torch.bool))
        pos += list(range(len(p), len(p) + len(c)))
        ids += c
        s0 += len(c)
    dtype = next(model.parameters()).dtype
    mask = torch.zeros((1, 1, n, n), dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)
    keep = n - len(p) + 1  # logits from the prompt's last position on
    logits = model(input_ids=torch.tensor([ids]), attention_mask=mask, position_ids=torch.tensor([pos]),
                   logits_to_keep=keep).logits[0]
    logp = torch.log_softmax(logits.float(), -1)  # row r = position len(p) - 1 + r
    out = []
    for c, st in zip(cs, starts):
        total = float(logp[0, c[0]])  # the prompt's last position predicts each first token
        for j in range(1, len(c)):
            total += float(logp[st + j - 1 - (len(p) - 1), c[j]])
        out.append(total)
    return out


def score_titles(model, tok, user: str, titles: list[str]) -> list[float]:
    """Sum log-likelihood of " <title>." after "The applicable article is", for each title."""
    return score(model, tok, user, ANSWER_PREFIX, title_conts(titles))


def score_options(model, tok, user: str, options: list[str]) -> list[float]:
    """Sum log-likelihood of " <letter>) <option>." after "The answer is", for each option."""
    return score(model, tok, user, MCQ_PREFIX, option_conts(options))


def score_full(model, tok, user: str, prefix: str, conts: list[str]) -> list[float]:
    """The same scores from one batch of full, separate sequences (no packing): the reference the
    packed scorer is tested against."""
    p = _ids(tok, prompt(tok, user, prefix))
    seqs = [p + _ids(tok, c) for c in conts]
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


def score_titles_full(model, tok, user: str, titles: list[str]) -> list[float]:
    return score_full(model, tok, user, ANSWER_PREFIX, title_conts(titles))


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
