"""``mediapipe deploy``: the deployment files this mediapipe ships, wherever it is installed.

Owns: finding the ``deploy/`` files (inside the installed package as ``mediapipe.deploy``, or
the repository's ``deploy/`` in a source checkout), naming their sets (``systemd``, ``nixos``,
``prometheus``, ``grafana``, ``sysusers``, ``tmpfiles``, ``etc``: a top folder each, or its
sub-folder ``*.d``), and the commands ``deploy list``, ``deploy print NAME`` (a set, every file
with a ``# ==> path <==`` header, or one file by its path) and ``deploy path`` (the folder, for
``install`` and ``cp``). Does not own: what the files say (``deploy/``, checked by
``tests/test_deploy.py``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

__all__ = ["deploy_folder", "deploy_group", "files_of"]


def deploy_folder() -> Path:
    """The shipped ``deploy/`` folder: the installed package's, else the checkout's."""
    try:
        shipped = Path(str(resources.files("mediapipe.deploy")))
    except ModuleNotFoundError:
        shipped = None
    if shipped is not None and (shipped / "systemd").is_dir():
        return shipped
    return Path(__file__).resolve().parents[2] / "deploy"


def sets(folder: Path) -> dict[str, Path]:
    """Set name -> its folder: each top folder, ``foo.d`` also as ``foo``."""
    found: dict[str, Path] = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("_")):
        found[sub.name.removesuffix(".d")] = sub
    return found


def files_of(name: str, folder: Path | None = None) -> list[Path]:
    """The files a set holds, or the one file ``name`` is (a path relative to ``deploy/``)."""
    folder = folder or deploy_folder()
    named = sets(folder)
    if name in named:
        return sorted(p for p in named[name].rglob("*")
                      if p.is_file() and "__pycache__" not in p.parts)
    one = (folder / name).resolve()
    if one.is_file() and one.is_relative_to(folder.resolve()):
        return [one]
    raise click.BadParameter(f"no deployment set or file {name!r}; sets: {', '.join(named)}",
                             param_hint="NAME")


@click.group("deploy")
def deploy_group() -> None:
    """The systemd units, NixOS module, Prometheus rules and Grafana dashboard shipped here."""


@deploy_group.command("list")
def deploy_list() -> None:
    """Every set and the files it holds (paths relative to the deploy folder)."""
    folder = deploy_folder()
    for name in sets(folder):
        click.echo(f"{name}:")
        for path in files_of(name, folder):
            click.echo(f"  {path.relative_to(folder)}")


@deploy_group.command("print")
@click.argument("name")
def deploy_print(name: str) -> None:
    """Print a set (systemd, nixos, prometheus, grafana, sysusers, tmpfiles, etc) or one file.

    One file prints as it is (``mediapipe deploy print systemd/mediapipe-watch@.service >
    /etc/systemd/system/…``); a set prints each of its files after a ``# ==> path <==`` line."""
    folder = deploy_folder()
    files = files_of(name, folder)
    if len(files) == 1 and not (folder / name).is_dir():
        click.echo(files[0].read_text(), nl=False)
        return
    for path in files:
        click.echo(f"# ==> {path.relative_to(folder)} <==")
        click.echo(path.read_text(), nl=False)


@deploy_group.command("path")
def deploy_path() -> None:
    """The folder holding the deployment files (``cp -r "$(mediapipe deploy path)/systemd" …``)."""
    click.echo(str(deploy_folder()))
