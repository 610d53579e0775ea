"""The registry port over HTTP: the national population database (or `vaxlink registry serve`)."""

from __future__ import annotations

import httpx

from vaxlink.registry.errors import RegistryUnavailable
from vaxlink.registry.schemas import CandidateAnswer, PersonQuery, RegistryPerson


class HttpRegistry:
    """Asks a registry service; network and protocol failures become RegistryUnavailable."""

    def __init__(
        self, base_url: str, *, timeout: float = 2.0, client: httpx.Client | None = None
    ) -> None:
        self._client = client or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)

    def candidates(self, query: PersonQuery) -> CandidateAnswer:
        """POST /v1/candidates."""
        try:
            r = self._client.post("/v1/candidates", json=query.model_dump())
            r.raise_for_status()
            return CandidateAnswer.model_validate(r.json())
        except (httpx.HTTPError, ValueError) as exc:
            raise RegistryUnavailable(f"the population registry did not answer: {exc}") from exc

    def get(self, citizen_id: str) -> RegistryPerson | None:
        """GET /v1/citizens/{id}."""
        try:
            r = self._client.get(f"/v1/citizens/{citizen_id}")
            if r.status_code == 404:
                return None
            r.raise_for_status()
            return RegistryPerson.model_validate(r.json())
        except (httpx.HTTPError, ValueError) as exc:
            raise RegistryUnavailable(f"the population registry did not answer: {exc}") from exc

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()
