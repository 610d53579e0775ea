"""Canonical JSON: the one byte form of a document that is signed, digested or published."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8: the one byte form of a JSON document that is signed."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
