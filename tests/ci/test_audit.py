"""``.ci/audit.py``: what CI says about the locked dependencies, without the
network (pip-audit's report and PyPI's project pages are stand-ins here)."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from survey.config import PROJECT_ROOT


@pytest.fixture
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_audit", PROJECT_ROOT / ".ci" / "audit.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: PyPI project pages as they answer here: the latest release and its advisories
#: (the shape of https://pypi.org/pypi/<name>/json, trimmed).
PAGES: dict[str, dict[str, Any]] = {
    "flask": {"info": {"version": "3.1.3"}, "vulnerabilities": []},
    "jinja2": {"info": {"version": "3.1.6"}, "vulnerabilities": [
        {"id": "GHSA-test-0001", "fixed_in": ["3.1.7"], "withdrawn": None},
        {"id": "GHSA-test-0002", "fixed_in": [], "withdrawn": "2026-01-01T00:00:00"}]},
    "redis": {"info": {"version": "8.1.0"}, "vulnerabilities": []},
}


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.lock"
    path.write_text("# made by a test\nFlask==3.1.3\n    # via hailong\njinja2==3.1.6\n"
                    "redis==7.4.1 ; python_full_version < '3.14'\n", encoding="utf-8")
    return path


@pytest.fixture
def offline_pypi(audit: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """pip-audit skips every pin (as here) and PyPI answers from PAGES."""
    def pip_audit(lock: str) -> list[dict[str, Any]]:
        return [{"name": name, "skip_reason": "Dependency not found on PyPI"}
                for name in ("flask", "jinja2", "redis")]

    def urlopen(url: str, timeout: float) -> io.BytesIO:
        return io.BytesIO(json.dumps(PAGES[url.split("/")[-2]]).encode())

    monkeypatch.setattr(audit, "pip_audit", pip_audit)
    monkeypatch.setattr(audit.urllib.request, "urlopen", urlopen)


def test_pins_are_read_from_the_lock(audit: ModuleType, lock: Path) -> None:
    assert audit.pinned(str(lock)) == {"flask": "3.1.3", "jinja2": "3.1.6", "redis": "7.4.1"}


@pytest.mark.usefixtures("offline_pypi")
def test_a_known_vulnerability_fails_and_an_old_pin_is_not_audited(
        audit: ModuleType, lock: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert audit.main(str(lock)) == 1
    out = capsys.readouterr().out
    assert "VULNERABLE jinja2 3.1.6: GHSA-test-0001 (fixed in 3.1.7)" in out
    assert "GHSA-test-0002" not in out  # withdrawn
    assert "NOT AUDITED (1: " in out
    assert "redis==7.4.1" in out
    assert "2 of 3 locked dependencies audited, 1 with known vulnerabilities" in out


@pytest.mark.usefixtures("offline_pypi")
def test_not_audited_passes_unless_required(
        audit: ModuleType, lock: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PAGES, "jinja2", {"info": {"version": "3.1.6"}, "vulnerabilities": []})
    assert audit.main(str(lock)) == 0
    monkeypatch.setenv("HAILONG_AUDIT_REQUIRED", "1")
    assert audit.main(str(lock)) == 1
