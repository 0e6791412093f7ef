"""The compiled plans are shared by every Scorer of one catalogue object and go with it."""

import gc

from certflow.catalogue import load_catalogue
from certflow.catalogue.model import ALL_VARIANTS
from certflow.scoring import Scorer, engine

from conftest import DATA


def test_scorers_of_one_catalogue_share_the_compiled_plan():
    cat = load_catalogue(DATA / "mini.yaml")
    variant = ALL_VARIANTS[0]
    assert Scorer(cat).plan(variant) is Scorer(cat).plan(variant)
    other = load_catalogue(DATA / "mini.yaml")  # an equal catalogue, another object: its own plan
    assert Scorer(other).plan(variant) is not Scorer(cat).plan(variant)


def test_the_plan_goes_with_its_catalogue():
    cat = load_catalogue(DATA / "mini.yaml")
    Scorer(cat).plan(ALL_VARIANTS[0])
    key = id(cat)
    assert key in engine._SHARED_PLANS
    del cat
    gc.collect()
    assert key not in engine._SHARED_PLANS
