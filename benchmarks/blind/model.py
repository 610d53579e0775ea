"""The blind test set's error model: every rate the generator uses, fixed before vaxlink was run.

Written without reading vaxlink's linkage or synth code (see README.md). Do not tune these numbers
to the engine's results; a change here must be justified by realism, not by a score.
"""

from __future__ import annotations

# Reference date of the registry snapshot (ages, plausibility) and `vaxlink link --today`.
REFERENCE_DATE = "2025-01-01"

# Share of dose records of registered people that carry at least one labelled error.
DIRTY_SHARE = 0.27
# Among dirty records: share carrying two errors (a pair from COMBOS) instead of one.
COMBO_SHARE = 0.12

# Doses per vaccinated person: 1, 2 or 3 (mean 2.25, so ~1M doses for 500k citizens; changed from
# mean 2.0 before any vaxlink run because 2.0 gave only 886k doses).
DOSES_PER_PERSON = {1: 0.15, 2: 0.45, 3: 0.40}
# Share of people born on or before 2017 who were vaccinated at all.
VACCINATED_SHARE = 0.97

# Single error types and their relative weights among single-error dirty records.
# A type that does not apply to a record (e.g. day/month swap when the day is > 12) is redrawn;
# after 8 draws the record gets name_typo_keyboard (always applicable).
ERROR_WEIGHTS: dict[str, float] = {
    # date of birth (ID and name exact)
    "dob_day_pm1": 5,  # day +-1 (month/year kept)
    "dob_day_pm10": 2,  # day +-10
    "dob_jan1": 4,  # unknown day and month entered as 1 January
    "dob_year_only": 3,  # only "YYYY" written
    "dob_year_pm1": 4,  # year +-1
    "dob_day_month_swap": 3,  # 05/03 entered as 03/05 (day <= 12, day != month)
    "dob_two_digit_year": 2,  # DD/MM/YY (not a format §2 lists)
    # sex
    "sex_wrong": 3,
    "sex_missing": 2,
    # ID number
    "id_missing": 10,
    "id_last_digit_dropped": 4,  # 11 digits, the last one lost
    "id_lost_leading_zero": 5,  # spreadsheet read the ID as a number: all leading zeros lost (10-11 digits)
    "id_extra_digit": 2,  # 13 digits: one digit typed twice
    "id_digit_typo": 5,  # one digit replaced by a numeric-keypad neighbour
    "id_transposition": 3,  # two adjacent (different) digits swapped
    "id_ocr": 2,  # scanned form: 0->O, 1->l or I, 5->S, 8->B (one or two characters)
    "id_relative": 4,  # ID of another member of the household (spouse, parent, child, sibling)
    "id_mother_on_child": 2,  # child (< 16) recorded with the mother's ID
    "id_neighbour": 2,  # ID of a person in another household of the same ward
    "id_old_cmnd": 3,  # the person's former 9-digit CMND (legitimate per §2, but not the CCCD)
    # name
    "name_typo_keyboard": 6,  # one letter replaced by a QWERTY neighbour
    "name_letter_dropped": 3,  # one letter of one word missing
    "name_telex_residue": 4,  # one word typed in Telex without conversion: Nguyeenx, Nguyeen, Traanf
    "name_no_diacritics": 5,  # the whole name without diacritics (allowed by §2; loses information)
    "name_diacritic_wrong": 4,  # one word with another tone mark (Hương -> Hướng)
    "name_tone_placement": 2,  # old-style tone placement: Hòa -> Hoà, Thủy -> Thuỷ (same name)
    "name_middle_dropped": 4,
    "name_family_given_swapped": 2,  # written given-name first: "An Văn Nguyễn"
    "name_words_merged": 2,  # a space lost: "Nguyễn VănAn"
}

# Two-error combinations (a dirty record is a combo with probability COMBO_SHARE), equal weights.
COMBOS: list[tuple[str, str]] = [
    ("dob_day_pm1", "name_typo_keyboard"),
    ("id_missing", "dob_year_pm1"),
    ("id_missing", "name_no_diacritics"),
    ("id_last_digit_dropped", "name_telex_residue"),
    ("id_digit_typo", "dob_day_month_swap"),
    ("sex_wrong", "name_middle_dropped"),
    ("id_relative", "dob_jan1"),
    ("id_lost_leading_zero", "name_diacritic_wrong"),
]

# Format variants (NOT errors, §2 says a reader must accept them); applied to every record
# independently of its errors and recorded in the truth file's `formats` column.
FORMAT_RATES = {
    "name_upper": 0.10,
    "name_lower": 0.03,
    "name_nfd": 0.10,
    "name_extra_spaces": 0.05,
    "dob_ddmmyyyy": 0.30,  # DD/MM/YYYY (else YYYY-MM-DD), and D/M/YYYY for a third of those
    "sex_vietnamese": 0.40,  # Nam / Nữ (else M / F); lower case for a quarter of all
    "id_spaces": 0.05,  # "001 085 012345"
}

# Optional §2 fields: share of records carrying the person's phone (if any) and residence codes.
PHONE_ENTERED = 0.6
RESIDENCE_ENTERED = 0.85

# Registry
PHONE_SHARE = 0.45  # citizens with a phone in the registry (adults; children share a parent's)
OLD_ID_SHARE = 0.6  # citizens born before 2000 whose former CMND is in the registry
MIGRANT_SHARE = 0.18  # residence province differs from the ID's (birth-registration) province
TWIN_SHARE = 0.015  # households with >= 2 children whose first two children are twins
