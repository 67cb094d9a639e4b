"""The project's generator of instruction families (it plays GPT-4's role in the paper's Alpaca ->
CoGEX conversion). Each item is rendered three ways from one underlying instance:
- CoGEX code: a pseudo-program whose leaf functions are undefined (names only), a call on the
  instance, and the emulated output dictionary (intermediates, then 'answer');
- a plain-language plan (the program's step comments) with the same output dictionary;
- a plain answer (the Alpaca analogue).
Programs come in three styles: `general` (solves any input), `specific` (hard-codes this instance's
values, like the paper's Figure 3 left) and `sloppy` (a plausible but wrong plan). The output
dictionaries are what the program computes under the hidden reference (`reference.py`); the true
answer is the general program's. Instructions: 4 paraphrases per family, the first 3 for the
fine-tuning corpus and the 4th held out as the evaluation task's instruction."""

from __future__ import annotations

import numpy as np

from . import reference as R

STYLES = ("general", "specific", "sloppy")
NAMES = ("Ann", "Bob", "Cy", "Dee", "Eve", "Finn", "Gus", "Hal", "Ivy", "Jo", "Kim", "Lu", "Max", "Ned", "Oli", "Pam")
SORT_WORDS = (
    "apple", "bread", "chair", "dream", "eagle", "flame", "grape", "house", "igloo", "juice", "kite", "lemon",
    "mango", "night", "olive", "piano", "queen", "river", "stone", "tiger", "umbra", "voice", "water", "yacht", "zebra",
    "amber", "brick", "cloud", "drum", "elbow", "frog", "glove", "honey", "ink", "jewel", "knot", "lamp", "moon",
    "nest", "oak", "pearl", "quilt", "robin", "sand", "tulip", "unit", "vest", "wolf", "yarn", "zinc",
)
SUBJECTS = ("the man", "my aunt", "our team", "the girl", "his dad", "the crowd", "her friend", "the boss")
FAMILIES = ("coin", "sum", "wsort", "emotion", "accept", "social")
INSTRUCTIONS = {
    "coin": (
        "A coin starts heads up. Is it still heads up after these people act?",
        "Tell whether the coin shows heads at the end.",
        "Track the coin and say if it ends heads up.",
        "After everyone acts, is the coin heads up?",
    ),
    "sum": (
        "Add up the digits of the number.",
        "Compute the sum of the digits.",
        "What do the digits add up to?",
        "Give the total of all digits in the number.",
    ),
    "wsort": (
        "Sort the words alphabetically.",
        "Put the words in alphabetical order.",
        "Order these words from a to z.",
        "Arrange the words in dictionary order.",
    ),
    "emotion": (
        "Which emotion does the sentence express?",
        "Name the main feeling in the sentence.",
        "Label the sentence with its emotion.",
        "What is the dominant emotion of the sentence?",
    ),
    "accept": (
        "Is the sentence grammatical?",
        "Tell whether the word order of the sentence is acceptable.",
        "Say if this is a well formed sentence.",
        "Is this sentence acceptable English?",
    ),
    "social": (
        "Who should help this person? Pick an option.",
        "Choose the person best able to help.",
        "Which option names the right helper?",
        "Select who can best help in this situation.",
    ),
}
FN_NAMES = {"coin": "coin_heads", "sum": "digit_total", "wsort": "sort_words", "emotion": "sentence_emotion",
            "accept": "is_acceptable", "social": "pick_helper"}
ARG_NAMES = {"coin": "story", "sum": "number", "wsort": "text", "emotion": "sentence", "accept": "sentence", "social": "question"}


# ------------------------------------------------------------------------------------------ inputs
def make_input(family: str, rng: np.random.Generator, digits: int | None = None):
    """One random instance (a string, or an int for `sum`)."""
    if family == "coin":
        k = int(rng.integers(2, 5))
        names = rng.choice(len(NAMES), size=k, replace=False)
        parts = []
        for i in names:
            verbs = R.FLIP_VERBS if rng.random() < 0.5 else R.STAY_VERBS
            parts.append(f"{NAMES[i]} {verbs[int(rng.integers(len(verbs)))]}.")
        return " ".join(parts)
    if family == "sum":
        d = int(digits if digits is not None else rng.integers(3, 7))
        return int(rng.integers(1, 10)) * 10 ** (d - 1) + int(rng.integers(0, 10 ** (d - 1)))
    if family == "wsort":
        while True:
            ws = [SORT_WORDS[i] for i in rng.choice(len(SORT_WORDS), size=3, replace=False)]
            if len({w[0] for w in ws}) == 3 and len({w[-1] for w in ws}) == 3:
                return " ".join(ws)
    if family == "emotion":
        emos = sorted(set(R.LEXICON.values()))
        main, other = rng.choice(len(emos), size=2, replace=False)
        pick = lambda e: str(rng.choice([w for w, v in R.LEXICON.items() if v == emos[e]]))  # noqa: E731
        ws = [pick(main), pick(main), pick(other)]
        order = rng.permutation(3)
        ws = [ws[i] for i in order]
        return f"{SUBJECTS[int(rng.integers(len(SUBJECTS)))]} felt {ws[0]} then {ws[1]} then {ws[2]}"
    if family == "accept":
        dets = [w for w, t in R.POS.items() if t == "det"]
        nouns = [w for w, t in R.POS.items() if t == "noun"]
        verbs = [w for w, t in R.POS.items() if t == "verb"]
        c = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
        ws = [c(dets), c(nouns), c(verbs), c(dets), c(nouns)]
        if rng.random() < 0.5:  # corrupt the word order: swap two adjacent words of different kinds
            i = int(rng.integers(0, 4))
            ws[i], ws[i + 1] = ws[i + 1], ws[i]
        return " ".join(ws)
    if family == "social":
        cond = sorted(R.NEEDS)[int(rng.integers(len(R.NEEDS)))]
        helper = R.HELPERS[R.NEEDS[cond]]
        others = [h for h in sorted(R.HELPERS.values()) if h != helper]
        opts = [helper] + [others[i] for i in rng.choice(len(others), size=2, replace=False)]
        opts = [opts[i] for i in rng.permutation(3)]
        name = NAMES[int(rng.integers(len(NAMES)))]
        return f"{name} is {cond}. (a) {opts[0]} (b) {opts[1]} (c) {opts[2]}"
    raise ValueError(family)


# ------------------------------------------------------------------------------ programs and outputs
def _render(family: str, x, style: str):
    """(program steps as (comment, code line) pairs, return keys, whether the function takes the
    input, output dict computed with the hidden reference)."""
    a = ARG_NAMES[family]
    if family == "coin":
        acts = R.list_actions(x)
        if style == "specific":
            s1 = ("the actions", f"actions = {acts!r}")
        elif style == "sloppy":
            s1, acts = ("list the first two actions", f"actions = list_actions({a})[:2]"), acts[:2]
        else:
            s1 = ("list each action", f"actions = list_actions({a})")
        flips = R.count_flips(acts)
        steps = [s1, ("count the flips", "flips = count_flips(actions)"), ("heads if even", "answer = even_to_yes(flips)")]
        return steps, ("actions", "flips"), {"actions": acts, "flips": flips, "answer": R.even_to_yes(flips)}
    if family == "sum":
        digits = R.split_digits(x)
        if style == "specific":
            s1 = ("the digits", f"digits = {digits!r}")
        elif style == "sloppy":
            s1, digits = ("split the digits after the first", f"digits = split_digits({a})[1:]"), digits[1:]
        else:
            s1 = ("split the digits", f"digits = split_digits({a})")
        sums = R.running_sums(digits)
        steps = [s1, ("add them one by one", "sums = running_sums(digits)"), ("take the last total", "answer = sums[-1]")]
        return steps, ("digits", "sums"), {"digits": digits, "sums": sums, "answer": sums[-1]}
    if family == "wsort":
        words = R.split_words(x)
        s1 = ("the words", f"words = {words!r}") if style == "specific" else ("split the words", f"words = split_words({a})")
        if style == "sloppy":
            s2, letters = ("take the last letters", "letters = last_letters(words)"), R.last_letters(words)
        else:
            s2, letters = ("take the first letters", "letters = first_letters(words)"), R.first_letters(words)
        steps = [s1, s2, ("sort by the letters", "answer = sort_by_letters(words, letters)")]
        return steps, ("words", "letters"), {"words": words, "letters": letters, "answer": R.sort_by_letters(words, letters)}
    if family == "emotion":
        words = R.feeling_words(x)
        s1 = ("the feeling words", f"words = {words!r}") if style == "specific" else ("find the feeling words", f"words = feeling_words({a})")
        if style == "sloppy":
            s2, emos = ("look up the last word", "emotions = word_emotions(words[-1:])"), R.word_emotions(words[-1:])
        else:
            s2, emos = ("look up their emotions", "emotions = word_emotions(words)"), R.word_emotions(words)
        steps = [s1, s2, ("take the most common", "answer = most_common(emotions)")]
        return steps, ("words", "emotions"), {"words": words, "emotions": emos, "answer": R.most_common(emos)}
    if family == "accept":
        tags = R.tag_words(x)
        s1 = ("the tags", f"tags = {tags!r}") if style == "specific" else ("tag each word", f"tags = tag_words({a})")
        if style == "sloppy":
            s2, ans = ("check the first tag", "answer = check_start(tags)"), R.check_start(tags)
        else:
            s2, ans = ("check the word order", "answer = check_order(tags)"), R.check_order(tags)
        return [s1, s2], ("tags",), {"tags": tags, "answer": ans}
    if family == "social":
        need = R.identify_need(x)
        s1 = ("the need", f"need = {need!r}") if style == "specific" else ("find the need", f"need = identify_need({a})")
        if style == "sloppy":
            s2, helper = ("assume a doctor helps", "helper = 'doctor'"), "doctor"
        else:
            s2, helper = ("find who helps", "helper = helper_for(need)"), R.helper_for(need)
        steps = [s1, s2, ("match the option", f"answer = option_letter(helper, {a})")]
        return steps, ("need", "helper"), {"need": need, "helper": helper, "answer": R.option_letter(helper, x)}
    raise ValueError(family)


def render_item(family: str, x, style: str) -> dict:
    """Program text (def block), call, output dict (and its repr), plan text, for one instance."""
    steps, keys, out = _render(family, x, style)
    fn, a = FN_NAMES[family], ARG_NAMES[family]
    uses_input = style != "specific"
    if family == "social" and style == "specific":
        uses_input = True  # option_letter still reads the options from the question
    lines = [f"def {fn}({a if uses_input else ''}):"]
    for i, (comment, code) in enumerate(steps, 1):
        lines += [f"    # {i}. {comment}", f"    {code}"]
    ret = ", ".join(f"{k!r}: {k}" for k in keys) + ", 'answer': answer"
    lines.append(f"    return {{{ret}}}")
    program = "\n".join(lines) + "\n"
    call = f"{fn}({x!r})" if uses_input else f"{fn}()"
    plan = "".join(f"{i}. {c}\n" for i, (c, _) in enumerate(steps, 1))
    return {"program": program, "call": call, "output": out, "output_text": serialize(out), "plan": plan, "answer": out["answer"]}


def serialize(out: dict) -> str:
    """The output dictionary as the models read and write it: a Python literal without the blanks
    after ',' and ':' (shorter sequences; no generated string contains ', ' or ': ')."""
    return repr(out).replace(", ", ",").replace(": ", ":")


def true_answer(family: str, x) -> str:
    return normalize(render_item(family, x, "general")["answer"])


def normalize(ans) -> str:
    """String-normalised exact match: lower case, no surrounding quotes/space, collapsed blanks."""
    if ans is None:
        return ""
    s = str(ans).strip().strip("'\"").strip().lower()
    return " ".join(s.split())


# ------------------------------------------------------------------------------------ serialisation
def prompt(instruction: str, x) -> str:
    return f"### Instruction\n{instruction}\n### Input\n{x}\n"


def code_target(r: dict) -> str:
    return f"### Code\n{r['program']}>>> {r['call']}\n### Output\n{r['output_text']}\n"


def plan_target(r: dict) -> str:
    return f"### Plan\n{r['plan']}### Output\n{r['output_text']}\n"


def nl_target(answer) -> str:
    return f"### Response\n{answer}\n"


def corpus(n_per_family: int, style_mix: dict, seed: int) -> list[dict]:
    """The fine-tuning corpus (the analogue of the 52K CoGEX/Alpaca set): every family under its
    3 training paraphrases, `sum` with 3-6 digits, a style drawn per item; each item in the three
    formats (code, plan, nl) with its prompt."""
    rng = np.random.default_rng(seed)
    styles, probs = list(style_mix), np.array([style_mix[s] for s in style_mix], dtype=float)
    items = []
    for fam in FAMILIES:
        for _ in range(n_per_family):
            x = make_input(fam, rng)
            style = styles[int(rng.choice(len(styles), p=probs / probs.sum()))]
            instr = INSTRUCTIONS[fam][int(rng.integers(3))]
            r = render_item(fam, x, style)
            items.append({
                "family": fam, "style": style, "prompt": prompt(instr, x),
                "code": code_target(r), "plan": plan_target(r), "nl": nl_target(true_answer(fam, x)),
            })
    order = rng.permutation(len(items))
    return [items[i] for i in order]


def eval_task(family: str, n_pool: int, n_test: int, seed: int, pool_digits: int = 5, test_digits: int = 6,
              instruction: str = "heldout") -> dict:
    """An evaluation task: the 4th (unseen) instruction (`heldout`) or the 1st training one (`seen`), a pool of (input, answer) items for
    program generation and search, and disjoint test items (`sum`: 5-digit pool, 6-digit test, as
    the paper's Sum)."""
    rng = np.random.default_rng(seed)
    seen, pool, test = set(), [], []
    while len(pool) < n_pool or len(test) < n_test:
        part = pool if len(pool) < n_pool else test
        x = make_input(family, rng, (pool_digits if part is pool else test_digits) if family == "sum" else None)
        if x in seen:
            continue
        seen.add(x)
        part.append({"input": x, "answer": true_answer(family, x)})
    instr = INSTRUCTIONS[family][3 if instruction == "heldout" else 0]
    return {"family": family, "instruction": instr, "pool": pool, "test": test}
