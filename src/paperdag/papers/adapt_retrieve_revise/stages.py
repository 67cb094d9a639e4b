"""adapt_retrieve_revise's stages. One independent run r = its own statute book (seed + r), its own
drafter trained from scratch, the general model's answers on its items, and retrieval + revision."""

from __future__ import annotations

import numpy as np

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
    the third retrieval key of the draft-source ablation (paper Figure 5). On Exam-MCQ it also
    scores the 4 options without evidence (the direct system there: a letter parser under-counts)."""
    from . import reviser

    seed_everything(0)
    rv = ctx.params["revise"]
    data = read_json(ctx.input.data)
    items = _revise_items(data, rv["n_revise"])
    model, tok = reviser.load_reviser(ctx.params["reviser"], ctx.input.get("lm"))
    users = [reviser.user_message(it["question"], None, None, reviser.asks(it["task"])[1]) for it in items]
    answers = reviser.generate(model, tok, users, rv["max_new"], rv["gen_batch"])
    choices = [int(np.argmax(reviser.score_options(model, tok, u, it["options"]))) if it["task"] == "mcq" else None
               for u, it in zip(users, items)]
    write_json(ctx.output.answers, {"answers": answers, "mcq_choice": choices, "items": [[it["task"], it["idx"]] for it in items]})


@stage("adapt_retrieve_revise.arr")
def arr(ctx):
    """Retrieve (keys: question, draft, general answer; exact kNN over the articles, over the
    textbook for Exam-MCQ) and revise (likelihood-scoring and generative modes), the query-retrieval
    baselines, the reviser swap and the iterations (each round retrieves with the previous round's
    revised answer and revises it again)."""
    import json

    from paperdag.core.io import load_tensors

    from . import drafter, retrieval, reviser

    seed_everything(0)
    P = ctx.params
    rt, rv = P["retrieval"], P["revise"]
    data = read_json(ctx.input.data)
    arts, items, textbook = data["articles"], data["items"], data["textbook"]
    drafts = read_json(ctx.input.drafts)["drafts"]
    gen = read_json(ctx.input.general)
    gen_ans, gen_mcq = gen["answers"], gen["mcq_choice"]
    gold = [it["gold"] for it in items]
    titles = [a["title"] for a in arts]
    k = rt["k"]

    enc, etok = retrieval.load_encoder(rt["encoder"])
    mems = {"articles": retrieval.embed(enc, etok, [a["text"] for a in arts], rt["passage_prefix"]),
            "textbook": retrieval.embed(enc, etok, textbook, rt["passage_prefix"])}
    ks = sorted(set(rt["ks"]) | {rt["k"]})
    kmax = max(ks)

    def kb(task):
        return "textbook" if task == "mcq" else "articles"

    def evidence(task, e):
        return textbook[e] if task == "mcq" else arts[e]["text"]

    def rank(texts, tasks, kk=kmax):
        """kNN of each key text in its task's knowledge base (articles; textbook for Exam-MCQ)."""
        out = np.zeros((len(texts), kk), dtype=np.int64)
        emb = retrieval.embed(enc, etok, texts, rt["query_prefix"]) if texts else None
        for name in mems:
            rows = [j for j, t in enumerate(tasks) if kb(t) == name]
            if rows:
                out[rows] = retrieval.knn(emb[rows], mems[name], kk)
        return out

    all_tasks = [it["task"] for it in items]
    ranked = {"query": rank([it["question"] for it in items], all_tasks), "draft": rank(drafts, all_tasks)}
    sub = [i for i, it in enumerate(items) if it["idx"] < rv["n_revise"]]
    sub_tasks = [items[i]["task"] for i in sub]
    assert [[items[i]["task"], items[i]["idx"]] for i in sub] == gen["items"]
    ranked_general = rank(gen_ans, sub_tasks)
    out = {"tasks": list(statutes.TASKS), "ks": ks, "k": k, "recall_at_k": {}, "recall_at_k_subset": {},
           "systems": {}, "systems_statute": {}, "iterations": {}, "iteration_changed": {},
           "iteration_evidence_changed": {}, "examples": []}
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
            out["systems_statute"].setdefault(system, {t: [] for t in statutes.TITLE_TASKS})
            for t, v in zip(task_of, statute_values):
                if v is not None:
                    out["systems_statute"][system][t].append(v)

    def correct_text(i, text):
        """The paper's metric on a written answer: article-level title recall; Exam-MCQ: the option
        the answer gives (read for its content, then its letter) is the right one."""
        it = items[i]
        if it["task"] == "mcq":
            return float(statutes.mcq_answer_choice(text, it["options"]) == it["answer"])
        return statutes.article_recall(text, gold[i], arts)

    def statute_text(i, text):
        return None if items[i]["task"] == "mcq" else statutes.statute_recall(text, gold[i], arts)

    # drafter direct (all items) and general direct (the revise subset; Exam-MCQ: option scoring)
    put("drafter_direct", all_tasks, [correct_text(i, d) for i, d in enumerate(drafts)],
        [statute_text(i, d) for i, d in enumerate(drafts)])
    put("general_direct", sub_tasks, [float(gen_mcq[j] == items[i]["answer"]) if items[i]["task"] == "mcq" else correct_text(i, a)
                                      for j, (a, i) in enumerate(zip(gen_ans, sub))],
        [statute_text(i, a) for a, i in zip(gen_ans, sub)])
    put("general_direct_gen", sub_tasks, [correct_text(i, a) for a, i in zip(gen_ans, sub)])

    model, tok = reviser.load_reviser(P["reviser"], ctx.input.get("lm"))

    def request(i, key_rank, draft):
        """(evidence ids, (user message, answer prefix, continuations)) of one revision: the k
        evidence titles as candidates (Exam-MCQ: the 4 options), given question, draft and evidence."""
        it = items[i]
        ev = [int(x) for x in key_rank[:k]]
        user = reviser.user_message(it["question"], draft, [evidence(it["task"], e) for e in ev], reviser.asks(it["task"])[0])
        if it["task"] == "mcq":
            return ev, (user, reviser.MCQ_PREFIX, reviser.option_conts(it["options"]))
        return ev, (user, reviser.ANSWER_PREFIX, reviser.title_conts([titles[e] for e in ev]))

    def decide(i, ev, scores, draft):
        """(choice, correct, final answer written as the revised draft) from the reviser's scores."""
        it = items[i]
        c = int(np.argmax(scores))
        if it["task"] == "mcq":
            return c, float(c == it["answer"]), statutes.revised_answer(draft or "", it["options"][c], arts, "mcq", c)
        c = ev[c]
        return c, float(c == gold[i]), statutes.revised_answer(draft or "", titles[c], arts, it["task"])

    # the likelihood-scoring reviser: the three systems of one item in one packed forward pass
    systems = {"qrag_general": ("query", False), "qrag_draft_general": ("query", True), "arr": ("draft", True)}
    results = {name: [] for name in systems}
    for i in sub:
        reqs = [request(i, ranked[key][i], drafts[i] if with_draft else None) for key, with_draft in systems.values()]
        scores = reviser.score_many(model, tok, [r for _, r in reqs])
        for (name, (key, with_draft)), (ev, _), sc in zip(systems.items(), reqs, scores):
            results[name].append(decide(i, ev, sc, drafts[i] if with_draft else None))
    for name, res in results.items():
        put(name, sub_tasks, [r[1] for r in res])
        ctx.log.info("%s: accuracy %.3f", name, np.mean([r[1] for r in res]))

    # reviser swap: the drafter scores the evidence titles (the options) in the general model's place
    sd, meta = load_tensors(ctx.input.model, with_metadata=True)
    dtok = drafter.WordTokenizer(json.loads(meta["vocab"]))
    dmodel = drafter.build_model(len(dtok), json.loads(meta["model"]), 0)
    dmodel.load_state_dict(sd)
    dmodel.eval()
    swap = []
    for i in sub:
        ev, (user, prefix, conts) = request(i, ranked["draft"][i], drafts[i])
        swap.append(decide(i, ev, drafter.score(dmodel, dtok, f"Human: {user}\n\nAssistant: {prefix}", conts), drafts[i])[1])
    put("arr_swap", sub_tasks, swap)

    # iterations: the revised answer of round r-1 is round r's retrieval key and its draft. Where it
    # equals the previous round's draft (the reviser kept the draft's citation / option), key,
    # evidence and prompt are those of the previous round, so is the result (not recomputed).
    def by_task(vals):
        return {t: float(np.mean([v for v, tt in zip(vals, sub_tasks) if tt == t])) for t in statutes.TASKS}

    cur, cur_keys = results["arr"], [drafts[i] for i in sub]
    cur_ev = [[int(x) for x in ranked["draft"][i][:k]] for i in sub]
    out["iterations"]["1"] = by_task([r[1] for r in cur])
    for r in range(2, rv["rounds"] + 1):
        keys = [c[2] for c in cur]
        redo = [j for j in range(len(sub)) if keys[j] != cur_keys[j]]
        rk = rank([keys[j] for j in redo], [sub_tasks[j] for j in redo], k)
        nxt, nxt_ev = list(cur), list(cur_ev)
        for row, j in enumerate(redo):
            ev, req = request(sub[j], rk[row], keys[j])
            nxt[j] = decide(sub[j], ev, reviser.score_many(model, tok, [req])[0], keys[j])
            nxt_ev[j] = ev
        out["iterations"][str(r)] = by_task([x[1] for x in nxt])
        out["iteration_changed"][str(r)] = by_task([float(a[0] != b[0]) for a, b in zip(cur, nxt)])
        out["iteration_evidence_changed"][str(r)] = by_task([float(a != b) for a, b in zip(cur_ev, nxt_ev)])
        cur, cur_keys, cur_ev = nxt, keys, nxt_ev

    # generative mode on a smaller subset: ARR and query-retrieval + general model
    gsub = [i for i in sub if items[i]["idx"] < rv["n_gen"]]
    g_tasks = [items[i]["task"] for i in gsub]
    for name, key, with_draft in (("arr_gen", "draft", True), ("qrag_general_gen", "query", False)):
        users = [reviser.user_message(items[i]["question"], drafts[i] if with_draft else None,
                                      [evidence(items[i]["task"], int(e)) for e in ranked[key][i][:k]],
                                      reviser.asks(items[i]["task"])[0]) for i in gsub]
        ans = reviser.generate(model, tok, users, rv["max_new"], rv["gen_batch"]) if users else []
        put(name, g_tasks, [correct_text(i, a) for a, i in zip(ans, gsub)], [statute_text(i, a) for a, i in zip(ans, gsub)])
        if name == "arr_gen":
            for a, i in list(zip(ans, gsub))[::max(1, rv["n_gen"])][:8]:
                j = sub.index(i)
                out["examples"].append({"task": items[i]["task"], "question": items[i]["question"], "gold": titles[gold[i]],
                                        "draft": drafts[i], "draft_evidence": [titles[int(e)] for e in ranked["draft"][i][:k]],
                                        "arr_scoring": results["arr"][j][2], "arr_generative": a, "general_direct": gen_ans[j]})
    write_json(ctx.output.evals, out)
