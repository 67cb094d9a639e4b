"""Linear probes. Standardised features + multinomial logistic regression (scikit-learn); the
inverse regularisation C is chosen on the target's *validation* split only, then the probe
trained on the target's train split is scored once on its test split."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def probe(ftr, ytr, fva, yva, fte, yte, Cs, max_iter: int, seed: int) -> dict:
    sc = StandardScaler().fit(ftr)
    ftr, fva, fte = sc.transform(ftr), sc.transform(fva), sc.transform(fte)
    best = None
    val_accs = {}
    for C in Cs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = LogisticRegression(C=C, max_iter=max_iter, random_state=seed).fit(ftr, ytr)
        acc = float((clf.predict(fva) == yva).mean())
        val_accs[str(C)] = acc
        if best is None or acc > best[0]:  # ties keep the smaller C (stronger regularisation)
            best = (acc, C, clf)
    _, C, clf = best
    return {"test_acc": float((clf.predict(fte) == yte).mean()), "val_acc": best[0], "C": C, "val_by_C": val_accs}
