"""The pure EU DCC core: payloads, COSE/CWT, HC1, UVCI, signing and verifying, FHIR, conformance.

Nothing here touches the store, the web or the command line (an import-linter contract checks it).
"""
