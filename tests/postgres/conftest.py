from tests.royalties.fixtures import bob_key, license_, operator, voice  # noqa: F401 — shared fixtures
