"""Start-up configuration: production refuses to start without its secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from timbre.env import ConfigError, env_bool, env_int, env_str
from transparency.keys import write_new_key

ROOT = Path(__file__).resolve().parents[2]


def log_key(folder: Path) -> str:
    folder.mkdir(exist_ok=True)
    write_new_key(folder / "log.pem")
    return str(folder / "log.pem")


def c2pa_files(folder: Path) -> dict[str, str]:
    from credentials import identity

    folder.mkdir(exist_ok=True)
    paths = {
        "TIMBRE_C2PA_KEY_FILE": folder / "c2pa-signer.pem",
        "TIMBRE_C2PA_CHAIN_FILE": folder / "c2pa-chain.pem",
        "TIMBRE_C2PA_ROOT_FILE": folder / "c2pa-root.pem",
    }
    identity.write(
        identity.generate().identity,
        key_file=paths["TIMBRE_C2PA_KEY_FILE"],
        chain_file=paths["TIMBRE_C2PA_CHAIN_FILE"],
        root_file=paths["TIMBRE_C2PA_ROOT_FILE"],
    )
    return {name: str(path) for name, path in paths.items()}


def start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "TIMBRE_",
                "DJANGO_",
                "DEBUG",
                "SECRET_KEY",
                "DATABASE_URL",
                "ALLOWED_HOSTS",
                "STRIPE_",
            )
        )
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "timbre.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_without_a_secret_key_stops_naming_it(tmp_path: Path) -> None:
    result = start(
        {"DEBUG": "0", "ALLOWED_HOSTS": "timbre.example", "TIMBRE_VAR_DIR": str(tmp_path)}
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_without_allowed_hosts_stops(tmp_path: Path) -> None:
    result = start({"DEBUG": "0", "SECRET_KEY": "x" * 50, "TIMBRE_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0 and "ALLOWED_HOSTS must be set" in result.stderr


def test_stripe_without_a_webhook_secret_stops(tmp_path: Path) -> None:
    result = start(
        {
            "DEBUG": "0",
            "SECRET_KEY": "x" * 50,
            "ALLOWED_HOSTS": "a",
            "STRIPE_SECRET_KEY": "sk_test_1",
            "TIMBRE_LOG_KEY_FILE": log_key(tmp_path),
            "TIMBRE_LICENSE_KEY_FILE": log_key(tmp_path / "license"),
            **c2pa_files(tmp_path / "c2pa"),
            "TIMBRE_VAR_DIR": str(tmp_path),
        }
    )
    assert result.returncode != 0 and "STRIPE_WEBHOOK_SECRET must be set" in result.stderr


def test_production_without_a_log_key_stops(tmp_path: Path) -> None:
    env = {"DEBUG": "0", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "a"}
    env["TIMBRE_VAR_DIR"] = str(tmp_path)
    result = start(env)
    assert result.returncode != 0 and "TIMBRE_LOG_KEY_FILE must be set" in result.stderr
    result = start({**env, "TIMBRE_LOG_KEY_FILE": str(tmp_path / "absent.pem")})
    assert result.returncode != 0 and "absent.pem does not exist" in result.stderr


def test_production_with_its_secrets_starts(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s" * 50 + "\n")
    result = start(
        {
            "DEBUG": "0",
            "SECRET_KEY_FILE": str(secret),
            "ALLOWED_HOSTS": "timbre.example",
            "TIMBRE_VAR_DIR": str(tmp_path),
            "TIMBRE_LOG_KEY_FILE": log_key(tmp_path),
            "TIMBRE_LICENSE_KEY_FILE": log_key(tmp_path / "license"),
            **c2pa_files(tmp_path / "c2pa"),
        }
    )
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_development_starts_with_no_configuration(tmp_path: Path) -> None:
    result = start({"DEBUG": "1", "TIMBRE_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr


def test_a_malformed_value_is_named(tmp_path: Path) -> None:
    result = start({"DEBUG": "maybe", "TIMBRE_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0 and "DEBUG='maybe' is not a boolean" in result.stderr


def test_typed_helpers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("T_INT", "12")
    assert env_int("T_INT", 1) == 12
    monkeypatch.setenv("T_INT", "twelve")
    with pytest.raises(ConfigError, match="T_INT='twelve' is not an integer"):
        env_int("T_INT", 1)
    monkeypatch.setenv("T_INT", "-1")
    with pytest.raises(ConfigError, match="below the minimum"):
        env_int("T_INT", 1, minimum=0)
    monkeypatch.setenv("T_BOOL", "yes")
    assert env_bool("T_BOOL", False) is True
    secret = tmp_path / "s"
    secret.write_text("from-file\n")
    monkeypatch.setenv("T_STR", "plain")
    monkeypatch.setenv("T_STR_FILE", str(secret))
    assert env_str("T_STR") == "from-file"
    monkeypatch.setenv("T_STR_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="T_STR_FILE"):
        env_str("T_STR")


def test_dns_nameservers_are_host_port_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    from timbre.env import env_host_ports

    monkeypatch.setenv("TIMBRE_DNS_NAMESERVERS", "10.0.0.2:5353, 10.0.0.3,[2001:db8::1]:53")
    assert env_host_ports("TIMBRE_DNS_NAMESERVERS", default_port=53) == [
        ("10.0.0.2", 5353),
        ("10.0.0.3", 53),
        ("2001:db8::1", 53),
    ]
    monkeypatch.delenv("TIMBRE_DNS_NAMESERVERS")
    assert env_host_ports("TIMBRE_DNS_NAMESERVERS", default_port=53) == []
    for bad in ("10.0.0.2:dns", "10.0.0.2:70000", "2001:db8::1", "[::1]x", ":53"):
        monkeypatch.setenv("TIMBRE_DNS_NAMESERVERS", bad)
        with pytest.raises(ConfigError, match="TIMBRE_DNS_NAMESERVERS"):
            env_host_ports("TIMBRE_DNS_NAMESERVERS", default_port=53)
