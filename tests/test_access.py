"""Binding and login rules of the app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ui.access import AccessError, is_loopback, login_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_needs_no_login(host):
    assert is_loopback(host)
    assert login_for(host, {}) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.org", ""])
def test_other_addresses_require_users(host):
    assert not is_loopback(host)
    with pytest.raises(AccessError, match="RECO_USERS"):
        login_for(host, {})


def test_users_from_environment_and_file(tmp_path):
    assert login_for("0.0.0.0", {"RECO_USERS": "alice:secret, bob:autre"}) == [
        ("alice", "secret"),
        ("bob", "autre"),
    ]
    users = tmp_path / "users.txt"
    users.write_text("# équipe\ncarla:mot:de:passe\n", encoding="utf-8")
    assert login_for("0.0.0.0", {"RECO_USERS_FILE": str(users)}) == [("carla", "mot:de:passe")]


def test_malformed_users_are_refused(tmp_path):
    with pytest.raises(AccessError, match="utilisateur:mot de passe"):
        login_for("0.0.0.0", {"RECO_USERS": "alice"})
    with pytest.raises(AccessError, match="illisible"):
        login_for("0.0.0.0", {"RECO_USERS_FILE": str(tmp_path / "absent.txt")})


def test_app_refuses_a_public_address_without_login():
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECO_USERS")}
    env["GRADIO_SERVER_NAME"] = "0.0.0.0"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "connexion" in proc.stderr and "RECO_USERS" in proc.stderr


@pytest.mark.parametrize(("raw", "expected"), [("", 2), ("1", 1), (" 4 ", 4), ("40", 40)])
def test_queue_concurrency_from_the_environment(raw, expected):
    import app

    assert app.concurrency({"RECO_CONCURRENCY": raw}) == expected
    assert app.concurrency({}) == app.DEFAULT_CONCURRENCY


@pytest.mark.parametrize("raw", ["0", "41", "-1", "deux", "2.5"])
def test_bad_queue_concurrency_is_a_french_error(raw):
    import app

    with pytest.raises(ValueError, match="RECO_CONCURRENCY vaut"):
        app.concurrency({"RECO_CONCURRENCY": raw})


def test_the_app_preloads_each_query_encoder_and_survives_a_missing_model(monkeypatch, caplog):
    import app
    from embeddings import EncoderUnavailable

    prepared: list[str] = []

    class Ready:
        def __init__(self, spec: str) -> None:
            self.spec = spec

        def prepare_queries(self) -> None:
            prepared.append(self.spec)

    def encoder_for(spec, models_dir=None):
        if spec == "absent":
            raise EncoderUnavailable("le modèle n'existe pas encore")
        return Ready(spec)

    monkeypatch.setenv("RECO_ENCODERS", "absent,e5-adapted")
    monkeypatch.setattr(app, "get_encoder", encoder_for)
    with caplog.at_level("INFO", logger="reco.app"):
        app.preload_query_encoders().join(timeout=10)
    assert prepared == ["e5-adapted"]
    assert "absent not preloaded" in caplog.text
