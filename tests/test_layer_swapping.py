"""layer_swapping: the method's maths on hand-computed cases (toy tests of the scaffold: replace them)."""

from __future__ import annotations

import pytest

from paperdag.core.errors import PaperdagError
from paperdag.papers.layer_swapping import plan


def test_run_seeds_are_distinct():
    p = {"seed": 5, "runs": 3}
    assert [plan.run_seed(p, r) for r in range(3)] == [5, 6, 7]


def test_cross_key_check_names_the_key():
    with pytest.raises(PaperdagError, match="data.n_train"):
        plan.check({"data": {"n_train": 4, "dim": 8}}, "config/papers/layer_swapping.yaml (scale smoke)")
