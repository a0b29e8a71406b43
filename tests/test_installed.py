"""Which ido this is: `ido.__version__`, `ido --version` and the runner's first line agree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ido.installed import UNKNOWN, _declared

ASKED = (
    "import importlib.metadata as m; m.version = lambda name: '1.4.0'; import ido; "
    "print(ido.__version__)"
)


def test_ido_version_is_the_installed_packages() -> None:
    """`ido.__version__` said 0.1.0 whatever was installed, while `ido --version` and the
    runner named the installed package's metadata: it is now that version too."""
    done = subprocess.run(
        [sys.executable, "-c", ASKED], capture_output=True, text=True, check=False
    )
    assert done.stdout.strip() == "1.4.0", done.stderr


NOT_INSTALLED = (
    "import importlib.metadata as m\n"
    "def version(name):\n"
    "    raise m.PackageNotFoundError(name)\n"
    "m.version = version\n"
    "import ido\n"
    "print(ido.__version__)\n"
    "from ido.cli import main\n"
    "import sys; sys.argv = ['ido', '--version']; main()\n"
)


def test_a_source_tree_not_installed_says_the_version_its_pyproject_declares() -> None:
    """An ido run from its source tree, with no metadata, failed `ido --version` with a
    traceback (PackageNotFoundError); it now says the version pyproject.toml declares."""
    done = subprocess.run(
        [sys.executable, "-c", NOT_INSTALLED], capture_output=True, text=True, check=False
    )
    root = Path(__file__).resolve().parents[1]
    declared = _declared(root / "pyproject.toml")
    assert declared != UNKNOWN
    assert done.stdout.splitlines() == [declared, f"ido {declared}"], done.stderr


def test_no_pyproject_to_read_is_an_unknown_version(tmp_path: Path) -> None:
    assert _declared(tmp_path / "pyproject.toml") == UNKNOWN
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'ido'\n")
    assert _declared(tmp_path / "pyproject.toml") == UNKNOWN


def test_another_projects_pyproject_is_not_read_as_idos_version(tmp_path: Path) -> None:
    """An `ido` folder copied into an application's source tree said the application's
    version (the pyproject.toml beside it) was ido's: only ido's own is read now."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'shop'\nversion = '9.9'\n")
    assert _declared(tmp_path / "pyproject.toml") == UNKNOWN
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'ido'\nversion = '1.2'\n")
    assert _declared(tmp_path / "pyproject.toml") == "1.2"
