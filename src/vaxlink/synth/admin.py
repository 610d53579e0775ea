"""Administrative units (2021 provinces, districts, wards) for residences and facilities.

The real pre-2025 units come from the `vietnamadminunits` package data; if that data cannot be read,
synthetic codes of the same shape are used so the generator still works.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pyarrow as pa

from vaxlink.identity.provinces import BIRTH_PROVINCES
from vaxlink.synth.vec import IntArray

#: The 63 province codes in a fixed order; province indices used across the generator point here.
PROVINCE_CODES: tuple[str, ...] = tuple(sorted(BIRTH_PROVINCES))


@dataclass(frozen=True)
class AdminUnits:
    """Wards sorted by province: codes and names as Arrow arrays, province slices as offsets."""

    ward_code: pa.StringArray
    ward_name: pa.StringArray
    district_code: pa.StringArray
    district_name: pa.StringArray
    ward_urban: np.ndarray
    ward_province: IntArray
    province_start: IntArray
    province_count: IntArray
    province_name: pa.StringArray

    def ward_in(self, rng: np.random.Generator, province: IntArray) -> IntArray:
        """A ward index per row, inside the row's province (urban wards weigh twice)."""
        start = self.province_start[province]
        count = self.province_count[province]
        # Draw twice and keep an urban ward if either draw is one: urban wards get about 2x weight.
        a = start + (rng.random(len(province)) * count).astype(np.int64)
        b = start + (rng.random(len(province)) * count).astype(np.int64)
        return np.where(self.ward_urban[b] & ~self.ward_urban[a], b, a)


def _rows_from_package() -> list[tuple[str, str, str, str, str, str, str]] | None:
    # Locate the package's data without importing it (its import builds parsers: slow).
    spec = find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "dataset.db"
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                "SELECT provinceCode, province, districtCode, district, wardCode, ward,"
                " wardType FROM admin_units_legacy WHERE wardCode IS NOT NULL"
                " ORDER BY provinceCode, districtCode, wardCode"
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    out = [(str(p).zfill(3), *(str(x) for x in rest)) for p, *rest in rows]
    if {r[0] for r in out} != set(PROVINCE_CODES):
        return None
    return out  # type: ignore[return-value]


def _synthetic_rows() -> list[tuple[str, str, str, str, str, str, str]]:
    rows = []
    for p, name in BIRTH_PROVINCES.items():
        for d in range(8):
            dcode = f"{(int(p) * 10 + d) % 1000:03d}"
            for w in range(12):
                wcode = f"{int(p) * 400 + d * 40 + w:05d}"
                kind = "Phường" if d < 2 else "Xã"
                rows.append(
                    (p, f"Tỉnh {name}", dcode, f"Huyện {d + 1}", wcode, f"{kind} {w + 1}", kind)
                )
    return rows


@cache
def admin_units() -> AdminUnits:
    """The administrative units, loaded once."""
    rows = _rows_from_package() or _synthetic_rows()
    index = {code: i for i, code in enumerate(PROVINCE_CODES)}
    prov = np.array([index[r[0]] for r in rows], dtype=np.int64)
    counts = np.bincount(prov, minlength=len(PROVINCE_CODES)).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    names = {r[0]: r[1] for r in rows}
    return AdminUnits(
        ward_code=pa.array([r[4] for r in rows], pa.string()),
        ward_name=pa.array([r[5] for r in rows], pa.string()),
        district_code=pa.array([r[2] for r in rows], pa.string()),
        district_name=pa.array([r[3] for r in rows], pa.string()),
        ward_urban=np.array([r[6] in ("Phường", "Thị trấn") for r in rows]),
        ward_province=prov,
        province_start=starts,
        province_count=counts,
        province_name=pa.array([names[c] for c in PROVINCE_CODES], pa.string()),
    )
