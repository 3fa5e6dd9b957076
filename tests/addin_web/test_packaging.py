"""An installed package has no checkout beside it: its build carries the add-in's web files, and it serves them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from mailbeacon.web.addin_files import web_files

REPO = Path(__file__).resolve().parents[2]
# What setup.py needs to build the package: the project files, the package and the add-in it copies in.
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "backend", "addin-manifest")
SERVED_FROM_PACKAGE = """
import hashlib, json
from mailbeacon.web.addin_files import addin_root, web_files
print(json.dumps({"root": str(addin_root()),
                  "files": {name: hashlib.sha256(f.body).hexdigest() for name, f in web_files().items()}}))
"""


def build_package(tree: Path, build_lib: Path) -> None:
    """setup.py's build_py, in a copy of the project (the build writes egg-info next to the package)."""
    tree.mkdir()
    for name in BUILD_INPUTS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, tree / name)
    done = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(build_lib)], cwd=tree,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_built_package_serves_the_same_add_in_files_as_the_checkout_with_the_checkout_gone(tmp_path):
    installed = tmp_path / "site-packages"
    build_package(tmp_path / "project", installed)
    shutil.rmtree(tmp_path / "project")
    assert not (installed / "mailbeacon" / "data" / "addin" / "src" / "commands" / "commands.js").exists()

    done = subprocess.run([sys.executable, "-c", SERVED_FROM_PACKAGE], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(installed)})
    assert done.returncode == 0, done.stderr[-3000:]
    served = json.loads(done.stdout)
    assert served["root"] == str(installed / "mailbeacon" / "data" / "addin")
    assert served["files"] == {name: hashlib.sha256(f.body).hexdigest() for name, f in web_files().items()}
