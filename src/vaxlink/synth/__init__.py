"""Synthetic Vietnamese population, dirty dose records and ground truth for testing linkage."""

from __future__ import annotations

from vaxlink.synth.error_model import ERROR_TYPES
from vaxlink.synth.generate import REGISTRY_COLUMNS, SynthResult, generate
from vaxlink.synth.output import DoseFormat, write
from vaxlink.synth.records import DOSE_COLUMNS, TRUTH_COLUMNS

__all__ = [
    "DOSE_COLUMNS",
    "ERROR_TYPES",
    "REGISTRY_COLUMNS",
    "TRUTH_COLUMNS",
    "DoseFormat",
    "SynthResult",
    "generate",
    "write",
]
