"""Online verification of one person: the registry port's candidates, scored by `score_person`."""

from __future__ import annotations

from vaxlink.linkage.model import LinkModel
from vaxlink.linkage.online import LinkResult, score_person
from vaxlink.registry.service import PersonQuery, RegistryPort


def verify_person(details: PersonQuery, registry: RegistryPort, model: LinkModel) -> LinkResult:
    """Decide who `details` describe, as the bulk linkage would decide their dose record.

    Raises `RegistryUnavailable` when the registry cannot be asked."""
    answer = registry.candidates(details)
    return score_person(
        details.model_dump(),
        [c.model_dump() for c in answer.candidates],
        model,
        registry_size=answer.registry_size,
    )
