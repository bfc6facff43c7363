"""Where the harness finds its own files and where it builds (harness/resources.py, harness/build.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import build, resources
from harness.boards import load_board


def test_a_checkout_finds_its_folders():
    assert (resources.builtin_boards_dir() / "nucleo_f746.yaml").is_file()
    assert (resources.firmware_dir() / "platformio.ini").is_file()
    assert (resources.qemu_plugin_dir() / "insn_regions.c").is_file()
    assert (resources.models_dir() / "tiny_conv").is_dir()


def test_an_installed_copy_is_preferred(tmp_path, monkeypatch):
    (tmp_path / "boards").mkdir()
    monkeypatch.setattr(resources, "INSTALLED_DATA", tmp_path)
    assert resources.builtin_boards_dir() == tmp_path / "boards"
    assert resources.firmware_dir() == resources.CHECKOUT_ROOT / "firmware"  # not in this copy


def test_builds_go_to_hil_build_dir_else_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_BUILD_DIR", str(tmp_path / "b"))
    assert resources.build_root() == tmp_path / "b"
    monkeypatch.delenv("HIL_BUILD_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    if resources.sys.platform.startswith("linux"):
        assert resources.build_root() == tmp_path / "cache" / "hil" / "build"
    project = build.project_dir("nucleo_f746_qemu", [])
    assert resources.build_root() in project.parents
    assert resources.firmware_dir() not in project.parents and resources.PACKAGE_DIR not in project.parents


def _tree(root: Path, text: str) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "main.c").write_text(text)
    return root


def test_build_key_separates_versions_sources_places_and_flags(tmp_path, monkeypatch):
    tree = _tree(tmp_path / "a", "int main;")
    key = resources.build_key([tree], [])
    assert key == resources.build_key([tree], [])
    assert key != resources.build_key([tree], ["-DHIL_BALLAST_RAM_BYTES=4096"])
    assert key != resources.build_key([_tree(tmp_path / "copy", "int main;")], [])  # another copy
    monkeypatch.setattr(resources, "__version__", "9.9.9")
    assert key != resources.build_key([tree], [])
    monkeypatch.undo()
    _tree(tree.parent / "a", "int main2;")
    assert key != resources.build_key([tree], [])


def test_the_generated_project_points_at_the_sources_and_names_the_board_file():
    board = load_board("nucleo_f746")
    firmware = resources.firmware_dir()
    ini = build.project_ini(board, "qemu", "nucleo_f746_qemu", firmware, ["-DX=1"])
    assert f"src_dir = {firmware / 'src'}" in ini and f"custom_board_file = {board.path}" in ini
    assert "build_flags = -DX=1" in ini and f"custom_flags_digest = {build.flags_digest(['-DX=1'])}" in ini
    assert "build_flags" not in build.project_ini(board, "qemu", "nucleo_f746_qemu", firmware, [])


@pytest.mark.parametrize("name", ["boards", "firmware", "qemu_plugin", "models"])
def test_setup_py_ships_every_data_folder(name):
    text = (resources.CHECKOUT_ROOT / "setup.py").read_text()
    assert f'"{name}": "{resources.DATA_FOLDERS[name]}"' in text
    manifest = (resources.CHECKOUT_ROOT / "MANIFEST.in").read_text()
    assert f"graft {resources.DATA_FOLDERS[name]}" in manifest
