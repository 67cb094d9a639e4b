"""A fictional statute book that no pretrained model can know, with tested ground truth.

Design (seeded, pure Python):
- `n_statutes` statutes (invented names); each has `bases_per_statute` *bases*, a (subject, action)
  pair unique in the whole book, and each base has `variants_per_base` *near-duplicate articles*
  that share the statute, subject and action and differ only in the condition, hence in the
  offence name, the penalty and the article number (adjacent numbers). A wrong article number is
  therefore a plausible mistake: the neighbour article says almost the same thing.
- Article text (the retrieval knowledge base): "<Statute>, Article <n> (<offence>). A <subject> who
  <action> <condition> commits <offence> and shall be <penalty>."  Title: "<Statute> Article <n>".
- Fact patterns describe a case in *paraphrase* (colloquial subject, past-tense action, condition
  paraphrase, a person's name and an irrelevant detail): the words of a case are not those of the
  article, as in real fact reports. Names and details are split into a training pool (judgments,
  instructions) and a disjoint evaluation pool, so no evaluation fact pattern is seen in training.
- Adaptation corpus: the articles and `n_judgments` judgments (facts -> cited article -> offence ->
  sentence); instructions (`n_sft`) in the three task formats on training fact patterns.
- Evaluation (`n_test` per task, disjoint fact patterns): LCR (facts -> cite the article), CP (facts
  -> the offence, citing the article), LegalQA (a question -> the rule and the penalty, citing the
  article), Exam-MCQ (an exam question on a case with 4 options "offence; penalty", one correct,
  the distractors taken from the gold article's near-duplicates first, then from the neighbouring
  articles of the same statute). Every item cites exactly one article (its `gold`).
- Textbook: one paragraph per article (same index) explaining it in other words, the knowledge base
  of Exam-MCQ (the paper retrieves from legal textbooks for JEC-QA).
"""

from __future__ import annotations

import random
import re

TASKS = ("lcr", "cp", "qa", "mcq")
TITLE_TASKS = ("lcr", "cp", "qa")  # scored by title recall; mcq by option accuracy
TASK_NAMES = {"lcr": "LCR (clause recommendation)", "cp": "CP (charge prediction)", "qa": "LegalQA",
              "mcq": "Exam-MCQ (textbook)"}
LETTERS = "ABCD"
SUFFIX = "Please give evidence from the statute book."

STATUTES = [
    "Harbor Safety Code", "River Trade Act", "Lantern Market Ordinance", "Orchard Tenancy Statute",
    "Bridge Toll Law", "Glassworks Licensing Act", "Mill Water Code", "Caravan Inn Regulation",
    "Salt Road Charter", "Bell Tower Decree", "Granary Keeping Act", "Tannery District Code",
]
# (canonical subject, paraphrases used in fact patterns)
SUBJECTS = [
    ("ferry operator", ["man who runs a ferry", "ferryman"]),
    ("grain merchant", ["trader who sells grain", "corn dealer"]),
    ("innkeeper", ["woman who runs an inn", "owner of a guest house"]),
    ("glassblower", ["craftsman who blows glass", "glass maker"]),
    ("miller", ["man who runs the mill", "owner of a water mill"]),
    ("toll keeper", ["guard who collects the bridge toll", "toll collector"]),
    ("orchard tenant", ["farmer who rents an orchard", "fruit grower on leased land"]),
    ("lamp seller", ["trader who sells lanterns", "lantern vendor"]),
    ("carter", ["man who drives a cart", "wagon driver"]),
    ("fisher", ["woman who catches fish", "net caster"]),
    ("tanner", ["worker who cures hides", "leather dresser"]),
    ("bell ringer", ["man who rings the tower bell", "keeper of the bells"]),
    ("salt hauler", ["porter who carries salt", "salt carrier"]),
    ("weaver", ["woman who weaves cloth", "loom worker"]),
]
# (canonical action, past-tense paraphrases, offence noun)
ACTIONS = [
    ("moors a vessel without a permit", ["tied up a boat without holding a permit", "left a boat at the quay with no permit"], "unlicensed mooring"),
    ("sells goods by false weight", ["sold goods using a rigged scale", "cheated buyers on the weight of goods"], "false weighing"),
    ("diverts water from the common channel", ["took water from the shared channel", "dug a ditch to draw off the common water"], "water diversion"),
    ("lights an open fire", ["made an open fire", "started a bonfire"], "open burning"),
    ("refuses to pay the toll", ["would not pay the toll", "crossed without paying the toll"], "toll evasion"),
    ("stores grain in an unsealed barn", ["kept grain in a barn that was not sealed", "left the grain in an open shed"], "unsealed storage"),
    ("fells a protected tree", ["cut down a protected tree", "chopped down a listed tree"], "unlawful felling"),
    ("hires a child for night work", ["took on a young child to work at night", "employed a boy for the night shift"], "child labour"),
    ("blocks a public road", ["left a load across the public road", "obstructed the highway"], "road obstruction"),
    ("keeps an unregistered dog", ["owned a dog that was never registered", "kept a dog without a licence"], "unlicensed keeping"),
    ("forges a guild seal", ["faked the seal of a guild", "made a copy of a guild stamp"], "seal forgery"),
    ("dumps waste into the river", ["threw refuse into the river", "emptied rubbish into the stream"], "river fouling"),
]
# (canonical condition, paraphrases, offence qualifier)
CONDITIONS = [
    ("after sunset", ["after dark", "once night had fallen"], "nocturnal"),
    ("during a storm warning", ["while a storm warning was in force", "as the storm bell rang"], "storm"),
    ("on a market day", ["on the day of the market", "while the weekly market was held"], "market"),
    ("within the old town walls", ["inside the old walls", "in the walled quarter"], "inner"),
    ("for the second time", ["again after an earlier conviction", "a second time"], "repeated"),
    ("during the harvest festival", ["while the harvest feast went on", "in festival week"], "festival"),
    ("near a school", ["close to the school house", "beside the schoolyard"], "school"),
    ("while drunk", ["while intoxicated", "after drinking heavily"], "drunken"),
]
PENALTIES = [f"fined {n} silver crowns" for n in (10, 20, 30, 40, 50, 60, 80, 100)] + [
    f"detained for {n} days" for n in (3, 5, 7, 10, 14, 30)
]
_FIRST = ["Oren", "Mara", "Tobin", "Ilse", "Corvin", "Yara", "Bastian", "Nell", "Edric", "Sabe", "Lorn", "Wenna",
          "Pell", "Asta", "Rurik", "Tamsin", "Hollis", "Greta", "Idris", "Fenna"]
_LAST = ["Vask", "Dorrow", "Quill", "Marsh", "Tallow", "Brenn", "Ostrey", "Calder", "Penhale", "Rook"]
_DETAILS = [
    "The incident took place near the north pier.", "A neighbour reported it to the watch.",
    "The accused had lived in the town for ten years.", "It was a cold morning in spring.",
    "Two witnesses gave evidence.", "The accused showed remorse in court.",
    "The matter was first raised at the guild hall.", "A clerk recorded the complaint.",
    "The accused claimed not to know the rule.", "The case was heard in the lower court.",
    "Nobody was hurt.", "The town crier had announced the rule a month before.",
]


def _pool(rng: random.Random, items: list, frac: float) -> tuple[list, list]:
    items = list(items)
    rng.shuffle(items)
    cut = max(1, int(round(len(items) * frac)))
    return items[:cut], items[cut:]


def article_text(a: dict) -> str:
    return (f"{a['statute']}, Article {a['number']} ({a['offence']}). A {a['subject']} who {a['action']} "
            f"{a['condition']} commits {a['offence']} and shall be {a['penalty']}.")


def title(a: dict) -> str:
    return f"{a['statute']} Article {a['number']}"


def textbook_text(a: dict) -> str:
    """A textbook paragraph explaining one article (the Exam-MCQ knowledge base)."""
    return (f"Textbook on the {a['statute']}: Article {a['number']} covers a {a['subject']} who {a['action']} "
            f"{a['condition']} (the condition separates it from its neighbours); this is {a['offence']}, punished by being "
            f"{a['penalty']}.")


def option_text(a: dict) -> str:
    return f"{a['offence']}; {a['penalty']}"


def mcq_options(rng: random.Random, a: dict, arts: list[dict], n: int = 4) -> list[int]:
    """Article ids of the n options (gold included, shuffled): distractors are the gold article's
    near-duplicates (same statute, subject and action) first, then the nearest-numbered articles of
    the same statute, then any article."""
    near = [b["id"] for b in arts if b["base"] == a["base"] and b["id"] != a["id"]]
    same = sorted((b for b in arts if b["statute"] == a["statute"] and b["base"] != a["base"]),
                  key=lambda b: (abs(b["number"] - a["number"]), b["id"]))
    rest = [b["id"] for b in arts if b["statute"] != a["statute"]]
    rng.shuffle(near)
    pool = near + [b["id"] for b in same] + rest
    if len(pool) < n - 1:
        raise ValueError(f"an exam question needs {n} articles in the book")
    opts = [a["id"]] + pool[: n - 1]
    rng.shuffle(opts)
    return opts


def make_book(seed: int, n_statutes: int, bases_per_statute: int, variants_per_base: int) -> list[dict]:
    """The articles: list of dicts (id, statute, number, subject, action, condition, offence,
    penalty, base, and the indices of the paraphrase pools)."""
    if n_statutes > len(STATUTES):
        raise ValueError(f"at most {len(STATUTES)} statutes")
    if variants_per_base > len(CONDITIONS):
        raise ValueError(f"at most {len(CONDITIONS)} variants per base")
    if n_statutes * bases_per_statute > len(SUBJECTS) * len(ACTIONS):
        raise ValueError("too many bases")
    rng = random.Random(seed)
    statutes = rng.sample(STATUTES, n_statutes)
    pairs = [(s, a) for s in range(len(SUBJECTS)) for a in range(len(ACTIONS))]
    rng.shuffle(pairs)
    pairs = pairs[: n_statutes * bases_per_statute]
    arts = []
    for si, st in enumerate(statutes):
        number = rng.randint(3, 40)
        for b in range(bases_per_statute):
            subj_i, act_i = pairs[si * bases_per_statute + b]
            conds = rng.sample(range(len(CONDITIONS)), variants_per_base)
            pens = rng.sample(PENALTIES, variants_per_base)
            for v, ci in enumerate(conds):
                subj, act, cond = SUBJECTS[subj_i], ACTIONS[act_i], CONDITIONS[ci]
                a = {"id": len(arts), "statute": st, "number": number, "subject": subj[0], "action": act[0],
                     "condition": cond[0], "offence": f"{cond[2]} {act[2]}", "penalty": pens[v],
                     "base": si * bases_per_statute + b, "subj_i": subj_i, "act_i": act_i, "cond_i": ci}
                a["title"] = title(a)
                a["text"] = article_text(a)
                arts.append(a)
                number += 1
            number += rng.randint(0, 2)  # gaps between bases
    return arts


def _facts(rng: random.Random, a: dict, names: list, details: list) -> dict:
    name = f"{rng.choice(names[0])} {rng.choice(names[1])}"
    return {"name": name, "subject": rng.choice(SUBJECTS[a["subj_i"]][1]), "action": rng.choice(ACTIONS[a["act_i"]][1]),
            "condition": rng.choice(CONDITIONS[a["cond_i"]][1]), "detail": rng.choice(details)}


def fact_sentence(f: dict) -> str:
    return f"{f['name']}, a {f['subject']}, {f['action']} {f['condition']}. {f['detail']}"


def question(task: str, f: dict) -> str:
    if task == "lcr":
        return f"Facts: {fact_sentence(f)} Which article of the statute book applies?"
    if task == "cp":
        return f"Facts: {fact_sentence(f)} What offence did {f['name']} commit?"
    if task == "qa":
        return f"Question: Suppose a {f['subject']} {f['action']} {f['condition']}. Which rule applies and what is the penalty?"
    raise ValueError(task)


def mcq_question(f: dict, options: list[str]) -> str:
    opts = " ".join(f"{LETTERS[i]}) {o}." for i, o in enumerate(options))
    return f"Exam question: A {f['subject']} {f['action']} {f['condition']}. Which offence and penalty? {opts}"


def mcq_answer(letter_idx: int, a: dict) -> str:
    return f"The answer is {LETTERS[letter_idx]}) {option_text(a)}. See {a['title']}."


_LETTER = re.compile(r"answer is\s*\(?([A-D])\b|^\s*\(?([A-D])\)")


def mcq_choice(text: str) -> int | None:
    """The option index an answer gives ("The answer is B) ..." or a leading "B)"), else None
    (an automatic parser: an unparseable answer counts as wrong)."""
    m = _LETTER.search(text)
    if not m:
        return None
    return LETTERS.index(m.group(1) or m.group(2))


def mcq_answer_choice(text: str, options: list[str]) -> int | None:
    """The option an answer gives, read for its content first (the paper's JEC-QA answers were
    judged by people, and a letter parser under-counts): the one option whose full text the answer
    contains, else the one option whose offence (the text before ";") it names, else the letter
    (`mcq_choice`), else None (counts as wrong)."""
    low = re.sub(r"\s+", " ", text.lower())
    full = [i for i, o in enumerate(options) if o.lower() in low]
    if len(full) == 1:
        return full[0]
    offence = [i for i, o in enumerate(options) if o.split(";")[0].strip().lower() in low]
    if len(offence) == 1:
        return offence[0]
    return mcq_choice(text)


def answer(task: str, a: dict) -> str:
    if task == "lcr":
        return f"{a['title']} applies: a {a['subject']} who {a['action']} {a['condition']} commits {a['offence']}."
    if task == "cp":
        return f"The offence is {a['offence']}, under {a['title']}."
    if task == "qa":
        return f"Under {a['title']}, this is {a['offence']} and the person shall be {a['penalty']}."
    raise ValueError(task)


def judgment(i: int, f: dict, a: dict) -> str:
    return (f"Judgment {i}. The court found that {fact_sentence(f)} Under {a['title']}, a {a['subject']} who "
            f"{a['action']} {a['condition']} commits {a['offence']}. {f['name']} is guilty of {a['offence']} and "
            f"shall be {a['penalty']}.")


def sft_prompt(q: str) -> str:
    """The drafter's instruction format (the paper's "Human:/Assistant:" with the evidence request)."""
    return f"Human: {q} {SUFFIX}\n\nAssistant:"


def make_dataset(seed: int, n_statutes: int, bases_per_statute: int, variants_per_base: int, n_judgments: int,
                 n_sft: int, n_test: int) -> dict:
    """Book, adaptation corpus, instructions and evaluation items (disjoint fact patterns)."""
    arts = make_book(seed, n_statutes, bases_per_statute, variants_per_base)
    rng = random.Random(seed + 7919)
    first_tr, first_ev = _pool(rng, _FIRST, 0.7)
    last_tr, last_ev = _pool(rng, _LAST, 0.7)
    det_tr, det_ev = _pool(rng, _DETAILS, 0.67)
    train_names, eval_names = (first_tr, last_tr), (first_ev, last_ev)
    judgments = []
    for i in range(n_judgments):
        a = arts[i % len(arts)]  # every article is cited by judgments
        judgments.append({"gold": a["id"], "text": judgment(100 + i, _facts(rng, a, train_names, det_tr), a)})
    sft = []
    for i in range(n_sft):
        a = arts[rng.randrange(len(arts))]
        task = TASKS[i % len(TASKS)]
        f = _facts(rng, a, train_names, det_tr)
        if task == "mcq":
            opts = mcq_options(rng, a, arts)
            sft.append({"task": task, "gold": a["id"], "prompt": sft_prompt(mcq_question(f, [option_text(arts[o]) for o in opts])),
                        "answer": mcq_answer(opts.index(a["id"]), a)})
        else:
            sft.append({"task": task, "gold": a["id"], "prompt": sft_prompt(question(task, f)), "answer": answer(task, a)})
    items = []
    for task in TASKS:
        for j in range(n_test):
            a = arts[rng.randrange(len(arts))]
            f = _facts(rng, a, eval_names, det_ev)
            if task == "mcq":
                opts = mcq_options(rng, a, arts)
                options = [option_text(arts[o]) for o in opts]
                items.append({"task": task, "idx": j, "gold": a["id"], "question": mcq_question(f, options), "facts": f,
                              "options": options, "option_articles": opts, "answer": opts.index(a["id"])})
            else:
                items.append({"task": task, "idx": j, "gold": a["id"], "question": question(task, f), "facts": f})
    return {"articles": arts, "textbook": [textbook_text(a) for a in arts], "judgments": judgments, "sft": sft, "items": items,
            "pools": {"train_first": first_tr, "eval_first": first_ev, "train_last": last_tr, "eval_last": last_ev,
                      "train_details": det_tr, "eval_details": det_ev}}


# -- the paper's metric: is the gold clause title in the answer? ------------------------------------

def cited_articles(text: str, articles: list[dict]) -> set[int]:
    """Ids of the articles whose title (statute + article number) the text cites. Tolerant of case,
    spacing, "Art."/"Article"/"§", a comma after the statute, and article ranges written twice."""
    out = set()
    low = text.lower()
    by_statute: dict[str, dict[int, int]] = {}
    for a in articles:
        by_statute.setdefault(a["statute"], {})[int(a["number"])] = a["id"]
    for st, nums in by_statute.items():
        pat = re.escape(st.lower()).replace(r"\ ", r"\s+") + r"\s*,?\s*(?:article|art\.?|§)\s*(\d+)"
        for m in re.finditer(pat, low):
            n = int(m.group(1))
            if n in nums:
                out.add(nums[n])
    return out


def cited_statutes(text: str, articles: list[dict]) -> set[str]:
    low = re.sub(r"\s+", " ", text.lower())
    return {a["statute"] for a in articles if a["statute"].lower() in low}


def article_recall(text: str, gold: int, articles: list[dict]) -> float:
    """1 if the gold article's title (statute + number) appears in the answer (the paper's recall,
    made strict: the number must be right too)."""
    return float(gold in cited_articles(text, articles))


def statute_recall(text: str, gold: int, articles: list[dict]) -> float:
    """1 if the gold article's statute name appears (the paper's law-title recall, lenient)."""
    return float(articles[gold]["statute"] in cited_statutes(text, articles))


def revised_answer(draft: str, chosen: str, articles: list[dict], task: str, option_idx: int | None = None) -> str:
    """The reviser's final answer written as the draft it revises (the next round's retrieval key):
    title tasks: every article the draft cites becomes the chosen title `chosen` (the draft is
    prefixed with it if it cites none); Exam-MCQ: the draft's "The answer is X) ..." becomes the
    chosen option `chosen` with letter `option_idx` (prefixed if the draft gives none)."""
    if task == "mcq":
        new = f"The answer is {LETTERS[option_idx]}) {chosen}."
        m = re.search(r"The answer is\s*\(?[A-D]\)[^.]*\.", draft)
        return draft[: m.start()] + new + draft[m.end() :] if m else f"{new} {draft}"
    out, n = draft, 0
    for st in {a["statute"] for a in articles}:
        pat = re.escape(st).replace(r"\ ", r"\s+") + r"\s*,?\s*(?:article|art\.?|§)\s*\d+"
        out, k = re.subn(pat, chosen, out, flags=re.IGNORECASE)
        n += k
    return out if n else f"Under {chosen}: {draft}"
