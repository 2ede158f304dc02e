"""Weighting and reporting settings of a yearly export, stored with every export.

``ExportSettings.as_dict()`` goes into the audit log and the *Phương pháp*
sheet, and ``ExportSettings.from_dict`` rebuilds the same export from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

Strata = Literal["centre", "centre-quarter", "centre-month"]
Weighting = Literal["frame", "none"]
Clustering = Literal["respondent", "centre-day"]
CIMethod = Literal["xlogit", "beta", "mean", "asin", "wilson"]
MarginVariable = Literal["sex", "age_group", "ethnic_group"]
STRATA: tuple[str, ...] = get_args(Strata)
WEIGHTING: tuple[str, ...] = get_args(Weighting)
CLUSTERING: tuple[str, ...] = get_args(Clustering)
CI_METHODS: tuple[str, ...] = get_args(CIMethod)
MARGIN_VARIABLES: tuple[str, ...] = get_args(MarginVariable)


class SettingsError(ValueError):
    """A setting has a bad value; the message names it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginTotal:
    """Known population total of one level of a raking variable (e.g. sex = female)."""

    variable: str
    level: str
    total: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportSettings:
    """Everything that decides the numbers of a yearly export.

    ``strata``: weighting strata — centre, or centre × quarter / month.
    ``weighting``: ``frame`` gives design weight = dossiers ÷ ratings in the
    stratum (frame counts must cover every stratum with ratings); ``none``
    weights every rating 1.
    ``margins``: optional raking margins; ``trim`` bounds the raking
    adjustment g = w / w₀ (only used with margins).
    ``cluster``: PSU = the respondent, or all ratings of a centre on one day.
    ``ci``: interval for shares (scoring's methods); ``alpha``: 1 − level.
    ``min_n``: smaller units are flagged and not ranked.
    ``par_max``: PAR INDEX points for a 100 % index.
    ``rank_draws`` / ``rank_seed``: the rank-interval simulation.
    """

    year: int
    questionnaire: str | None = None
    strata: Strata = "centre"
    weighting: Weighting = "frame"
    margins: tuple[MarginTotal, ...] = ()
    trim: tuple[float, float] | None = None
    cluster: Clustering = "respondent"
    ci: CIMethod = "xlogit"
    alpha: float = 0.05
    min_n: int = 30
    par_max: float = 10.0
    rank_draws: int = 2000
    rank_seed: int = 2025

    def __post_init__(self) -> None:
        for name, allowed in (("strata", STRATA), ("weighting", WEIGHTING),
                              ("cluster", CLUSTERING), ("ci", CI_METHODS)):
            value = getattr(self, name)
            if value not in allowed:
                raise SettingsError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        if not 2000 <= self.year <= 2100:
            raise SettingsError(f"year must be between 2000 and 2100; got {self.year!r}")
        if not 0 < self.alpha < 0.5:
            raise SettingsError(f"alpha must be in (0, 0.5); got {self.alpha!r}")
        if self.min_n < 1:
            raise SettingsError(f"min_n must be at least 1; got {self.min_n!r}")
        if not self.par_max > 0:
            raise SettingsError(f"par_max must be > 0; got {self.par_max!r}")
        if not 100 <= self.rank_draws <= 100_000:
            raise SettingsError(f"rank_draws must be in 100..100000; got {self.rank_draws!r}")
        if self.trim is not None and not 0 <= self.trim[0] <= 1 <= self.trim[1]:
            raise SettingsError(f"trim must be (low, high) with low <= 1 <= high; "
                                f"got {self.trim!r}")
        for margin in self.margins:
            if margin.variable not in MARGIN_VARIABLES:
                raise SettingsError(f"margin variable must be one of "
                                    f"{', '.join(MARGIN_VARIABLES)}; got {margin.variable!r}")
            if not margin.total >= 0:
                raise SettingsError(f"margin {margin.variable}={margin.level}: total must be "
                                    f">= 0; got {margin.total!r}")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["margins"] = [asdict(m) for m in self.margins]
        data["trim"] = list(self.trim) if self.trim is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExportSettings:
        values = dict(data)
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise SettingsError(f"unknown setting {unknown[0]!r}")
        try:
            values["margins"] = tuple(MarginTotal(variable=str(m["variable"]),
                                                  level=str(m["level"]), total=float(m["total"]))
                                      for m in values.get("margins") or ())
        except (KeyError, TypeError, ValueError) as exc:
            raise SettingsError(f"margins: need variable, level, total ({exc})") from exc
        trim = values.get("trim")
        if trim is not None:
            try:
                low, high = (float(x) for x in trim)
            except (TypeError, ValueError) as exc:
                raise SettingsError(f"trim must be two numbers; got {trim!r}") from exc
            values["trim"] = (low, high)
        try:
            return cls(**values)
        except TypeError as exc:
            raise SettingsError(str(exc)) from exc
