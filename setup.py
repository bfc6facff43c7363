"""Packs the harness's non-Python parts into the wheel (the rest is in pyproject.toml).

The board files, firmware sources (with its PlatformIO platform), the QEMU plugin source and the
model catalogue live at the top of the repository, where the README documents them; a wheel
carries them as package data under `harness/_data/`, where `harness.resources` finds them.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA_FOLDERS = {"boards": "boards", "firmware": "firmware", "qemu_plugin": "tools/qemu_plugin", "models": "models"}
SKIP = shutil.ignore_patterns(".pio", "__pycache__", "*.pyc")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads the checkout itself
            return
        for name, source in DATA_FOLDERS.items():
            target = Path(self.build_lib) / "harness" / "_data" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ROOT / source, target, ignore=SKIP)


setup(cmdclass={"build_py": BuildPyWithData})
