"""What crosses the registry port: a person to look up, and citizens as docs/formats.md §1 rows."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PersonQuery(BaseModel):
    """One person's details as a vaccination app or a dose record gives them (all may be dirty)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    full_name: str = Field(min_length=1, max_length=200)
    date_of_birth: str | None = Field(default=None, max_length=40)
    sex: str | None = Field(default=None, max_length=20)
    id_number: str | None = Field(default=None, max_length=40)
    phone: str | None = Field(default=None, max_length=40)
    province_code: str | None = Field(default=None, max_length=10)
    district_code: str | None = Field(default=None, max_length=10)
    ward_code: str | None = Field(default=None, max_length=10)


class RegistryPerson(BaseModel):
    """A citizen as the population registry knows them (docs/formats.md §1 fields)."""

    citizen_id: str
    full_name: str
    date_of_birth: str
    sex: str
    province_code: str
    district_code: str | None = None
    ward_code: str | None = None
    old_id: str | None = None
    phone: str | None = None


class CandidateAnswer(BaseModel):
    """The registry's answer: plausible citizens for a query, and how many citizens it holds."""

    candidates: list[RegistryPerson]
    registry_size: int
