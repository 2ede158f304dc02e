"""hailong scoring: SIPAS-style satisfaction indices with design-based intervals.

Pure numpy/scipy (no Flask, SQLAlchemy or Babel).  The numbers match R's
``survey`` package (Lumley 2010); see ``tests/scoring/results/`` for the
reference values and their provenance.

Typical use::

    from scoring import IndexNode, make_design, score

    design = make_design(weights=w, strata=centre, psu=centre_day)
    tree = (IndexNode(code="A", items=("q01", "q02", "q03")), ...,
            IndexNode(code="SIPAS", rule="item-mean", children=("A", "B"), kind="overall"))
    result = score(ratings, item_codes, tree=tree, design=design, domains=centre)
    result["SIPAS"].share.at("C0001")   # -> Estimate

    codes, labels = cross_domains(centre, day)        # per centre and day
    by_day = score(ratings, item_codes, tree=tree, design=design, domains=codes)
"""

from .design import (
    LONELY_PSU_OPTIONS,
    Design,
    DomainIndex,
    LonelyPSU,
    conditional_design,
    cross_domains,
    domain_df,
    domain_index,
    linearised_variance,
    make_design,
)
from .estimates import (
    DEFAULT_MIN_N,
    INDEX_RULES,
    Estimate,
    Estimates,
    IndexNode,
    IndexRule,
    Indicator,
    ScoreResult,
    elements_tree,
    mean_rating,
    score,
    share_satisfied,
    valid_ratings,
)
from .intervals import SHARE_CI_METHODS, ShareCI, clopper_pearson, mean_interval, share_interval
from .moments import Moments, estimate_tree_from_moments, moments_from_ratings, tree_cover
from .weights import (
    Margin,
    WeightingResult,
    calibrate_raking,
    design_weights,
    margins_from_table,
    poststratify,
    rake,
)

__all__ = [
    "DEFAULT_MIN_N",
    "INDEX_RULES",
    "LONELY_PSU_OPTIONS",
    "SHARE_CI_METHODS",
    "Design",
    "DomainIndex",
    "Estimate",
    "Estimates",
    "IndexNode",
    "IndexRule",
    "Indicator",
    "LonelyPSU",
    "Margin",
    "Moments",
    "ScoreResult",
    "ShareCI",
    "WeightingResult",
    "calibrate_raking",
    "clopper_pearson",
    "conditional_design",
    "cross_domains",
    "design_weights",
    "domain_df",
    "domain_index",
    "elements_tree",
    "estimate_tree_from_moments",
    "linearised_variance",
    "make_design",
    "margins_from_table",
    "mean_interval",
    "mean_rating",
    "moments_from_ratings",
    "poststratify",
    "rake",
    "score",
    "share_interval",
    "share_satisfied",
    "tree_cover",
    "valid_ratings",
]
