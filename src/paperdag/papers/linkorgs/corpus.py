"""A synthetic alias corpus in the shape of the paper's LinkedIn data, with known truth.

Organisations (names from `faker` in six locales, legal forms from `cleanco`'s term lists) get a
canonical name, a URL (their id) and a user count; each has aliases, the strings users wrote as
their employer: the canonical name, legal-suffix changes, acronyms, abbreviations, "the"/"&"/"and"
variants, word drops and reorders, typos, city qualifiers and, for a share of organisations, a
**dissimilar alias** (a brand or former name that shares almost no character 2-grams with the
canonical name: the "Fannie Mae" / "Federal National Mortgage Association" case). The directory is
the weighted alias-URL relation w(a, u) = users who wrote alias a and linked page u: Zipf-shared
user counts, 20 % of users omit the URL, and a few cross-links (subsidiaries, mistakes) make
P(u | a) non-degenerate.

Three kinds of organisations: `directory` ones (in the alias snapshot), `registry` ones (only in
the registry of firms the tasks match against) and `new` ones (founded after the snapshot: their
names follow the same process but never enter the directory). Truth is by construction: every
alias string belongs to exactly one organisation (a string two organisations would share is given
to the first only).
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

LOCALES = ("en_US", "de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT")
COUNTRY = {
    "en_US": "United States of America",
    "de_DE": "Germany",
    "fr_FR": "France",
    "nl_NL": "Netherlands",
    "es_ES": "Spain",
    "it_IT": "Italy",
}
INDUSTRY = (
    "Financial Services", "Technologies", "Holdings", "Energy", "Pharmaceuticals", "Insurance",
    "Logistics", "Capital", "Systems", "Healthcare", "Bank", "Industries", "Foods", "Media",
    "Mortgage Association", "Investment Group", "Software", "Manufacturing", "Consulting",
    "Communications", "Airlines", "Motors", "Chemicals", "Solutions", "Partners", "Realty",
    "Semiconductor", "Biosciences", "Trust", "Networks", "Electric", "Resources",
)  # fmt: skip
PREFIX = ("International", "National", "General", "United", "American", "European", "Federal", "Global")
ABBREV = {
    "international": "intl", "corporation": "corp", "company": "co", "technologies": "tech",
    "national": "natl", "financial": "fin", "services": "svcs", "association": "assn",
    "manufacturing": "mfg", "industries": "inds", "communications": "comms", "pharmaceuticals": "pharma",
    "systems": "sys", "investment": "inv", "general": "gen", "holdings": "hldgs", "insurance": "ins",
}  # fmt: skip
CITY_LOCALE = "en_US"
SYLLABLES = ("ka", "zo", "rix", "vel", "tu", "mo", "qui", "zen", "lor", "fy", "nex", "ba", "dro", "ix", "ova", "pem", "sol", "ur", "wix", "yo")


def normalize(s: str) -> str:
    """The package's preprocessing: lower-case, accents folded to ASCII, punctuation dropped,
    whitespace collapsed ("AT&T Inc." -> "att inc")."""
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    s = s.lower().replace("&", "")
    s = re.sub(r"[^a-z0-9 ]+", "", s.replace("-", " "))
    return re.sub(r"\s+", " ", s).strip()


def bigrams(s: str) -> set[str]:
    return {s[i : i + 2] for i in range(len(s) - 1)} if len(s) > 1 else {s}


def jaccard_sim(a: str, b: str) -> float:
    x, y = bigrams(a), bigrams(b)
    return len(x & y) / max(1, len(x | y))


def _suffixes(locale: str) -> list[str]:
    from cleanco.termdata import terms_by_country

    terms = [t for t in terms_by_country.get(COUNTRY[locale], []) if len(t) <= 12]
    return sorted(set(terms)) or ["inc"]


def _core(fake, rng) -> str:
    """An organisation's core name: a faker company name stripped of its legal form, often with a
    prefix and an industry word (which gives acronyms and abbreviations something to act on)."""
    from cleanco import basename

    core = basename(fake.company()).strip(" ,.-") or fake.last_name()
    core = re.sub(r"\s+", " ", core)
    u = rng.random()
    if u < 0.55:
        core = f"{core} {INDUSTRY[rng.integers(len(INDUSTRY))]}"
    if rng.random() < 0.25:
        core = f"{PREFIX[rng.integers(len(PREFIX))]} {core}"
    return core


def _typo(s: str, rng) -> str:
    if len(s) < 4:
        return s
    i = int(rng.integers(1, len(s) - 1))
    op = rng.integers(4)
    letters = "abcdefghijklmnopqrstuvwxyz"
    if op == 0:  # delete
        return s[:i] + s[i + 1 :]
    if op == 1:  # insert
        return s[:i] + letters[rng.integers(26)] + s[i:]
    if op == 2:  # substitute
        return s[:i] + letters[rng.integers(26)] + s[i + 1 :]
    return s[: i - 1] + s[i] + s[i - 1] + s[i + 1 :]  # transpose


def _acronym(core: str) -> str | None:
    words = [w for w in re.split(r"[\s\-,]+", core) if w and w.lower() not in ("and", "&", "e", "et", "y", "und", "the")]
    return "".join(w[0] for w in words).upper() if len(words) >= 2 else None


def _brand(core: str, rng) -> str:
    """A dissimilar alias: a made-up brand name sharing (almost) no 2-grams with the core name."""
    for _ in range(50):
        n = int(rng.integers(2, 4))
        b = "".join(SYLLABLES[rng.integers(len(SYLLABLES))] for _ in range(n)).capitalize()
        if rng.random() < 0.5:
            b += " " + "".join(SYLLABLES[rng.integers(len(SYLLABLES))] for _ in range(2)).capitalize()
        if jaccard_sim(normalize(b), normalize(core)) < 0.1:
            return b
    return b


def alias_variants(core: str, suffix: str, suffixes: list[str], city: str, rng) -> list[tuple[str, str]]:
    """(alias, kind) of one organisation, canonical first; kinds are documented in the module."""
    out = [(f"{core} {suffix}", "canonical"), (core, "no_suffix")]
    other = suffixes[rng.integers(len(suffixes))]
    out.append((f"{core} {other}", "other_suffix"))
    ac = _acronym(core)
    if ac:
        out.append((ac, "acronym"))
    words = core.split()
    ab = " ".join(ABBREV.get(w.lower(), w) for w in words)
    if ab.lower() != core.lower():
        out.append((ab, "abbreviation"))
    out.append((f"The {core}", "the"))
    if " and " in core or " & " in core or "-" in core:
        out.append((core.replace(" and ", " & ").replace("-", " & ") if " & " not in core else core.replace(" & ", " and "), "and_variant"))
    if len(words) >= 3:
        drop = int(rng.integers(1, len(words)))
        out.append((" ".join(w for k, w in enumerate(words) if k != drop), "word_drop"))
    if len(words) >= 2:
        out.append((" ".join(words[1:] + words[:1]), "reorder"))
    out.append((_typo(core, rng), "typo"))
    out.append((f"{core} ({city})", "city"))
    return out


def generate(c: dict, seed: int) -> dict:
    """The corpus: `orgs` (one dict per organisation), `aliases` (alias, org, kind),
    `edges` (alias, org_url, users) of the directory, and the registry names."""
    from faker import Faker

    rng = np.random.default_rng(seed)
    fakers = {}
    for k, loc in enumerate(LOCALES):
        f = Faker(loc)
        f.seed_instance(seed * 101 + k)
        fakers[loc] = f
    city_f = Faker(CITY_LOCALE)
    city_f.seed_instance(seed * 101 + 99)
    n_total = c["n_directory"] + c["n_registry_only"] + c["n_new"]
    kinds = ["directory"] * c["n_directory"] + ["registry"] * c["n_registry_only"] + ["new"] * c["n_new"]
    orgs, seen_core = [], set()
    while len(orgs) < n_total:
        loc = LOCALES[rng.integers(len(LOCALES))]
        core = _core(fakers[loc], rng)
        key = normalize(core)
        if not key or key in seen_core:
            continue
        seen_core.add(key)
        suffixes = _suffixes(loc)
        i = len(orgs)
        orgs.append(
            {
                "id": i,
                "url": f"linkedin.com/company/org{i:06d}",
                "kind": kinds[i],
                "locale": loc,
                "core": core,
                "suffix": suffixes[rng.integers(len(suffixes))],
                "users": int(np.ceil(rng.lognormal(c["log_users_mean"], 1.0))),
                "log_assets": float(rng.normal(0.0, 1.5)),
            }
        )
    # aliases (truth: one organisation per normalized alias string)
    owner: dict[str, int] = {}
    aliases = []  # (alias string as written, normalized, org id, kind)
    for o in orgs:
        loc = o["locale"]
        city = city_f.city()
        var = alias_variants(o["core"], o["suffix"], _suffixes(loc), city, rng)
        if rng.random() < c["dissimilar_share"]:
            var.append((_brand(o["core"], rng), "dissimilar"))
        o["aliases"] = []
        for s, kind in var:
            ns = normalize(s)
            if not ns or (ns in owner and owner[ns] != o["id"]):
                continue
            if ns in owner:
                continue
            owner[ns] = o["id"]
            aliases.append((s, ns, o["id"], kind))
            o["aliases"].append(len(aliases) - 1)
        o["registry_name"] = _registry_name(o, _suffixes(loc), rng)
    # directory edges: Zipf shares of each org's users over its aliases (canonical most used)
    edges: dict[tuple[int, int], int] = {}
    for o in orgs:
        if o["kind"] != "directory":
            continue
        idx = o["aliases"]
        order = rng.permutation(len(idx) - 1) + 1
        ranks = np.empty(len(idx))
        ranks[0] = 1
        ranks[order] = np.arange(2, len(idx) + 1)
        for k, a in enumerate(idx):
            if aliases[a][3] == "dissimilar":
                ranks[k] = 2  # a brand name is common among employees
        share = 1.0 / ranks ** c["zipf"]
        share /= share.sum()
        users = rng.multinomial(o["users"], share)
        linked = rng.binomial(users, 1 - c["omit_url_share"])  # the rest write no URL
        for a, w in zip(idx, linked):
            if w > 0:
                edges[(a, o["id"])] = edges.get((a, o["id"]), 0) + int(w)
    dir_orgs = [o["id"] for o in orgs if o["kind"] == "directory"]
    # cross-links: subsidiaries / parents (heavier) and individual mistakes (1-2 users)
    for o_id in dir_orgs:
        o = orgs[o_id]
        if rng.random() < c["subsidiary_share"]:
            other = dir_orgs[rng.integers(len(dir_orgs))]
            if other != o_id:
                a = o["aliases"][rng.integers(len(o["aliases"]))]
                edges[(a, other)] = edges.get((a, other), 0) + int(rng.integers(2, 8))
        for _ in range(rng.poisson(c["mistakes_per_org"])):
            other = dir_orgs[rng.integers(len(dir_orgs))]
            a = o["aliases"][rng.integers(len(o["aliases"]))]
            edges[(a, other)] = edges.get((a, other), 0) + int(rng.integers(1, 3))
    edge_list = sorted((a, u, w) for (a, u), w in edges.items())
    return {"orgs": orgs, "aliases": aliases, "edges": edge_list}


def _registry_name(o: dict, suffixes: list[str], rng) -> str:
    """A registry's spelling: upper case, full legal form (sometimes another one), at times a
    "holdings" or "group" qualifier, as firm lists write them."""
    suffix = o["suffix"] if rng.random() < 0.6 else suffixes[rng.integers(len(suffixes))]
    name = f"{o['core']} {suffix}"
    u = rng.random()
    if u < 0.15:
        name = f"{o['core']} Group {suffix}"
    elif u < 0.25:
        name = f"{o['core']} Holdings {suffix}"
    return name.upper()


def directory(corpus: dict) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """The directory as arrays: normalized alias strings (those with at least one linked user),
    edge alias index, edge URL (org id) and edge weight (users)."""
    used = sorted({a for a, _, _ in corpus["edges"]})
    pos = {a: k for k, a in enumerate(used)}
    names = [corpus["aliases"][a][1] for a in used]
    ea = np.array([pos[a] for a, _, _ in corpus["edges"]], dtype=np.int64)
    eu = np.array([u for _, u, _ in corpus["edges"]], dtype=np.int64)
    ew = np.array([w for _, _, w in corpus["edges"]], dtype=np.float64)
    return names, ea, eu, ew


def training_pairs(corpus: dict, org_ids: set[int], n_neg_per_pos: float, rng) -> tuple[list, list, np.ndarray]:
    """Soft-labelled alias pairs as the paper's files: positives share a URL with
    m(a_i, a_j) = sum_u P(u|a_i) P(u|a_j); negatives are random pairs (m computed, almost always 0).
    Only aliases whose owning organisation is in `org_ids` take part; identical strings are dropped."""
    names, ea, eu, ew = directory(corpus)
    owner = {corpus["aliases"][a][1]: corpus["aliases"][a][2] for a in range(len(corpus["aliases"]))}
    keep = np.array([owner[n] in org_ids for n in names])
    tot = np.bincount(ea, weights=ew, minlength=len(names))
    pu: dict[int, dict[int, float]] = {}
    by_url: dict[int, list[int]] = {}
    for a, u, w in zip(ea, eu, ew):
        if not keep[a]:
            continue
        pu.setdefault(int(a), {})[int(u)] = w / tot[a]
        by_url.setdefault(int(u), []).append(int(a))

    def m(i, j):
        pi, pj = pu.get(i, {}), pu.get(j, {})
        return float(sum(v * pj.get(u, 0.0) for u, v in pi.items()))

    pos = set()
    for u, al in by_url.items():
        al = sorted(set(al))
        for x in range(len(al)):
            for y in range(x + 1, len(al)):
                pos.add((al[x], al[y]))
    pos = sorted(pos)
    cand = np.flatnonzero(keep)
    n_neg = int(len(pos) * n_neg_per_pos)
    ni = rng.choice(cand, n_neg)
    nj = rng.choice(cand, n_neg)
    pairs = [(i, j) for i, j in pos] + [(int(i), int(j)) for i, j in zip(ni, nj) if i != j]
    pairs = [(i, j) for i, j in pairs if names[i] != names[j]]
    a = [names[i] for i, _ in pairs]
    b = [names[j] for _, j in pairs]
    y = np.array([m(i, j) for i, j in pairs], dtype=np.float32)
    return a, b, y


def perturb(s: str, suffixes: list[str], rng) -> str:
    """A fresh way of writing a name (the x lists are written by other people than the users)."""
    u = rng.random()
    if u < 0.4:
        return _typo(s, rng)
    if u < 0.7:
        return f"{s} {suffixes[rng.integers(len(suffixes))]}"
    return s.upper()


def x_name(o: dict, aliases: list, c: dict, rng) -> tuple[str, str]:
    """How an x list (meetings, lobbying reports, startup lists) writes an organisation: one of its
    aliases other than the canonical one (the dissimilar one with probability `x_dissimilar_prob`
    where it exists), sometimes perturbed further. Returns (name, alias kind)."""
    idx = [a for a in o["aliases"] if aliases[a][3] != "canonical"]
    dis = [a for a in idx if aliases[a][3] == "dissimilar"]
    if dis and rng.random() < c["x_dissimilar_prob"]:
        a = dis[0]
    else:
        a = idx[rng.integers(len(idx))]
    s, kind = aliases[a][0], aliases[a][3]
    if rng.random() < c["x_perturb_prob"]:
        s = perturb(s, _suffixes(o["locale"]), rng)
        kind = kind + "+perturbed"
    return s, kind


def tasks(corpus: dict, t: dict, seed: int) -> dict:
    """The registry (y, one list for every task) and the x lists of the tasks with their truth.

    - registry: all registry-only firms, a share `in_registry` of directory organisations and all
      new ones, under their registry spellings;
    - `val` and `test` (application 1): disjoint sets of directory organisations; validation
      chooses each method's operating point, test measures it;
    - `regression` (application 2): directory organisations with an outcome (log lobbying) that
      depends on the matched registry firm's log assets with slope `true_slope`;
    - `temporal` (application 3): new organisations (not in the alias snapshot)."""
    rng = np.random.default_rng(seed + 7)
    orgs, aliases = corpus["orgs"], corpus["aliases"]
    dir_ids = [o["id"] for o in orgs if o["kind"] == "directory"]
    in_reg = set(rng.choice(dir_ids, int(round(t["in_registry"] * len(dir_ids))), replace=False).tolist())
    reg_ids = sorted([o["id"] for o in orgs if o["kind"] != "directory"] + list(in_reg))
    y_names = [orgs[i]["registry_name"] for i in reg_ids]
    y_org = np.array(reg_ids, dtype=np.int64)
    perm = [int(i) for i in rng.permutation(dir_ids)]
    sizes = [t["n_val"], t["n_test"], t["n_regression"]]
    cuts = np.cumsum([0] + sizes)
    out = {"y_names": y_names, "y_org": y_org}
    new_ids = [o["id"] for o in orgs if o["kind"] == "new"]
    groups = {
        "val": perm[cuts[0] : cuts[1]],
        "test": perm[cuts[1] : cuts[2]],
        "regression": perm[cuts[2] : cuts[3]],
        "temporal": [int(i) for i in rng.permutation(new_ids)[: t["n_temporal"]]],
    }
    for name, ids in groups.items():
        xs, kinds = [], []
        for i in ids:
            s, k = x_name(orgs[i], aliases, t, rng)
            xs.append(s)
            kinds.append(k)
        out[name] = {"x_names": xs, "x_org": np.array(ids, dtype=np.int64), "x_kind": kinds}
    # application 2's outcome: log lobbying = a + slope * log assets (of the true firm) + noise
    reg = out["regression"]
    la = np.array([orgs[i]["log_assets"] for i in reg["x_org"]])
    reg["log_lobby"] = 1.0 + t["true_slope"] * la + rng.normal(0, t["outcome_noise"], len(la))
    out["y_log_assets"] = np.array([orgs[i]["log_assets"] for i in reg_ids])
    return out


def truth_pairs(x_org: np.ndarray, y_org: np.ndarray) -> np.ndarray:
    """Boolean nx x ny matrix: x_i and y_j are the same organisation."""
    return x_org[:, None] == y_org[None, :]
