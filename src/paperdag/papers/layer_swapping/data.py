"""layer_swapping's offline data, generated with fixed seeds (the `default` scale).

- English math SFT: templated grade-school word problems (one- and two-step + - x), `faker` en_US
  names, a one-line worked solution and "The answer is N." (template set `train`).
- German general SFT with no math: instructions filled with `faker` de_DE entities (people,
  companies, cities, jobs, addresses, dates), short letters, EN->DE sentence translations, and real
  German text from Debian's `fortunes-de` (sayings, jokes, anecdotes; files with arithmetic, such as
  `mathematiker` and `quiz`, are not used, and entries with digits next to + - = are dropped).
- The MGSM analogue: German word problems from a German template set never used in training
  (`test`), with the English rendering of the same problems (same names, objects, numbers) as the
  control; a German validation split from a third, disjoint template set (`val`) selects the
  layer-swap configuration.
- Held-out German text for NLL: fortunes from files that no training example uses.

Every problem keeps its type, numbers and integer answer, so the ground truth is tested.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from paperdag.core.errors import PaperdagError

FORTUNES_DE = Path("/usr/share/games/fortunes/de")
TRAIN_FORTUNES = ("sprueche", "sprichworte", "anekdoten", "kinderzitate", "letzteworte", "wusstensie", "stilblueten", "witze")
HELDOUT_FORTUNES = ("regeln", "murphy", "elefanten", "doppelsinnig", "tips")

# objects: (English plural, German plural)
OBJECTS = [("apples", "Äpfel"), ("books", "Bücher"), ("pens", "Stifte"), ("cookies", "Kekse"), ("marbles", "Murmeln"),
           ("stickers", "Aufkleber"), ("cards", "Karten"), ("flowers", "Blumen"), ("eggs", "Eier"), ("balloons", "Luftballons"),
           ("candles", "Kerzen"), ("stamps", "Briefmarken")]
CONTAINERS = [("bags", "Tüten"), ("boxes", "Kisten"), ("baskets", "Körbe"), ("packs", "Packungen")]

# problem types: numbers drawn by _numbers, answer, worked solution (language-neutral arithmetic)
TYPES = ("add", "sub", "mul", "add_sub", "mul_add")

# English templates per type and split. Fields: {n} name, {p} pronoun, {P} capitalised pronoun, {n2}
# second name, {o} object, {c} container, {a} {b} {k} numbers.
EN = {
    "train": {
        "add": ["{n} has {a} {o}. {P} buys {b} more {o}. How many {o} does {n} have now?",
                "{n} collected {a} {o} on Monday and {b} {o} on Tuesday. How many {o} did {n} collect in total?"],
        "sub": ["{n} has {a} {o}. {P} gives {b} {o} to {n2}. How many {o} does {n} have left?",
                "There are {a} {o} on the table. {n} takes {b} of them. How many {o} are still on the table?"],
        "mul": ["{n} buys {a} {c} with {b} {o} in each. How many {o} does {n} buy?",
                "Each of the {a} {c} holds {b} {o}. How many {o} are there altogether?"],
        "add_sub": ["{n} has {a} {o}. {P} gets {b} more and then gives {k} to {n2}. How many {o} does {n} have now?",
                    "A shop has {a} {o}. It receives {b} more and sells {k}. How many {o} does the shop have now?"],
        "mul_add": ["{n} has {a} {c} with {b} {o} in each and {k} loose {o}. How many {o} does {n} have?",
                    "{n} fills {a} {c} with {b} {o} each and keeps {k} more {o}. How many {o} are there in total?"],
    },
    "test": {
        "add": ["{n} had {a} {o}. Then {n2} gave {p} {b} {o}. How many {o} does {n} have?"],
        "sub": ["{n} bought {a} {o} and lost {b} of them on the way home. How many {o} does {n} still have?"],
        "mul": ["{n} puts {b} {o} into each of {a} {c}. How many {o} does {n} use?"],
        "add_sub": ["In a box there are {a} {o}. {n} adds {b} {o} and {n2} removes {k}. How many {o} are in the box?"],
        "mul_add": ["{n} bakes for a party: {a} {c} with {b} {o} each, plus {k} extra {o}. How many {o} are there?"],
    },
}
DE = {
    "val": {
        "add": ["{n} hat {a} {o}. {P} kauft noch {b} {o} dazu. Wie viele {o} hat {n} jetzt?"],
        "sub": ["{n} hat {a} {o} und schenkt {n2} {b} davon. Wie viele {o} bleiben {n} übrig?"],
        "mul": ["{n} kauft {a} {c} mit je {b} {o}. Wie viele {o} kauft {n}?"],
        "add_sub": ["Ein Laden hat {a} {o}. Er bekommt {b} dazu und verkauft {k}. Wie viele {o} hat der Laden jetzt?"],
        "mul_add": ["{n} hat {a} {c} mit je {b} {o} und noch {k} einzelne {o}. Wie viele {o} hat {n}?"],
    },
    "test": {
        "add": ["{n} hatte {a} {o}. Dann gab {n2} {p_dat} {b} {o}. Wie viele {o} hat {n}?"],
        "sub": ["{n} kaufte {a} {o} und verlor {b} davon auf dem Heimweg. Wie viele {o} hat {n} noch?"],
        "mul": ["{n} legt in jede von {a} {c} {b} {o}. Wie viele {o} braucht {n}?"],
        "add_sub": ["In einer Kiste sind {a} {o}. {n} legt {b} {o} dazu und {n2} nimmt {k} heraus. Wie viele {o} sind in der Kiste?"],
        "mul_add": ["{n} backt für eine Feier: {a} {c} mit je {b} {o} und dazu {k} weitere {o}. Wie viele {o} sind es?"],
    },
}


def numbers(kind: str, rng: random.Random) -> tuple[dict, int, str]:
    """Numbers of one problem, its integer answer and the worked solution ("3 + 4 = 7.")."""
    if kind == "add":
        a, b = rng.randint(2, 40), rng.randint(2, 40)
        return {"a": a, "b": b}, a + b, f"{a} + {b} = {a + b}."
    if kind == "sub":
        a = rng.randint(10, 60)
        b = rng.randint(1, a - 1)
        return {"a": a, "b": b}, a - b, f"{a} - {b} = {a - b}."
    if kind == "mul":
        a, b = rng.randint(2, 9), rng.randint(2, 12)
        return {"a": a, "b": b}, a * b, f"{a} * {b} = {a * b}."
    if kind == "add_sub":
        a, b = rng.randint(5, 40), rng.randint(2, 30)
        k = rng.randint(1, a + b - 1)
        return {"a": a, "b": b, "k": k}, a + b - k, f"{a} + {b} = {a + b}. {a + b} - {k} = {a + b - k}."
    if kind == "mul_add":
        a, b, k = rng.randint(2, 6), rng.randint(2, 10), rng.randint(1, 15)
        return {"a": a, "b": b, "k": k}, a * b + k, f"{a} * {b} = {a * b}. {a * b} + {k} = {a * b + k}."
    raise PaperdagError(f"unknown problem type {kind!r}")


def _faker(locale: str, seed: int):
    from faker import Faker

    f = Faker(locale)
    f.seed_instance(seed)
    return f


def math_problems(n: int, split: str, seed: int, langs=("en",)) -> list[dict]:
    """n word problems of the template set `split` rendered in `langs` (the same names, objects and
    numbers in every language). Types cycle so every type is equally frequent."""
    rng = random.Random(seed)
    fk = _faker("de_DE" if "de" in langs else "en_US", seed)
    out = []
    for i in range(n):
        kind = TYPES[i % len(TYPES)]
        nums, ans, sol = numbers(kind, rng)
        male = rng.random() < 0.5
        name = fk.first_name_male() if male else fk.first_name_female()
        name2 = fk.first_name()
        while name2 == name:
            name2 = fk.first_name()
        oi, ci = rng.randrange(len(OBJECTS)), rng.randrange(len(CONTAINERS))
        item = {"type": kind, "answer": ans, "solution": sol, **{k: v for k, v in nums.items()}}
        for lang in langs:
            tables = EN if lang == "en" else DE
            if split not in tables:
                raise PaperdagError(f"no {lang} templates for split {split!r}")
            tmpl = rng.choice(tables[split][kind])
            pron = ({"p": "him" if male else "her", "P": "He" if male else "She"} if lang == "en"
                    else {"p": "er" if male else "sie", "P": "Er" if male else "Sie", "p_dat": "ihm" if male else "ihr"})
            o = OBJECTS[oi][0 if lang == "en" else 1]
            c = CONTAINERS[ci][0 if lang == "en" else 1]
            item[f"q_{lang}"] = tmpl.format(n=name, n2=name2, o=o, c=c, **pron, **{k: v for k, v in nums.items()})
        out.append(item)
    return out


def math_sft(n: int, seed: int) -> list[dict]:
    """English math SFT pairs: prompt = problem, response = worked solution + "The answer is N."."""
    return [{"prompt": it["q_en"], "response": f"{it['solution']} The answer is {it['answer']}."}
            for it in math_problems(n, "train", seed, ("en",))]


_ARITH = re.compile(r"\d\s*[-+*/=×:]\s*\d|\d\s*(plus|minus|mal|geteilt)\s*\d", re.I)


def read_fortunes(names, max_chars: int = 160, root: Path = FORTUNES_DE) -> list[str]:
    """Entries of Debian fortunes-de files (UTF-8 `.u8`), one line each, short and without arithmetic."""
    out = []
    for name in names:
        path = root / f"{name}.u8"
        if not path.is_file():
            raise PaperdagError(f"{path}: German fortunes not found; install the Debian package fortunes-de "
                                "(apt-get install fortunes-de; listed in bootstrap.sh APT_PACKAGES)")
        for entry in path.read_text(encoding="utf-8", errors="replace").split("\n%\n"):
            text = " ".join(entry.replace("%", " ").split())
            if 20 <= len(text) <= max_chars and not _ARITH.search(text):
                out.append(text)
    return out


TRANSLATIONS = [
    ("The weather in {city} is nice today.", "Das Wetter in {city} ist heute schön."),
    ("{name} lives in {city}.", "{name} wohnt in {city}."),
    ("{name} works at {company}.", "{name} arbeitet bei {company}."),
    ("I am meeting {name} tomorrow.", "Ich treffe {name} morgen."),
    ("The train to {city} is late.", "Der Zug nach {city} hat Verspätung."),
    ("{name} likes to read in the evening.", "{name} liest gern am Abend."),
    ("We are going to {city} on the weekend.", "Wir fahren am Wochenende nach {city}."),
]


def german_sft(n: int, seed: int, fortunes: list[str]) -> list[dict]:
    """German general instruction pairs with no arithmetic (faker de_DE entities + fortunes-de)."""
    rng = random.Random(seed)
    fk = _faker("de_DE", seed)
    out = []
    for i in range(n):
        name, name2 = fk.name(), fk.first_name()
        city, company, job = fk.city(), fk.company(), fk.job()
        kind = i % 8
        if kind == 0:
            p, r = f"Schreibe einen kurzen Satz über {name} aus {city}.", f"{name} wohnt in {city} und arbeitet als {job}."
        elif kind == 1:
            p, r = f"Wie lautet die Adresse von {company}?", f"Die Adresse von {company} ist {fk.street_address()}, {fk.postcode()} {city}."
        elif kind == 2:
            p, r = rng.choice(["Nenne mir einen deutschen Spruch.", "Erzähle mir etwas Lustiges.", "Sag mir eine Weisheit."]), rng.choice(fortunes)
        elif kind == 3:
            en, de = rng.choice(TRANSLATIONS)
            p, r = "Übersetze ins Deutsche: " + en.format(name=name, city=city, company=company), de.format(name=name, city=city, company=company)
        elif kind == 4:
            p = f"Schreibe eine kurze Nachricht an {name2}."
            r = f"Hallo {name2}, vielen Dank für deine Nachricht. Ich melde mich morgen bei dir. Viele Grüße, {fk.first_name()}"
        elif kind == 5:
            p, r = f"Was ist {name} von Beruf?", f"{name} ist {job} von Beruf und arbeitet bei {company}."
        elif kind == 6:
            p, r = f"Beschreibe die Stadt {city} in einem Satz.", f"{city} ist eine Stadt in Deutschland, in der viele Menschen gern leben."
        else:
            p, r = f"Wann hat {name} Geburtstag?", f"{name} hat am {fk.date_of_birth().strftime('%d.%m.%Y')} Geburtstag."
        out.append({"prompt": p, "response": r})
    return out


def build(d: dict, seed: int) -> dict:
    """Everything one scale needs, from the config section `data` and the base seed."""
    train_f = read_fortunes(TRAIN_FORTUNES)
    held_f = read_fortunes(HELDOUT_FORTUNES)
    rng = random.Random(seed + 7)
    rng.shuffle(held_f)
    test = math_problems(d["n_test"], "test", seed + 3, ("de", "en"))
    val = math_problems(d["n_val"], "val", seed + 4, ("de",))
    for it in test + val:
        it["q_tgt"] = it.pop("q_de")
    return {
        "math_sft": math_sft(d["n_math_sft"], seed + 1),
        "lang_sft": german_sft(d["n_lang_sft"], seed + 2, train_f),
        "test": test,
        "val": val,
        "nll_de": held_f[: d["n_nll"]],
    }


def _load(spec: dict):
    """A dataset split by hub id (`id`, optional `config`) or from a local `save_to_disk` folder (`path`)."""
    import datasets

    if "path" in spec:
        ds = datasets.load_from_disk(spec["path"])
        if isinstance(ds, datasets.DatasetDict):
            ds = ds[spec.get("split", "train")]
    else:
        ds = datasets.load_dataset(spec["id"], spec.get("config"), split=spec.get("split", "train"))
    for col, val in (spec.get("filter") or {}).items():
        ds = ds.filter(lambda r, c=col, v=val: r[c] == v)
    if spec.get("n") is not None:
        ds = ds.select(range(min(int(spec["n"]), len(ds))))
    return ds


def build_hub(d: dict) -> dict:
    """The paper's data (`paper` scale): Orca-Math (math SFT), Aya filtered to the target language
    (language SFT), MGSM in the target language with its parallel English problems (test; the
    answer is `answer_number`), MGSM's train exemplars as the validation split, FLORES for NLL."""
    m, la, ev, va, nl = d["math"], d["lang"], d["eval"], d["val"], d["nll"]
    math_ds, lang_ds = _load(m), _load(la)
    tgt, en = _load(ev), _load({**ev, "config": ev["en_config"]} if "id" in ev else {**ev, "path": ev["en_path"]})
    if len(tgt) != len(en):
        raise PaperdagError(f"data.eval: the target-language and English splits differ in length ({len(tgt)} vs {len(en)}); MGSM is parallel")
    val = _load(va)
    return {
        "math_sft": [{"prompt": r[m["prompt"]], "response": r[m["response"]]} for r in math_ds],
        "lang_sft": [{"prompt": r[la["prompt"]], "response": r[la["response"]]} for r in lang_ds],
        "test": [{"q_tgt": a[ev["question"]], "q_en": b[ev["question"]], "answer": int(round(float(a[ev["answer"]]))), "type": "mgsm"}
                 for a, b in zip(tgt, en)],
        "val": [{"q_tgt": r[va["question"]], "answer": int(round(float(r[va["answer"]]))), "type": "mgsm"} for r in val],
        "nll_de": [r[nl["text"]] for r in _load(nl)],
    }
