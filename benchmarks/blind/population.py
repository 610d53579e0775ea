"""Population generator: households of Vietnamese citizens in the registry snapshot format (§1).

Vectorised with numpy column by column; the only per-row Python work is joining name strings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import model, names

# CCCD province codes (birth registration / residence) with rough population weights (millions).
PROVINCES: dict[str, float] = {
    "001": 8.4, "002": 0.9, "004": 0.55, "006": 0.33, "008": 0.8, "010": 0.75, "011": 0.62,
    "012": 0.47, "014": 1.3, "015": 0.84, "017": 0.87, "019": 1.3, "020": 0.8, "022": 1.35,
    "024": 1.9, "025": 1.5, "026": 1.2, "027": 1.5, "030": 1.95, "031": 2.1, "033": 1.3,
    "034": 1.9, "035": 0.87, "036": 1.8, "037": 1.0, "038": 3.7, "040": 3.4, "042": 1.3,
    "044": 0.9, "045": 0.65, "046": 1.15, "048": 1.2, "049": 1.5, "051": 1.25, "052": 1.5,
    "054": 0.88, "056": 1.25, "058": 0.6, "060": 1.25, "062": 0.56, "064": 1.6, "066": 1.9,
    "067": 0.67, "068": 1.3, "070": 1.0, "072": 1.2, "074": 2.6, "075": 3.2, "077": 1.2,
    "079": 9.4, "080": 1.7, "082": 1.8, "083": 1.3, "084": 1.0, "086": 1.0, "087": 1.6,
    "089": 1.9, "091": 1.75, "092": 1.25, "093": 0.73, "094": 1.2, "095": 0.92, "096": 1.2,
}  # fmt: skip
MIGRATION_TARGETS = {"079": 0.45, "001": 0.25, "074": 0.15, "075": 0.15}

ROLE_FATHER, ROLE_MOTHER, ROLE_CHILD, ROLE_GRAND, ROLE_SINGLE = 0, 1, 2, 3, 4
REF_YEAR = int(model.REFERENCE_DATE[:4])


@dataclass
class Population:
    """All generated people (registered and absent), one entry per person in every array."""

    citizen_id: np.ndarray  # str
    family: np.ndarray  # str
    middle: np.ndarray  # str, "" or one or two words
    given: np.ndarray  # str
    dob: np.ndarray  # datetime64[D]
    male: np.ndarray  # bool
    household: np.ndarray  # int
    role: np.ndarray  # int, ROLE_*
    mother: np.ndarray  # int index of the mother in the same household, -1 if none
    province: np.ndarray  # str residence
    district: np.ndarray  # str
    ward: np.ndarray  # str
    address: np.ndarray  # str
    old_id: np.ndarray  # str, "" if none
    phone: np.ndarray  # str, "" if none
    absent: np.ndarray  # bool: generated but not in the registry snapshot

    @property
    def full_name(self) -> list[str]:
        return [
            " ".join(p for p in (f, m, g) if p)
            for f, m, g in zip(
                self.family.tolist(), self.middle.tolist(), self.given.tolist(), strict=True
            )
        ]

    def __len__(self) -> int:
        return len(self.citizen_id)


def _dates(rng: np.random.Generator, years: np.ndarray) -> np.ndarray:
    start = (years - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    length = ((years + 1 - 1970).astype("datetime64[Y]").astype("datetime64[D]") - start).astype(
        int
    )
    return start + (rng.random(len(years)) * length).astype(int)


def _pick(rng: np.random.Generator, table: list[str], w: np.ndarray, n: int) -> np.ndarray:
    return np.asarray(table, dtype=object)[rng.choice(len(table), size=n, p=w / w.sum())]


def _middles(rng: np.random.Generator, male: np.ndarray, years: np.ndarray) -> np.ndarray:
    out = np.empty(len(male), dtype=object)
    for is_male, table in ((True, names.MIDDLE_M), (False, names.MIDDLE_F)):
        words = [t[0] for t in table]
        for young in (False, True):
            sel = (male == is_male) & ((years >= 1990) == young)
            w = np.array([t[2] if young else t[1] for t in table], dtype=float)
            first = _pick(rng, words, w, int(sel.sum()))
            second = _pick(rng, words, w, int(sel.sum()))
            u = rng.random(int(sel.sum()))
            two = (u < 0.10) & (second != first) & ~np.isin(second, ["Văn", "Thị"])
            out[sel] = np.where(two, first + " " + second, first)
            out[sel] = np.where(u > 0.97, "", out[sel])
    return out


def _givens(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    out = np.empty(len(male), dtype=object)
    for is_male, table in ((True, names.GIVEN_M), (False, names.GIVEN_F)):
        sel = male == is_male
        out[sel] = _pick(rng, table, names.weights(len(table)), int(sel.sum()))
    return out


def _unique_ids(
    rng: np.random.Generator, prov: np.ndarray, male: np.ndarray, years: np.ndarray
) -> np.ndarray:
    head = prov.astype(np.int64) * 10**9 + ((~male).astype(np.int64) + 2 * (years >= 2000)) * 10**8
    head += (years % 100).astype(np.int64) * 10**6
    num = head + rng.integers(0, 10**6, len(prov))
    while True:
        _, first = np.unique(num, return_index=True)
        dup = np.ones(len(num), dtype=bool)
        dup[first] = False  # the first of each value stays; others redraw
        if not dup.any():
            break
        num[dup] = head[dup] + rng.integers(0, 10**6, int(dup.sum()))
    return np.char.zfill(num.astype(str), 12).astype(object)


def generate(n_people: int, n_absent: int, seed: int) -> Population:
    """n_people in all, of whom n_absent (all born by 2017) are left out of the registry."""
    rng = np.random.default_rng(seed)
    n_hh = int(n_people / 2.8) + 100
    kind = rng.choice(
        3, size=n_hh, p=[0.18, 0.72, 0.10]
    )  # 0 single adult, 1 couple, 2 single mother
    n_child = np.where(kind == 0, 0, rng.choice(5, size=n_hh, p=[0.25, 0.25, 0.30, 0.14, 0.06]))
    grand = (kind == 1) & (rng.random(n_hh) < 0.12)
    has_father = kind == 1
    has_mother = kind >= 1
    size = (
        (kind == 0).astype(int)
        + has_father.astype(int)
        + has_mother.astype(int)
        + n_child
        + grand.astype(int)
    )
    keep = np.cumsum(size) <= n_people
    # fill the remainder with single adults so the total is exact
    deficit = n_people - int(size[keep].sum())
    fill = np.flatnonzero(~keep)[:deficit]
    kind[fill], n_child[fill], grand[fill], has_father[fill], has_mother[fill], size[fill] = (
        0,
        0,
        False,
        False,
        False,
        1,
    )
    keep[fill] = True
    kind, n_child, grand, has_father, has_mother, size = (
        a[keep] for a in (kind, n_child, grand, has_father, has_mother, size)
    )
    n_hh = len(kind)
    # household-level draws
    f_year = rng.integers(1940, 2001, n_hh)
    m_year = np.minimum(
        np.where(kind == 1, f_year + rng.integers(0, 7, n_hh), rng.integers(1958, 2003, n_hh)), 2003
    )
    s_year = rng.integers(1935, 2007, n_hh)
    s_male = rng.random(n_hh) < 0.5
    fam_table, fam_w = names.family_table()
    hh_family = _pick(rng, fam_table, fam_w, n_hh)
    wife_family = _pick(rng, fam_table, fam_w, n_hh)
    prov_codes = list(PROVINCES)
    pw = np.array(list(PROVINCES.values()))
    hh_prov = _pick(rng, prov_codes, pw, n_hh)
    twins = (n_child >= 2) & (rng.random(n_hh) < model.TWIN_SHARE)

    # persons: role slots per household in order father, mother, single, grandparent, children
    roles_per_hh = [
        np.where(has_father, ROLE_FATHER, -1),
        np.where(has_mother, ROLE_MOTHER, -1),
        np.where(kind == 0, ROLE_SINGLE, -1),
        np.where(grand, ROLE_GRAND, -1),
    ] + [np.where(n_child > k, ROLE_CHILD, -1) for k in range(4)]
    slots = np.stack(roles_per_hh, axis=1)  # (n_hh, 8)
    child_rank_slots = np.broadcast_to(np.array([-1, -1, -1, -1, 0, 1, 2, 3]), slots.shape)
    present = slots >= 0
    hh = np.broadcast_to(np.arange(n_hh)[:, None], slots.shape)[present]
    role = slots[present]
    child_rank = child_rank_slots[present]
    n = len(role)

    male = np.where(
        role == ROLE_FATHER, True, np.where(role == ROLE_MOTHER, False, rng.random(n) < 0.51)
    )
    male = np.where(role == ROLE_SINGLE, s_male[hh], male)
    years = np.select(
        [role == ROLE_FATHER, role == ROLE_MOTHER, role == ROLE_SINGLE, role == ROLE_GRAND],
        [
            f_year[hh],
            m_year[hh],
            s_year[hh],
            np.maximum(f_year[hh] - rng.integers(22, 36, n), 1920),
        ],
        default=0,
    )
    cy = (
        m_year[hh]
        + 19
        + (rng.random(n) * np.minimum(24, REF_YEAR - 1 - (m_year[hh] + 19))).astype(int)
    )
    years = np.where(role == ROLE_CHILD, cy, years)
    dob = _dates(rng, years)
    # twins: second child copies the first child's date (children of a household are contiguous)
    idx = np.arange(n)
    twin2 = (role == ROLE_CHILD) & (child_rank == 1) & twins[hh]
    dob[twin2] = dob[idx[twin2] - 1]
    years = dob.astype("datetime64[Y]").astype(int) + 1970

    family = np.where(role == ROLE_MOTHER, wife_family[hh], hh_family[hh])
    family = np.where((role == ROLE_CHILD) & (kind[hh] == 2), wife_family[hh], family)
    grand_f = (role == ROLE_GRAND) & ~male
    family[grand_f] = _pick(rng, fam_table, fam_w, int(grand_f.sum()))
    middle = _middles(rng, male, years)
    given = _givens(rng, male)
    # twins often share the middle name; siblings of the same sex do not share a given name
    same_mid = twin2 & (male == male[idx - 1]) & (rng.random(n) < 0.7)
    middle[same_mid] = middle[idx[same_mid] - 1]
    sib = (role == ROLE_CHILD) & (child_rank >= 1)
    for _ in range(3):
        clash = sib & (given == given[idx - 1]) & (male == male[idx - 1])
        if not clash.any():
            break
        given[clash] = _givens(rng, male[clash])
    given = np.where(given == middle, _givens(rng, male), given)

    # places: residence shared by the household; ID province is birth registration
    migrant = rng.random(n) < model.MIGRANT_SHARE
    origin = _pick(rng, prov_codes, pw, n)
    id_prov = np.where((role == ROLE_CHILD) | ~migrant, hh_prov[hh], origin)
    # migrants live in the big cities: move the household there when its father/single is one
    movers = np.zeros(n_hh, dtype=bool)
    movers[hh[(role != ROLE_CHILD) & migrant & (rng.random(n) < 0.8)]] = True
    tgt = _pick(rng, list(MIGRATION_TARGETS), np.array(list(MIGRATION_TARGETS.values())), n_hh)
    res_prov = np.where(movers, tgt, hh_prov)
    id_prov = np.where((role == ROLE_CHILD) & movers[hh] & (years >= 2005), res_prov[hh], id_prov)
    citizen_id = _unique_ids(rng, id_prov, male, years)

    # district (3 digits) and ward (5 digits): 8-30 districts per province, 8-20 wards per district
    n_dist = {p: int(8 + 22 * (w / pw.max())) for p, w in PROVINCES.items()}
    dist_base = {}
    acc = 1
    for p in prov_codes:
        dist_base[p] = acc
        acc += n_dist[p]
    base = np.array([dist_base[p] for p in res_prov.tolist()])
    width = np.array([n_dist[p] for p in res_prov.tolist()])
    dist_no = base + (rng.random(n_hh) * width).astype(int)
    ward_no = dist_no * 20 + rng.integers(0, 8 + dist_no % 13, n_hh)
    hh_district = np.char.zfill(dist_no.astype(str), 3).astype(object)
    hh_ward = np.char.zfill(ward_no.astype(str), 5).astype(object)
    num = rng.integers(1, 300, n_hh).astype(str).astype(object)
    to = rng.integers(1, 40, n_hh).astype(str).astype(object)
    kind_addr = np.where(
        rng.random(n_hh) < 0.5, "Số " + num + ", tổ " + to, "Số " + num + " ngõ " + to
    )
    hh_address = kind_addr + ", phường/xã " + hh_ward

    old = (years < 2000) & (rng.random(n) < model.OLD_ID_SHARE)
    old_id = np.where(
        old, np.char.zfill(rng.integers(0, 10**9, n).astype(str), 9).astype(object), ""
    )
    adult = years <= REF_YEAR - 18
    prefix = np.array(["03", "05", "07", "08", "09"], dtype=object)[rng.integers(0, 5, n)]
    own_phone = prefix + np.char.zfill(rng.integers(0, 10**8, n).astype(str), 8).astype(object)
    phone = np.where(adult & (rng.random(n) < model.PHONE_SHARE), own_phone, "")
    # mother index within the household (mother comes right after the father, before children)
    first_of_hh = np.searchsorted(hh, np.arange(n_hh))
    mother_pos = np.where(has_mother, first_of_hh + has_father.astype(int), -1)
    mother = np.where((role == ROLE_CHILD) & has_mother[hh], mother_pos[hh], -1)
    kid_phone = (role == ROLE_CHILD) & ~adult & (mother >= 0) & (rng.random(n) < 0.5)
    phone[kid_phone] = phone[mother[kid_phone]]

    absent = np.zeros(n, dtype=bool)
    eligible = np.flatnonzero(years <= 2017)
    absent[rng.choice(eligible, size=n_absent, replace=False)] = True

    return Population(
        citizen_id=citizen_id,
        family=family.astype(object),
        middle=middle,
        given=given.astype(object),
        dob=dob,
        male=male,
        household=hh,
        role=role,
        mother=mother,
        province=res_prov[hh].astype(object),
        district=hh_district[hh],
        ward=hh_ward[hh],
        address=hh_address[hh].astype(object),
        old_id=old_id.astype(object),
        phone=phone.astype(object),
        absent=absent,
    )


def registry_table(pop: Population):  # -> pa.Table
    import pyarrow as pa

    reg = ~pop.absent
    full = np.array(pop.full_name, dtype=object)
    cols = {
        "citizen_id": pop.citizen_id[reg],
        "full_name": full[reg],
        "date_of_birth": np.datetime_as_string(pop.dob[reg]).astype(object),
        "sex": np.where(pop.male[reg], "M", "F").astype(object),
        "province_code": pop.province[reg],
        "district_code": pop.district[reg],
        "ward_code": pop.ward[reg],
        "old_id": pop.old_id[reg],
        "address": pop.address[reg],
        "phone": pop.phone[reg],
    }
    return pa.table({k: pa.array(v.tolist(), type=pa.string()) for k, v in cols.items()})
