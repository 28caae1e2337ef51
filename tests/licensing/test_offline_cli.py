"""`python -m verifier license` against the real server's JWKS, status and log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from licensing import services
from transparency import keys as log_keys
from verifier.cli import main as verifier_main

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_license_verifies_offline_and_then_shows_revoked(
    issued: Any, live_server: Any, tmp_path: Path, capsys: Any
) -> None:
    token = tmp_path / "license.jws"
    token.write_text(issued.jws)
    args = [
        "license",
        str(token),
        "--jwks",
        live_server.url + "/.well-known/jwks.json",
        "--log-url",
        live_server.url,
        "--verifier-key",
        log_keys.verifier_key(),
    ]
    assert verifier_main(args) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert issued.license_id in out and "valid" in out

    offline = verifier_main(
        ["license", str(token), "--jwks", live_server.url + "/.well-known/jwks.json"]
    )
    assert offline == 0 and "not checked" in capsys.readouterr().out

    services.license_revoke(actor=issued.voice.performer.user, license=issued, reason="breach")
    assert verifier_main(args) == 1
    assert "revoked" in capsys.readouterr().err
