"""Audit the locked dependencies (requirements.lock) for known vulnerabilities.

pip-audit first: it asks PyPI's JSON API for the advisories of each pinned
version (``/pypi/<name>/<version>/json``) and fails on any. Some machines
reach only part of that API: ``/pypi/<name>/json`` answers, the per-version
address does not, and pip-audit skips such a dependency instead of auditing
it. For those, when the pinned version is the project's latest release, the
project page's own ``vulnerabilities`` list (PyPI's advisories for the latest
release, from the same database) is that version's, and is used. Anything
left is listed as NOT AUDITED, never passed off as clean;
HAILONG_AUDIT_REQUIRED=1 makes that fail too.

    .venv/bin/python .ci/audit.py requirements.lock
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

PYPI = "https://pypi.org/pypi/{name}/json"


def pip_audit(lock: str) -> list[dict[str, Any]]:
    """pip-audit's report: one entry per locked dependency, ``vulns`` or ``skip_reason``."""
    tool = Path(sys.executable).with_name("pip-audit")
    # --no-deps: the lock lists every dependency, pinned; --disable-pip: audit
    # the file as written, not what pip would resolve today.
    run = subprocess.run(  # noqa: S603 -- our own venv's tool, fixed arguments
        [str(tool), "--requirement", lock, "--no-deps", "--disable-pip",
         "--format", "json", "--progress-spinner", "off"],
        capture_output=True, text=True, check=False)
    try:
        return json.loads(run.stdout)["dependencies"]
    except (json.JSONDecodeError, KeyError):
        sys.exit(f"pip-audit gave no report (exit status {run.returncode}):\n{run.stderr}")


def pinned(lock: str) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of the lock."""
    versions = {}
    for line in Path(lock).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            versions[canonicalize_name(requirement.name)] = spec.version
    return versions


def latest_release_vulns(name: str, version: str) -> list[dict[str, Any]] | None:
    """PyPI's advisories for ``name==version`` if that is the latest release, else None."""
    try:
        with urllib.request.urlopen(PYPI.format(name=name), timeout=15) as answer:  # noqa: S310
            project = json.load(answer)
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError):
        return None
    if Version(project["info"]["version"]) != Version(version):
        return None
    return [{"id": v["id"], "fix_versions": v.get("fixed_in") or []}
            for v in project.get("vulnerabilities") or [] if not v.get("withdrawn")]


def main(lock: str) -> int:
    dependencies = pip_audit(lock)
    versions = pinned(lock)
    for dep in dependencies:
        dep.setdefault("version", versions[canonicalize_name(dep["name"])])
    skipped = [dep for dep in dependencies if "skip_reason" in dep]
    with ThreadPoolExecutor(8) as pool:
        fallback = dict(zip((dep["name"] for dep in skipped), pool.map(
            lambda dep: latest_release_vulns(dep["name"], dep["version"]), skipped),
            strict=True))
    not_audited: list[str] = []
    vulnerable = 0
    for dep in dependencies:
        vulns = dep.get("vulns", [])
        if "skip_reason" in dep:
            found = fallback[dep["name"]]
            if found is None:
                not_audited.append(f"{dep['name']}=={dep['version']}")
                continue
            vulns = found
        for vuln in vulns:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
        vulnerable += bool(vulns)
    if not_audited:
        print(f"NOT AUDITED ({len(not_audited)}: PyPI gave no advisories for these "
              f"pinned versions here): {', '.join(not_audited)}")
    print(f"audit: {len(dependencies) - len(not_audited)} of {len(dependencies)} locked "
          f"dependencies audited, {vulnerable} with known vulnerabilities")
    if vulnerable:
        return 1
    return 1 if not_audited and os.environ.get("HAILONG_AUDIT_REQUIRED") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "requirements.lock"))
