"""One settings object: every ``OFFICE_*`` variable is declared once in ``office.config``, the README
table is that declaration, nothing else reads the environment, and the domains take their values from
the running app's settings."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from office.app import DOMAIN_PACKAGES, create_app
from office.config import VARIABLES, ConfigError, Settings, load_settings, readme_table
from tests.esign.svc import enrol
from tests.factories import login, make_org, new_client
from tests.messaging.helpers import group

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("office", *DOMAIN_PACKAGES)


def _sources() -> list[Path]:
    return [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py")) if "migrations" not in p.parts]


def test_the_readme_table_is_the_declaration() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("| variable | default | meaning |")
    table = readme[start : readme.index("\n\n", start) + 1]
    assert table == readme_table(), "README settings table differs: paste `python -m office.config` over it"
    names = [v.name for v in VARIABLES]
    assert len(names) == len(set(names)) and all(re.fullmatch(r"OFFICE_[A-Z0-9_]+", n) for n in names)


def _environment_reads(source: str) -> list[str]:
    """``os.environ.get(...)``, ``os.getenv(...)`` and ``os.environ[...]`` reads in a module."""
    found: list[str] = []
    if "environ" not in source and "getenv" not in source:
        return found  # no read can be spelt without these words: most modules need no parse
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call | ast.Subscript):
            text = ast.unparse(node)
            call = isinstance(node, ast.Call) and text.startswith(("os.environ.get(", "os.getenv(", "environ.get("))
            item = isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and "environ[" in text
            if call or item:
                found.append(f"{node.lineno}: {text[:80]}")
    return found


def _office_names(source: str) -> list[str]:
    """``OFFICE_*`` names written in the module's strings and docstrings (a family as ``OFFICE_CHAT_*``)."""
    if "OFFICE_" not in source:
        return []  # the tokens' text is the source's: nothing to find, no need to tokenize
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [n for t in tokens if t.type == tokenize.STRING for n in re.findall(r"OFFICE_[A-Z0-9_]+\*?", t.string)]


def test_no_module_reads_the_environment_and_every_office_name_is_declared() -> None:
    declared = {v.name for v in VARIABLES}

    def known(name: str) -> bool:
        return name in declared or (name.endswith("_*") and any(d.startswith(name[:-1]) for d in declared))

    readers, undeclared = [], []
    for path in _sources():
        rel, source = path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")
        if rel != "office/config.py":
            readers += [f"{rel}:{r}" for r in _environment_reads(source)]
        undeclared += [f"{rel}: {n}" for n in _office_names(source) if not known(n)]
    assert not readers, "read settings from office.config, not the environment:\n" + "\n".join(readers)
    assert not undeclared, "OFFICE_* names that office.config does not declare:\n" + "\n".join(undeclared)


def test_chat_and_esign_variables_are_read_like_the_others(tmp_path: Path) -> None:
    env = {
        "OFFICE_CHAT_RECALL_SECONDS": "5",
        "OFFICE_CHAT_RATE_PER_SECOND": "2.5",
        "OFFICE_CHAT_ALLOWED_TYPES": " PNG, pdf ,,",
        "OFFICE_ESIGN_ALG": "SM2-SM3",
        "OFFICE_ESIGN_MASTER_KEY": "ab" * 32,
        "OFFICE_CHAT_GROUP_LIMIT": "",  # empty: the default
    }
    s = load_settings(env, data_dir=tmp_path)
    assert (s.chat_recall_seconds, s.chat_rate_per_second, s.chat_allowed_types) == (5, 2.5, ("png", "pdf"))
    assert (s.esign_alg, s.esign_master_key, s.chat_group_limit) == ("SM2-SM3", "ab" * 32, 2_000)
    assert s.esign_master_key not in repr(s) and s.secret_key not in repr(s)
    with pytest.raises(ConfigError) as info:
        load_settings({"OFFICE_CHAT_MAX_TEXT": "lots"}, data_dir=tmp_path)
    assert "OFFICE_CHAT_MAX_TEXT" in info.value.message and "整数" in info.value.message


def test_messaging_and_esign_take_their_values_from_the_app_settings(settings: Settings) -> None:
    changed = replace(settings, chat_max_text=5, esign_alg="SM2-SM3")
    with TestClient(create_app(changed)) as main:
        org = make_org(main.app.state.db)  # type: ignore[attr-defined]
        cid = group(org, "hamlet", "组", ["ophelia"])
        hamlet = new_client(main.app)
        login(hamlet, "hamlet")
        url = f"/api/messages/conversations/{cid}/messages"
        assert hamlet.post(url, json={"text": "五个字正好"}).status_code == 201
        r = hamlet.post(url, json={"text": "六个字就多了"})
        assert (r.status_code, r.json()["error"]) == (422, "text_too_long") and "5" in r.json()["message"]
        pytest.importorskip("tongsuopy", reason="the SM2 backend (extra sm2) is not installed")
        enrol(org, "hamlet")
        assert hamlet.get("/api/esign/me").json()["alg"] == "SM2-SM3"
