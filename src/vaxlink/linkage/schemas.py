"""What the online verification API answers (the request is `vaxlink.registry.schemas.PersonQuery`)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field

from vaxlink.linkage.online import Candidate, LinkResult

#: Candidates an answer shows at most, best first (as docs/formats.md §3).
MAX_SHOWN = 3


class FieldEvidence(BaseModel):
    """How one field of the request compares with a candidate's registry value."""

    level: str = Field(description="The comparison level reached, e.g. `exact`, `one_digit`.")
    weight: float = Field(description="Its match weight in bits (negative: evidence against).")


class CandidateOut(BaseModel):
    """One citizen the person could be."""

    citizen_id: str
    probability: float = Field(ge=0, le=1)
    match_weight: float | None = Field(
        description="Total match weight in bits; null for a verified record (its own ID number "
        "and identity agree, so no weighing was needed)."
    )
    fields: dict[str, FieldEvidence] = Field(default_factory=dict)

    @classmethod
    def of(cls, c: Candidate) -> CandidateOut:
        """From the scorer's candidate."""
        return cls(
            citizen_id=c.citizen_id,
            probability=round(c.probability, 6),
            match_weight=c.match_weight if math.isfinite(c.match_weight) else None,
            fields={k: FieldEvidence(level=lv, weight=w) for k, (lv, w) in c.fields.items()},
        )


class VerifyResponse(BaseModel):
    """The decision for one person (docs/formats.md §3; unusable details are refused with a 422)."""

    status: Literal["verified", "auto_linked", "review", "unmatched"]
    citizen_id: str | None = Field(description="The linked citizen (verified and auto_linked).")
    match_probability: float | None
    corrected_fields: list[str] = Field(
        description="For auto_linked: the fields whose values differ from the registry."
    )
    candidates: list[CandidateOut] = Field(max_length=MAX_SHOWN)
    reason: str | None = Field(description="Why a person must decide, or why nobody matched.")

    @classmethod
    def of(cls, r: LinkResult) -> VerifyResponse:
        """From the scorer's result (validated, so a status outside the contract fails loudly)."""
        p = r.match_probability
        return cls.model_validate(
            {
                "status": r.status,
                "citizen_id": r.citizen_id,
                "match_probability": None if p is None else round(p, 6),
                "corrected_fields": list(r.corrected_fields),
                "candidates": [CandidateOut.of(c) for c in r.candidates[:MAX_SHOWN]],
                "reason": r.reason,
            }
        )
