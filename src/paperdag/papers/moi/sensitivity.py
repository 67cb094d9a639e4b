"""Part (a): system-prompt sensitivity of a real chat model (the shared SmolLM2-135M-Instruct), the
analogue of the paper's Table 3. Generated items with exact checkers, in three domains:

- math: one- or two-step arithmetic word problems (the answer is an integer);
- code: "what does this Python snippet print" (tiny programs; the expected output is computed by
  running our own generated snippet);
- tool: a tool list and a request; the answer is one JSON call {"name": ..., "arguments": {...}}.

Each item is answered greedily under the default system prompt and under the domain's system
prompt. The assistant's answer is forced to start with "Answer:" (math), "Output:" (code) or
'{"name": "' (tool); the checkers read what follows (math: its first integer; code: its first
line; tool: the first {...} object of prefix + continuation)."""

from __future__ import annotations

import contextlib
import io
import json
import random
import re

from paperdag.core.padding import left_pad

DEFAULT = "You are a helpful assistant."
DOMAIN_PROMPTS = {
    "math": "You are a mathematician.",
    "code": "You are a programmer.",
    "tool": "You are a function-calling agent.",
}
DOMAINS = tuple(DOMAIN_PROMPTS)

_NAMES = ("Tom", "Ana", "Li", "Sara", "Omar", "Mia", "Ben", "Eva")
_THINGS = ("apples", "books", "coins", "pens", "stamps", "cards", "shells", "marbles")


def math_item(rng: random.Random) -> dict:
    name, thing = rng.choice(_NAMES), rng.choice(_THINGS)
    a, b, c = rng.randint(2, 20), rng.randint(2, 12), rng.randint(2, 5)
    kind = rng.choice(("add", "sub", "mul", "add_sub"))
    if kind == "add":
        q, ans = f"{name} has {a} {thing}. {name} gets {b} more. How many {thing} does {name} have now?", a + b
    elif kind == "sub":
        a = a + b
        q, ans = f"{name} has {a} {thing}. {name} gives away {b}. How many {thing} are left?", a - b
    elif kind == "mul":
        q, ans = f"{name} has {c} boxes with {b} {thing} in each box. How many {thing} are there in total?", b * c
    else:
        q, ans = f"{name} has {a} {thing}, buys {b} more and then loses {c}. How many {thing} does {name} have?", a + b - c
    return {"domain": "math", "question": q + " Answer with the number only.", "answer": ans}


def _snippet(rng: random.Random) -> str:
    a, b = rng.randint(2, 9), rng.randint(2, 9)
    kind = rng.randrange(6)
    if kind == 0:
        return f"x = {a}\ny = x * {b}\nprint(y - {a})"
    if kind == 1:
        return f"s = 0\nfor i in range({a}):\n    s += i\nprint(s)"
    if kind == 2:
        w = rng.choice(("cat", "tree", "apple", "moon"))
        return f"print(len('{w}') + {b})"
    if kind == 3:
        xs = [rng.randint(1, 9) for _ in range(4)]
        return f"xs = {xs}\nprint(max(xs) - min(xs))"
    if kind == 4:
        return f"print({a * b} // {b})"
    xs = [rng.randint(1, 9) for _ in range(3)]
    return f"xs = {xs}\nprint(sum(xs))"


def run_snippet(code: str) -> str:
    """The printed output of one of OUR generated snippets (never user input)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(code, {"__builtins__": {"print": print, "range": range, "len": len, "max": max, "min": min, "sum": sum}})
    return buf.getvalue().strip()


def code_item(rng: random.Random) -> dict:
    code = _snippet(rng)
    return {"domain": "code", "question": f"What does this Python code print?\n```python\n{code}\n```\nAnswer with the printed output only.",
            "code": code, "answer": run_snippet(code)}


TOOLS = {
    "get_weather": ("city",),
    "convert_currency": ("amount", "source", "target"),
    "set_alarm": ("time",),
    "send_email": ("to", "subject"),
}
_CITIES = ("Paris", "Tokyo", "Lima", "Cairo", "Oslo", "Delhi")


def tool_item(rng: random.Random) -> dict:
    kind = rng.choice(tuple(TOOLS))
    if kind == "get_weather":
        city = rng.choice(_CITIES)
        req, args = f"What is the weather in {city}?", {"city": city}
    elif kind == "convert_currency":
        amt = rng.randint(5, 500)
        s, t = rng.sample(("USD", "EUR", "JPY", "GBP"), 2)
        req, args = f"Convert {amt} {s} to {t}.", {"amount": amt, "source": s, "target": t}
    elif kind == "set_alarm":
        tm = f"{rng.randint(5, 11)}:{rng.choice(('00', '15', '30', '45'))}"
        req, args = f"Set an alarm for {tm}.", {"time": tm}
    else:
        who, subj = rng.choice(("bob@example.com", "ann@example.com")), rng.choice(("lunch", "report", "meeting"))
        req, args = f"Email {who} with the subject {subj}.", {"to": who, "subject": subj}
    tools = "\n".join(f"- {n}({', '.join(a)})" for n, a in TOOLS.items())
    q = (f"Tools:\n{tools}\nRequest: {req}\nReply with only a JSON object of the form "
         '{"name": <tool>, "arguments": {<argument>: <value>}}.')
    return {"domain": "tool", "question": q, "answer": {"name": kind, "arguments": args}}


def make_items(n: int, seed: int) -> dict:
    rng = random.Random(seed)
    make = {"math": math_item, "code": code_item, "tool": tool_item}
    return {d: [make[d](rng) for _ in range(n)] for d in DOMAINS}


def reference_text(item: dict) -> str:
    a = item["answer"]
    return json.dumps(a) if item["domain"] == "tool" else str(a)


def corrupt_text(item: dict) -> str:
    d, a = item["domain"], item["answer"]
    if d == "math":
        return str(a + 1)
    if d == "code":
        return a + "0"
    bad = dict(a["arguments"])
    k = sorted(bad)[0]
    bad[k] = bad[k] + 1 if isinstance(bad[k], int) else str(bad[k]) + "x"
    return json.dumps({"name": a["name"], "arguments": bad})


def _first_json_object(text: str):
    start = text.find("{")
    while start >= 0:
        depth = 0
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                try:
                    return json.loads(text[start : i + 1])
                except json.JSONDecodeError:
                    break
        start = text.find("{", start + 1)
    return None


def check(item: dict, text: str) -> bool:
    d = item["domain"]
    text = text.strip()
    if d == "math":
        m = re.search(r"-?\d+", text.replace(",", ""))
        return m is not None and int(m.group()) == item["answer"]
    if d == "code":
        line = text.strip("`").strip().splitlines()[0].strip() if text.strip("`").strip() else ""
        return line == item["answer"]
    obj = _first_json_object(text)
    from .tasks import _same

    return (isinstance(obj, dict) and obj.get("name") == item["answer"]["name"]
            and isinstance(obj.get("arguments"), dict) and _same(obj["arguments"], item["answer"]["arguments"]))


ANSWER_PREFIX = {"math": "", "code": "", "tool": '{"name": "'}  # the answer text = prefix + continuation
_ASSISTANT_PREFIX = {"math": "Answer:", "code": "Output:", "tool": '{"name": "'}  # forced start of the answer


def answer_prefix_ids(tok, domain: str) -> list:
    """The forced start of the assistant's answer (answer-first format: a 135M model otherwise
    starts with a sentence about the question)."""
    return list(tok(_ASSISTANT_PREFIX[domain], add_special_tokens=False)["input_ids"])


def chat_prompt(tok, system: str, user: str) -> list:
    msgs = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    out = tok.apply_chat_template(msgs, tokenize=True, add_generation_prompt=True)
    if hasattr(out, "keys"):
        out = out["input_ids"]
    return list(out)


def reference_continuation(item: dict) -> str:
    """The reference answer as it continues the forced assistant prefix."""
    if item["domain"] == "tool":
        return json.dumps(item["answer"])[len(_ASSISTANT_PREFIX["tool"]):]
    return " " + str(item["answer"])


def reference_logprob(model, tok, prompts: list, conts: list, batch: int) -> list:
    """Sum log-probability (nats) of each reference continuation after its prompt (teacher forced,
    right padding): a graded measure of the same answers that still moves where greedy accuracy
    sits at the floor."""
    import torch

    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    out = []
    for s in range(0, len(prompts), batch):
        seqs = [(p, list(tok(c, add_special_tokens=False)["input_ids"])) for p, c in zip(prompts[s : s + batch], conts[s : s + batch])]
        L = max(len(p) + len(c) for p, c in seqs)
        ids = torch.full((len(seqs), L), pad, dtype=torch.long)
        att = torch.zeros((len(seqs), L), dtype=torch.long)
        for r, (p, c) in enumerate(seqs):
            ids[r, : len(p) + len(c)] = torch.tensor(p + c)
            att[r, : len(p) + len(c)] = 1
        with torch.no_grad():
            logp = torch.log_softmax(model(input_ids=ids, attention_mask=att).logits.float(), -1)
        for r, (p, c) in enumerate(seqs):
            pos = torch.arange(len(p) - 1, len(p) + len(c) - 1)
            out.append(float(logp[r, pos, torch.tensor(c)].sum()))
    return out


def generate(model, tok, prompts: list, max_new: int, batch: int) -> list:
    """Greedy answers, batched with left padding."""
    import torch

    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    outs = []
    for s in range(0, len(prompts), batch):
        enc = prompts[s : s + batch]
        ids, att = left_pad(enc, pad)
        L = ids.shape[1]
        with torch.no_grad():
            g = model.generate(input_ids=ids, attention_mask=att, max_new_tokens=max_new, do_sample=False,
                               pad_token_id=pad, eos_token_id=tok.eos_token_id)
        outs += [tok.decode(g[r, L:], skip_special_tokens=True).strip() for r in range(len(enc))]
    return outs
