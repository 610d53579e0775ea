"""The web edge of certificates: the REST API, the verifier page, the approval pages, dependencies."""
