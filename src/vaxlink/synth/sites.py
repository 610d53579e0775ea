"""The list of vaccination sites the dose records name: what `vaxlink facilities import` reads.

Mostly commune health stations named after their ward ("Trạm Y tế Phường Phúc Xá"), some
district hospitals and mobile teams, each with a head and a phone number. Drawn from its own
random stream, so adding the list changed none of the other files.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa

from vaxlink.synth.admin import admin_units
from vaxlink.synth.doses import Facilities
from vaxlink.synth.names import assemble, draw_names
from vaxlink.synth.vec import IntArray, choice, zfill_int

SITE_COLUMNS = ("code", "name", "ward_code", "kind", "head_name", "phone", "email")
#: Kinds as a ministry list writes them, their share, and the name each kind's sites get.
_KINDS = (("Trạm y tế", 0.78, "Trạm Y tế {ward}"),
          ("Bệnh viện", 0.14, "Bệnh viện Đa khoa {district}"),
          ("Đội tiêm lưu động", 0.08, "Đội tiêm lưu động {district}"))  # fmt: skip


def site_list(rng: np.random.Generator, facilities: Facilities, used: IntArray) -> pa.Table:
    """One row per site in `used` (facility indices), in code order."""
    used = np.unique(used)
    n = len(used)
    units = admin_units()
    ward = units.ward_in(rng, facilities.province[used])
    kind = choice(rng, [k[1] for k in _KINDS], n)
    ward_names = units.ward_name.take(pa.array(ward)).to_pylist()
    district_names = units.district_name.take(pa.array(ward)).to_pylist()
    seen: Counter[str] = Counter()
    names = []
    for k, w, d in zip(kind.tolist(), ward_names, district_names, strict=True):
        name = _KINDS[k][2].format(ward=w, district=d)
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name} (điểm {seen[name]})")
    sex = rng.integers(0, 2, n)
    family, mid1, mid2, given = draw_names(
        rng, sex, rng.integers(1962, 1990, n), rng.random(n) < 0.4
    )
    ward_codes = units.ward_code.take(pa.array(ward))
    station = kind == 0
    emails = [f"tyt{c}@syt.example.vn" if s else None
              for c, s in zip(ward_codes.to_pylist(), station.tolist(), strict=True)]  # fmt: skip
    return pa.table({
        "code": facilities.code.take(pa.array(used)),
        "name": pa.array(names, pa.string()),
        "ward_code": ward_codes,
        "kind": pa.array([_KINDS[k][0] for k in kind.tolist()], pa.string()),
        "head_name": assemble(family, mid1, mid2, given),
        "phone": pa.array(["02" + s for s in zfill_int(rng.integers(0, 10**9, n), 9).to_pylist()],
                          pa.string()),
        "email": pa.array(emails, pa.string()),
    })  # fmt: skip
