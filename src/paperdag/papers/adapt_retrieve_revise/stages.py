"""adapt_retrieve_revise's stages. One independent run r = its own statute book (seed + r), its own
drafter trained from scratch, the general model's answers on its items, and retrieval + revision."""

from __future__ import annotations

from paperdag.core.io import read_json, write_json
from paperdag.core.stage import seed_everything, stage

from . import plan, statutes


@stage("adapt_retrieve_revise.book")
def book(ctx):
    """The run's fictional statute book, adaptation corpus, instructions and evaluation items."""
    d = ctx.params["data"]
    seed = plan.run_seed(ctx.params, ctx.wildcards["run"])
    data = statutes.make_dataset(seed, d["n_statutes"], d["bases_per_statute"], d["variants_per_base"],
                                 d["n_judgments"], d["n_sft"], d["n_test"])
    ctx.log.info("%d articles, %d judgments, %d instructions, %d evaluation items", len(data["articles"]),
                 len(data["judgments"]), len(data["sft"]), len(data["items"]))
    write_json(ctx.output.data, data)


@stage("adapt_retrieve_revise.adapt")
def adapt(ctx):
    """Adapt: train the drafter from scratch (statute book + judgments, then instructions), then
    draft an answer to every evaluation item with the evidence-request suffix."""
    import json

    from paperdag.core.io import save_tensors
    from paperdag.core.resume import Resumer

    from . import drafter

    p = ctx.params["drafter"]
    seed = plan.run_seed(ctx.params, ctx.wildcards["run"])
    seed_everything(seed)
    data = read_json(ctx.input.data)
    tok = drafter.WordTokenizer.build([a["text"] for a in data["articles"]] + [j["text"] for j in data["judgments"]]
                                      + [s["prompt"] + " " + s["answer"] for s in data["sft"]])
    model = drafter.build_model(len(tok), p["model"], seed)
    ctx.log.info("drafter: %d parameters, vocabulary %d", sum(x.numel() for x in model.parameters()), len(tok))
    phases = [("pretrain", drafter.sequences(tok, data, "pretrain", p["article_repeats"]), p["pretrain_epochs"]),
              ("sft", drafter.sequences(tok, data, "sft"), p["sft_epochs"])]
    drafter.train(model, phases, p["train"], seed, Resumer(ctx.resume_dir(), f"run{ctx.wildcards['run']}"), ctx.log)
    drafts = drafter.generate(model, tok, [statutes.sft_prompt(it["question"]) for it in data["items"]], p["max_new"])
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    save_tensors(ctx.output.model, sd, {"vocab": json.dumps(tok.vocab), "model": json.dumps(p["model"]), "seed": seed})
    write_json(ctx.output.drafts, {"drafts": drafts})
    Resumer(ctx.resume_dir(), f"run{ctx.wildcards['run']}").finish()


def _revise_items(data: dict, n: int) -> list[dict]:
    return [it for it in data["items"] if it["idx"] < n]


@stage("adapt_retrieve_revise.general")
def general(ctx):
    """The general model's own answers (no domain knowledge): the 'general model direct' system and
    the third retrieval key of the draft-source ablation (paper Figure 5)."""
    from . import reviser

    seed_everything(0)
    rv = ctx.params["revise"]
    data = read_json(ctx.input.data)
    items = _revise_items(data, rv["n_revise"])
    model, tok = reviser.load_reviser(ctx.params["reviser"], ctx.input.get("lm"))
    users = [reviser.user_message(it["question"], None, None, reviser.ASK_DIRECT) for it in items]
    answers = reviser.generate(model, tok, users, rv["max_new"], rv["gen_batch"])
    write_json(ctx.output.answers, {"answers": answers, "items": [[it["task"], it["idx"]] for it in items]})


@stage("adapt_retrieve_revise.arr")
def arr(ctx):
    """Retrieve (keys: question, draft, general answer; exact kNN) and revise (likelihood-scoring
    and generative modes), the query-retrieval baselines, the reviser swap and the iterations."""
    import json

    import numpy as np

    from paperdag.core.io import load_tensors

    from . import drafter, retrieval, reviser

    seed_everything(0)
    P = ctx.params
    rt, rv = P["retrieval"], P["revise"]
    data = read_json(ctx.input.data)
    arts, items = data["articles"], data["items"]
    drafts = read_json(ctx.input.drafts)["drafts"]
    gen_ans = read_json(ctx.input.general)["answers"]
    gold = [it["gold"] for it in items]
    titles = [a["title"] for a in arts]

    enc, etok = retrieval.load_encoder(rt["encoder"])
    mem = retrieval.embed(enc, etok, [a["text"] for a in arts], rt["passage_prefix"])
    ks = sorted(set(rt["ks"]) | {rt["k"]})
    kmax = max(ks)
    ranked = {
        "query": retrieval.knn(retrieval.embed(enc, etok, [it["question"] for it in items], rt["query_prefix"]), mem, kmax),
        "draft": retrieval.knn(retrieval.embed(enc, etok, drafts, rt["query_prefix"]), mem, kmax),
    }
    sub = [i for i, it in enumerate(items) if it["idx"] < rv["n_revise"]]
    ranked_general = retrieval.knn(retrieval.embed(enc, etok, gen_ans, rt["query_prefix"]), mem, kmax)
    out = {"tasks": list(statutes.TASKS), "ks": ks, "k": rt["k"], "recall_at_k": {}, "recall_at_k_subset": {},
           "systems": {}, "systems_statute": {}, "iterations": {}, "examples": []}
    for task in statutes.TASKS:
        idx = [i for i, it in enumerate(items) if it["task"] == task]
        sidx = [j for j, i in enumerate(sub) if items[i]["task"] == task]
        out["recall_at_k"][task] = {key: retrieval.recall_at_k(r[idx], [gold[i] for i in idx], ks) for key, r in ranked.items()}
        out["recall_at_k_subset"][task] = {
            "query": retrieval.recall_at_k(ranked["query"][[sub[j] for j in sidx]], [gold[sub[j]] for j in sidx], ks),
            "draft": retrieval.recall_at_k(ranked["draft"][[sub[j] for j in sidx]], [gold[sub[j]] for j in sidx], ks),
            "general": retrieval.recall_at_k(ranked_general[sidx], [gold[sub[j]] for j in sidx], ks),
        }

    def put(system, task_of, values, statute_values=None):
        out["systems"].setdefault(system, {t: [] for t in statutes.TASKS})
        for t, v in zip(task_of, values):
            out["systems"][system][t].append(v)
        if statute_values is not None:
            out["systems_statute"].setdefault(system, {t: [] for t in statutes.TASKS})
            for t, v in zip(task_of, statute_values):
                out["systems_statute"][system][t].append(v)

    sub_tasks = [items[i]["task"] for i in sub]
    # drafter direct (all items) and general direct (the revise subset)
    put("drafter_direct", [it["task"] for it in items], [statutes.article_recall(d, g, arts) for d, g in zip(drafts, gold)],
        [statutes.statute_recall(d, g, arts) for d, g in zip(drafts, gold)])
    put("general_direct", sub_tasks, [statutes.article_recall(a, gold[i], arts) for a, i in zip(gen_ans, sub)],
        [statutes.statute_recall(a, gold[i], arts) for a, i in zip(gen_ans, sub)])

    model, tok = reviser.load_reviser(P["reviser"], ctx.input.get("lm"))
    k = rt["k"]

    def revise_scoring(i, key_rank, draft, scorer=None):
        ev = [int(x) for x in key_rank[:k]]
        user = reviser.user_message(items[i]["question"], draft, [arts[e]["text"] for e in ev], reviser.ASK_REVISE)
        sc = scorer(user, [titles[e] for e in ev]) if scorer else reviser.score_titles(model, tok, user, [titles[e] for e in ev])
        return ev[int(np.argmax(sc))]

    systems = {"qrag_general": ("query", False), "qrag_draft_general": ("query", True), "arr": ("draft", True)}
    chosen = {}
    for name, (key, with_draft) in systems.items():
        ch = [revise_scoring(i, ranked[key][i], drafts[i] if with_draft else None) for i in sub]
        chosen[name] = ch
        put(name, sub_tasks, [float(c == gold[i]) for c, i in zip(ch, sub)])
        ctx.log.info("%s: article recall %.3f", name, np.mean([c == gold[i] for c, i in zip(ch, sub)]))

    # reviser swap: the drafter scores the evidence titles in the general model's place
    sd, meta = load_tensors(ctx.input.model, with_metadata=True)
    dtok = drafter.WordTokenizer(json.loads(meta["vocab"]))
    dmodel = drafter.build_model(len(dtok), json.loads(meta["model"]), 0)
    dmodel.load_state_dict(sd)
    dmodel.eval()
    dscore = lambda user, ts: drafter.score(dmodel, dtok, f"Human: {user}\n\nAssistant: {reviser.ANSWER_PREFIX}", [f" {t}." for t in ts])  # noqa: E731
    ch = [revise_scoring(i, ranked["draft"][i], drafts[i], dscore) for i in sub]
    put("arr_swap", sub_tasks, [float(c == gold[i]) for c, i in zip(ch, sub)])

    # iterations: retrieve with the previous round's answer, revise again
    cur = list(chosen["arr"])
    out["iterations"]["1"] = {t: float(np.mean([c == gold[i] for c, i, tt in zip(cur, sub, sub_tasks) if tt == t])) for t in statutes.TASKS}
    for r in range(2, rv["rounds"] + 1):
        answers = [f"{reviser.ANSWER_PREFIX} {titles[c]}: {arts[c]['text']}" for c in cur]
        rk = retrieval.knn(retrieval.embed(enc, etok, answers, rt["query_prefix"]), mem, k)
        cur = [revise_scoring(i, rk[j], answers[j]) for j, i in enumerate(sub)]
        out["iterations"][str(r)] = {t: float(np.mean([c == gold[i] for c, i, tt in zip(cur, sub, sub_tasks) if tt == t])) for t in statutes.TASKS}

    # generative mode on a smaller subset: ARR and query-retrieval + general model
    gsub = [i for i in sub if items[i]["idx"] < rv["n_gen"]]
    g_tasks = [items[i]["task"] for i in gsub]
    for name, key, with_draft in (("arr_gen", "draft", True), ("qrag_general_gen", "query", False)):
        users = [reviser.user_message(items[i]["question"], drafts[i] if with_draft else None,
                                      [arts[int(e)]["text"] for e in ranked[key][i][:k]], reviser.ASK_REVISE) for i in gsub]
        ans = reviser.generate(model, tok, users, rv["max_new"], rv["gen_batch"]) if users else []
        put(name, g_tasks, [statutes.article_recall(a, gold[i], arts) for a, i in zip(ans, gsub)],
            [statutes.statute_recall(a, gold[i], arts) for a, i in zip(ans, gsub)])
        if name == "arr_gen":
            for a, i in list(zip(ans, gsub))[:6]:
                out["examples"].append({"question": items[i]["question"], "gold": titles[gold[i]], "draft": drafts[i],
                                        "draft_evidence": [titles[int(e)] for e in ranked["draft"][i][:k]],
                                        "arr_scoring": titles[chosen["arr"][sub.index(i)]], "arr_generative": a,
                                        "general_direct": gen_ans[sub.index(i)]})
    write_json(ctx.output.evals, out)
