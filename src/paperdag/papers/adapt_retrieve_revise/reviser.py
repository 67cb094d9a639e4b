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
from paperdag.core.padding import left_pad

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
def score_many(model, tok, requests: list[tuple[str, str, list[str]]]) -> list[list[float]]:
    """Sum log-likelihood of each continuation after its prompt, for several requests (user
    message, answer prefix, continuations), in ONE forward pass: every prompt + continuation token
    sequence is put in a prefix tree (shared prompt tokens, e.g. the question, and the prompt of one
    request's continuations, are computed once), packed with a 4D attention mask (each token sees
    its ancestors only) and positions = depth in the tree. Exact: equals scoring each sequence on
    its own (tested against `score_full`)."""
    seqs = []
    for user, prefix, conts in requests:
        p = _ids(tok, prompt(tok, user, prefix))
        seqs += [(p, _ids(tok, c)) for c in conts]
    children, tok_of, parent, depth = [{}], [0], [-1], [-1]  # node 0: the root, not a token
    paths = []
    for p, c in seqs:
        node, nodes = 0, []
        for t in p + c:
            nxt = children[node].get(t)
            if nxt is None:
                nxt = len(tok_of)
                children[node][t] = nxt
                children.append({})
                tok_of.append(t)
                parent.append(node)
                depth.append(depth[node] + 1)
            node = nxt
            nodes.append(node)
        paths.append((nodes, len(p), c))
    n = len(tok_of) - 1  # token i of the packed sequence is node i + 1
    allowed = torch.zeros((n, n), dtype=torch.bool)
    for i in range(1, n + 1):  # a parent is created before its children
        if parent[i] > 0:
            allowed[i - 1] = allowed[parent[i] - 1]
        allowed[i - 1, i - 1] = True
    need = sorted({nodes[j] - 1 for nodes, lp, c in paths for j in range(lp - 1, lp - 1 + len(c))})
    row = {x: r for r, x in enumerate(need)}
    dtype = next(model.parameters()).dtype
    mask = torch.zeros((1, 1, n, n), dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)
    logits = model(input_ids=torch.tensor([tok_of[1:]]), attention_mask=mask, position_ids=torch.tensor([depth[1:]]),
                   logits_to_keep=torch.tensor(need)).logits[0]
    logp = torch.log_softmax(logits.float(), -1)
    flat = [sum(float(logp[row[nodes[lp - 1 + j] - 1], c[j]]) for j in range(len(c))) for nodes, lp, c in paths]
    out, s0 = [], 0
    for _, _, conts in requests:
        out.append(flat[s0 : s0 + len(conts)])
        s0 += len(conts)
    return out


def score(model, tok, user: str, prefix: str, conts: list[str]) -> list[float]:
    """Sum log-likelihood of each continuation after the answer prefix (one packed forward pass)."""
    return score_many(model, tok, [(user, prefix, conts)])[0]


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
        ids, att = left_pad(enc, pad)
        L = ids.shape[1]
        g = model.generate(input_ids=ids, attention_mask=att, max_new_tokens=max_new, do_sample=False,
                           pad_token_id=pad, eos_token_id=tok.eos_token_id)
        outs += [tok.decode(g[r, L:], skip_special_tokens=True).strip() for r in range(len(enc))]
    return outs
