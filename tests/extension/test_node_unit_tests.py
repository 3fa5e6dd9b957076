"""The extension's pure modules are tested with node's own test runner (extension/test/); this runs them in the suite."""

from __future__ import annotations

import shutil
import subprocess

from ..conftest import service_missing
from .conftest import EXTENSION_DIR


def node() -> str:
    path = shutil.which("node") or "/usr/bin/node"
    if not shutil.which(path):
        service_missing("node", "node is not installed")
    return path


def test_the_extension_unit_tests_pass_under_node():
    result = subprocess.run([node(), "--test", "test/"], cwd=EXTENSION_DIR, capture_output=True, text=True,
                            timeout=120)
    summary = [line for line in result.stdout.splitlines() if line.startswith("# ")]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert any(line.startswith("# pass ") and int(line.split()[2]) > 40 for line in summary), summary
    assert "# fail 0" in summary
