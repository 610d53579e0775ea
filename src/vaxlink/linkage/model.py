"""The trained linkage model: m and u per comparison level, priors, thresholds, as versioned JSON.

The file is a Splink settings dictionary (so Splink can load it for charts and comparison) with
a `vaxlink` section holding the model's name and version, the decision thresholds, the term
frequencies of the training registry (for the online scorer) and how it was trained. The SQL of
the levels is written into the file for people and Splink; vaxlink itself never runs SQL read
from a file: it checks that the file's levels are the ones this code defines, and runs its own.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from vaxlink.linkage.comparisons import COMPARISONS, Comparison
from vaxlink.linkage.errors import ModelError

MODEL_NAME = "vaxlink-linkage"
MODEL_VERSION = 2
DEFAULT_MODEL_FILE = f"{MODEL_NAME}-v{MODEL_VERSION}.json"
#: The smallest term frequency used, so one misspelt registry name is not taken as unique proof.
TF_MINIMUM = 1e-6


@dataclass
class Thresholds:
    """When a residual record is linked automatically, sent to review, or left unmatched."""

    auto_probability: float = 0.9999  # posterior of the best candidate, competitors included
    margin_bits: float = 10.0  # best minus second-best match weight
    cluster_bits: float = 10.0  # own match weight enough when the person's other doses agree
    review_probability: float = 1e-4  # below this nobody is plausible: unmatched
    det_min_probability: float = 0.5  # a rule-based link the model finds less likely: review


@dataclass
class LevelParams:
    """m and u of one level (None for the null level, which carries no evidence)."""

    m: float | None
    u: float | None

    def bits(self) -> float:
        """log2(m/u): the level's match weight."""
        if self.m is None or self.u is None:
            return 0.0
        return math.log2(self.m / self.u)


@dataclass
class LinkModel:
    """A trained model: parameters for each comparison level of `COMPARISONS`."""

    params: dict[str, list[LevelParams]]
    absent_share: float = 0.01  # share of vaccinated people not in the registry
    thresholds: Thresholds = field(default_factory=Thresholds)
    tf: dict[str, dict[str, float]] = field(default_factory=dict)
    trained: dict[str, Any] = field(default_factory=dict)
    version: int = MODEL_VERSION

    def prior_bits(self, registry_size: int) -> float:
        """log2 prior odds that a record belongs to one given citizen of a registry this size."""
        lam = (1 - self.absent_share) / max(registry_size, 1)
        return math.log2(lam / (1 - lam))

    def level_bits(self, comparison: str, level: int, registry_size: int | None = None) -> float:
        """Match weight of one level (without term-frequency adjustment); an identifier's u is
        rescaled from the training registry's size to `registry_size`."""
        bits = self.params[comparison][level].bits()
        lv = COMPARISONS_BY_NAME[comparison].levels[level]
        trained_size = self.trained.get("registry_size")
        if lv.per_citizen and registry_size and trained_size and not lv.is_null:
            bits += math.log2(registry_size / float(trained_size))
        return bits

    def tf_u(self, comparison: str, level: int) -> float | None:
        """The u a level's term-frequency adjustment is relative to: as in Splink, the u of the
        comparison's exact-match level on the TF column (`<col>_l = <col>_r`)."""
        c = COMPARISONS_BY_NAME[comparison]
        col = c.levels[level].tf
        if col is None:
            return None
        exact = next(i for i, lv in enumerate(c.levels) if lv.sql == f"{col}_l = {col}_r")
        return self.params[comparison][exact].u

    def tf_bits(self, comparison: str, level: int, tf: float | None) -> float:
        """Term-frequency adjustment of a level: log2(u_exact / tf) (0 when not adjusted)."""
        u = self.tf_u(comparison, level)
        if u is None or tf is None:
            return 0.0
        return math.log2(u / max(tf, TF_MINIMUM))

    def to_json(self) -> dict[str, Any]:
        """The Splink-compatible settings dictionary with the vaxlink section."""
        return {
            "link_type": "link_only",
            "unique_id_column_name": "uid",
            "sql_dialect": "duckdb",
            "probability_two_random_records_match": self.trained.get("lambda", 1e-6),
            "comparisons": [_comparison_json(c, self.params[c.name]) for c in COMPARISONS],
            "vaxlink": {
                "model": MODEL_NAME,
                "version": self.version,
                "absent_share": self.absent_share,
                "thresholds": self.thresholds.__dict__,
                "levels": {c.name: [lv.name for lv in c.levels] for c in COMPARISONS},
                "term_frequencies": self.tf,
                "trained": self.trained,
            },
        }

    def save(self, path: Path) -> None:
        """Write the model as JSON (stable key order, so versions diff cleanly)."""
        path.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinkModel:
        """Read a model, refusing files whose levels differ from this code's comparisons."""
        try:
            vx = data["vaxlink"]
            if vx.get("model") != MODEL_NAME:
                raise ModelError("this JSON file is not a vaxlink linkage model")
            if int(vx["version"]) != MODEL_VERSION:
                raise ModelError(
                    f"the model is version {vx['version']}; this vaxlink reads version "
                    f"{MODEL_VERSION}: retrain it with `vaxlink link-train`"
                )
            by_name = {c["output_column_name"]: c for c in data["comparisons"]}
            names = vx["levels"]
            params = {c.name: _read_levels(c, by_name.get(c.name), names.get(c.name))
                      for c in COMPARISONS}  # fmt: skip
            return cls(
                params=params,
                absent_share=float(vx.get("absent_share", 0.01)),
                thresholds=Thresholds(**vx.get("thresholds", {})),
                tf={k: {str(a): float(b) for a, b in v.items()}
                    for k, v in vx.get("term_frequencies", {}).items()},
                trained=dict(vx.get("trained", {})),
                version=int(vx["version"]),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"the linkage model file is malformed: {exc!r}") from exc

    @classmethod
    def load(cls, path: Path | None = None) -> LinkModel:
        """Load a model file, or the packaged default model."""
        if path is None:
            text = resources.files("vaxlink.linkage").joinpath("models", DEFAULT_MODEL_FILE)
            try:
                raw = text.read_text(encoding="utf-8")
            except FileNotFoundError as exc:
                raise ModelError(
                    "the packaged linkage model is missing; create it with `vaxlink link-train`"
                ) from exc
        else:
            try:
                raw = Path(path).read_text(encoding="utf-8")
            except OSError as exc:
                raise ModelError(f"cannot read the linkage model {path}: {exc}") from exc
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ModelError(f"the linkage model is not JSON: {exc}") from exc
        return cls.from_json(data)


COMPARISONS_BY_NAME: dict[str, Comparison] = {c.name: c for c in COMPARISONS}


def _comparison_json(c: Comparison, params: list[LevelParams]) -> dict[str, Any]:
    levels: list[dict[str, Any]] = []
    for lv, p in zip(c.levels, params, strict=True):
        item: dict[str, Any] = {
            "sql_condition": "ELSE" if lv.name == "else" else lv.sql,
            "label_for_charts": lv.label,
        }
        if lv.is_null:
            item["is_null_level"] = True
        else:
            item["m_probability"] = p.m
            item["u_probability"] = p.u
        if lv.tf:
            item["tf_adjustment_column"] = lv.tf
            item["tf_adjustment_weight"] = 1.0
            item["tf_minimum_u_value"] = TF_MINIMUM
        levels.append(item)
    return {
        "output_column_name": c.name,
        "comparison_description": c.description,
        "comparison_levels": levels,
    }


def _read_levels(
    c: Comparison, data: dict[str, Any] | None, names: list[str] | None
) -> list[LevelParams]:
    if data is None:
        raise ModelError(f"the model has no comparison '{c.name}'; retrain it")
    levels = data["comparison_levels"]
    if names != [lv.name for lv in c.levels] or len(levels) != len(c.levels):
        raise ModelError(
            f"comparison '{c.name}' has levels {names} in the model but "
            f"{[lv.name for lv in c.levels]} in this code; retrain the model"
        )
    out = []
    for lv, item in zip(c.levels, levels, strict=True):
        expected = "ELSE" if lv.name == "else" else lv.sql
        if item["sql_condition"] != expected:
            raise ModelError(
                f"level '{c.name}.{lv.name}' was trained with other SQL; retrain the model"
            )
        if lv.is_null:
            out.append(LevelParams(None, None))
        else:
            out.append(LevelParams(float(item["m_probability"]), float(item["u_probability"])))
    return out
