"""The build step pyproject.toml can't declare: the wheel carries the Outlook add-in's web files.

They live once, in addin-manifest/src and addin-manifest/assets, outside the Python package. A checkout (and an
editable install) serves them from there; an installed wheel has no checkout beside it, so the build copies both
folders to mailbeacon/data/addin/ in the wheel, where web/addin_files.py looks first.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ADDIN = Path(__file__).resolve().parent / "addin-manifest"
ADDIN_FOLDERS = ("src", "assets")


class BuildPyWithAddin(build_py):
    def run(self):
        super().run()
        if self.editable_mode:
            return  # the editable package sits in the checkout, next to addin-manifest/
        target = Path(self.build_lib) / "mailbeacon" / "data" / "addin"
        for folder in ADDIN_FOLDERS:
            source = ADDIN / folder
            if not source.is_dir():
                raise SystemExit(f"{source} is missing: a wheel without the Outlook add-in would serve nothing")
            # Start afresh: a file deleted from the add-in must not linger from an earlier build in build/.
            shutil.rmtree(target / folder, ignore_errors=True)
            shutil.copytree(source, target / folder, ignore=shutil.ignore_patterns(".*"))


setup(cmdclass={"build_py": BuildPyWithAddin})
