from tests.royalties.conftest import bob_key, license_, operator, voice  # noqa: F401 — shared fixtures
