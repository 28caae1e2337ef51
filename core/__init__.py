"""The ground floor: what every app uses, and nothing that knows any app.

Problem responses, strict parsing, pagination, throttling, months, idempotency of
requests, admin bases. Imports Django, DRF and ``verifier`` only.
"""
