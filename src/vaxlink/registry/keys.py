"""Lookup keys for one person: the single-row twins of the registry's indexed columns."""

from __future__ import annotations

from vaxlink.identity import fold_name


def name_key(full_name: str) -> str | None:
    """Folded family and given name ("nguyen an" for "Nguyễn Văn An"), None for an empty name."""
    words = fold_name(full_name).split()
    return f"{words[0]} {words[-1]}" if words else None


def id_variants(id12: str) -> list[str]:
    """12-digit numbers one typing slip away: each digit replaced, or two neighbours swapped."""
    out: set[str] = set()
    for i, ch in enumerate(id12):
        for d in "0123456789":
            if d != ch:
                out.add(id12[:i] + d + id12[i + 1 :])
        if i + 1 < len(id12) and id12[i] != id12[i + 1]:
            out.add(id12[:i] + id12[i + 1] + id12[i] + id12[i + 2 :])
    return sorted(out)
