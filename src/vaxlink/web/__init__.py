"""The web edge: FastAPI app factory; domains contribute routers, no business rules live here."""
