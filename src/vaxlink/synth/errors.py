"""Errors of the synthetic data generator."""

from __future__ import annotations

from vaxlink.errors import InvalidInput


class SynthError(InvalidInput):
    """The generator was asked for something it cannot produce (bad size, share or format)."""

    code = "synth_invalid"
