"""Which ido this is: its version, from the installed package's metadata alone."""

from __future__ import annotations

from pathlib import Path

UNKNOWN = "0+unknown"
"""The version of an ido with no metadata and no pyproject.toml beside it to read."""


def installed_version() -> str:
    """The version pip installed (`importlib.metadata`); in a source tree not installed
    (its folder on `PYTHONPATH`), the one its pyproject.toml declares."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ido")
    except PackageNotFoundError:
        return _declared(Path(__file__).resolve().parent.parent / "pyproject.toml")


def _declared(pyproject: Path) -> str:
    """`project.version` of `pyproject`; `UNKNOWN` when it is not there, says none, or is
    another project's (an `ido` folder copied into an application's source tree, whose
    version is not ido's)."""
    import tomllib

    try:
        project = tomllib.loads(pyproject.read_text()).get("project", {})
    except (OSError, ValueError):
        return UNKNOWN
    if not isinstance(project, dict) or project.get("name") != "ido":
        return UNKNOWN
    declared = project.get("version")
    return declared if isinstance(declared, str) else UNKNOWN


__version__ = installed_version()
