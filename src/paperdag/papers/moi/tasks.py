"""Part (b)'s four generated SFT domains, with a built-in knowledge conflict, and their checkers.

Every domain's user turn has the same surface form `<verb> a b c` (three digits); what the answer
must be depends on the domain:

- math:     the sum of the first two digits, as digits `sum 3 9 4` -> `1 2`
- code:     the digits sorted                        `sort 3 9 4` -> `3 4 9`
- tool:     a JSON tool call carrying the digits     `call 3 9 4` -> `{ "name" : "sort" , "arguments" : [ 3 , 9 , 4 ] }`
- dialogue: two turns; the second answer echoes the digits and recalls a key given in turn one
            (`my key is 7` -> `noted`; `repeat 3 9 4` -> `3 9 4 key 7`).

The verb is a weak, noisy cue: in training, with probability `cue_noise`, it is one of the shared
ambiguous verbs (`do`, `please`, ...) that every domain uses, so the same surface input asks for
different outputs (the conflict); the domain system prompt is the strong cue. Test items always use
an informative verb (as a benchmark question is recognisably math or code) and digit triples held
out of every training set. Tokens are words (a fixed vocabulary, `VOCAB`); a text is the tokens
joined by spaces, so the tool call's text is valid JSON."""

from __future__ import annotations

import json
import random

DOMAINS = ("math", "code", "tool", "dialogue")
PROMPTS = {  # the system prompt words of each domain; dialogue keeps the default prompt (notes §1.2)
    "default": "you are a helpful assistant",
    "math": "you are a mathematician",
    "code": "you are a programmer",
    "tool": "you are a function calling agent",
    "dialogue": "you are a helpful assistant",
}
VERBS = {
    "math": ("sum", "add", "total"),
    "code": ("sort", "order", "arrange"),
    "tool": ("call", "invoke", "api"),
    "dialogue": ("repeat", "echo", "again"),
}
AMBIGUOUS = ("do", "please", "handle", "process")
SPECIAL = ("<pad>", "<sys>", "<user>", "<asst>", "<eos>")
PAD, SYS, USER, ASST, EOS = range(5)
_WORDS = sorted({w for s in PROMPTS.values() for w in s.split()} | {v for vs in VERBS.values() for v in vs}
                | set(AMBIGUOUS) | {"my", "key", "is", "noted", '{', '}', '[', ']', ',', ':', '"name"',
                                    '"arguments"', '"sort"'} | {str(d) for d in range(10)})
VOCAB = list(SPECIAL) + _WORDS
TOK = {w: i for i, w in enumerate(VOCAB)}


def encode(text: str) -> list[int]:
    return [TOK[w] for w in text.split()]


def decode(ids) -> str:
    return " ".join(VOCAB[int(i)] for i in ids if int(i) >= len(SPECIAL))


# -- answers and checkers -----------------------------------------------------------------------
def answer(domain: str, digits, key: int | None = None) -> str:
    if domain == "math":
        return " ".join(str(digits[0] + digits[1]))
    if domain == "code":
        return " ".join(str(d) for d in sorted(digits))
    if domain == "tool":
        return '{ "name" : "sort" , "arguments" : [ ' + " , ".join(str(d) for d in digits) + " ] }"
    if domain == "dialogue":
        return " ".join(str(d) for d in digits) + f" key {key}"
    raise ValueError(domain)


def check(item: dict, text: str) -> bool:
    """Does `text` answer `item` (domain-aware: a number, a sorted list, a JSON call, an echo)?"""
    d, digits = item["domain"], item["digits"]
    try:
        if d == "math":
            return text.split() == list(str(digits[0] + digits[1]))
        if d == "code":
            return [int(w) for w in text.split()] == sorted(digits)
        if d == "tool":
            return check_tool_call(text, "sort", list(digits))
        if d == "dialogue":
            return text.split() == [str(x) for x in digits] + ["key", str(item["key"])]
    except ValueError:
        return False
    raise ValueError(d)


def check_tool_call(text: str, name: str, arguments) -> bool:
    """The text is exactly one JSON object {"name": name, "arguments": arguments} (key order and
    whitespace free; no extra keys; numbers compared as numbers, strings case-insensitively)."""
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return False
    if not isinstance(obj, dict) or set(obj) != {"name", "arguments"} or obj["name"] != name:
        return False
    return _same(obj["arguments"], arguments)


def _same(a, b) -> bool:
    if isinstance(b, dict):
        return isinstance(a, dict) and set(a) == set(b) and all(_same(a[k], b[k]) for k in b)
    if isinstance(b, list):
        return isinstance(a, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(b, bool) or isinstance(a, bool):
        return a is b
    if isinstance(b, (int, float)):
        return isinstance(a, (int, float)) and abs(a - b) < 1e-9
    if isinstance(b, str):
        return isinstance(a, str) and a.strip().lower() == b.strip().lower()
    return a == b


def corrupt(item: dict) -> str:
    """A wrong answer of the right shape (tests: the checker rejects it)."""
    d, digits = item["domain"], list(item["digits"])
    if d == "math":
        return " ".join(str(digits[0] + digits[1] + 1))
    if d == "code":
        return " ".join(str(x) for x in sorted(digits)[::-1]) if len(set(digits)) > 1 else " ".join(str((x + 1) % 10) for x in digits)
    if d == "tool":
        return '{ "name" : "sort" , "arguments" : [ ' + " , ".join(str(x) for x in digits[:-1]) + " ] }"
    return " ".join(str(x) for x in digits) + f" key {(item['key'] + 1) % 10}"


# -- items ----------------------------------------------------------------------------------------
def make_item(domain: str, digits, verb: str, key: int | None) -> dict:
    user = f"{verb} " + " ".join(str(d) for d in digits)
    turns = []
    if domain == "dialogue":
        turns.append({"user": f"my key is {key}", "assistant": "noted"})
    turns.append({"user": user, "assistant": answer(domain, digits, key)})
    return {"domain": domain, "digits": list(digits), "key": key, "verb": verb, "turns": turns}


def generate(sizes: dict, n_test: int, cue_noise: float, seed: int) -> dict:
    """{"train": {domain: [items]}, "test": {domain: [items]}}: training items use digit triples
    that no test item uses; a training verb is ambiguous with probability cue_noise."""
    rng = random.Random(seed)
    triples = [(a, b, c) for a in range(10) for b in range(10) for c in range(10)]
    rng.shuffle(triples)
    test_t, train_t = triples[:n_test], triples[n_test:]
    out = {"train": {}, "test": {}}
    for d in DOMAINS:
        items = []
        for _ in range(sizes[d]):
            verb = rng.choice(AMBIGUOUS) if rng.random() < cue_noise else rng.choice(VERBS[d])
            items.append(make_item(d, rng.choice(train_t), verb, rng.randrange(10) if d == "dialogue" else None))
        out["train"][d] = items
        out["test"][d] = [make_item(d, t, rng.choice(VERBS[d]), rng.randrange(10) if d == "dialogue" else None) for t in test_t]
    return out
