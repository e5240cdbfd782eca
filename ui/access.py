"""Who may use the app: open on loopback, login required on any other address.

Users come from the environment (`RECO_USERS="alice:motdepasse,bob:autre"`) or a file
(`RECO_USERS_FILE`, one `utilisateur:mot de passe` per line) — never from the code.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path


class AccessError(RuntimeError):
    """The app must not start as configured (message in French, says what to set)."""


def is_loopback(host: str) -> bool:
    if host in {"localhost", ""}:
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse(lines: list[str], source: str) -> list[tuple[str, str]]:
    users = []
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, password = line.partition(":")
        if not sep or not name.strip() or not password:
            raise AccessError(f"{source}, entrée {number} : attendu « utilisateur:mot de passe ».")
        users.append((name.strip(), password))
    return users


def load_users(env: Mapping[str, str]) -> list[tuple[str, str]]:
    if env.get("RECO_USERS_FILE"):
        path = Path(env["RECO_USERS_FILE"])
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise AccessError(f"fichier d'utilisateurs illisible : {path} ({exc}).") from exc
        return _parse(lines, str(path))
    return _parse(env.get("RECO_USERS", "").split(","), "RECO_USERS")


def login_for(host: str, env: Mapping[str, str]) -> list[tuple[str, str]] | None:
    """None on loopback (no login); the users elsewhere, or AccessError if there are none."""
    if is_loopback(host):
        return None
    users = load_users(env)
    if not users:
        raise AccessError(
            f"l'application doit écouter sur {host}, hors de cette machine : une connexion "
            'est alors obligatoire. Définissez RECO_USERS="nom:motdepasse" ou '
            "RECO_USERS_FILE=chemin (une ligne « nom:motdepasse » par utilisateur), "
            "ou gardez GRADIO_SERVER_NAME=127.0.0.1."
        )
    return users
