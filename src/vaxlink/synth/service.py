"""The synth front door: a synthetic population with its dose records and ground truth.

Other domains (linkage's training recipe, benchmarks) generate and write data through this module.
"""

from __future__ import annotations

from vaxlink.synth.generate import SynthResult, generate
from vaxlink.synth.output import write

__all__ = ["SynthResult", "generate", "write"]
