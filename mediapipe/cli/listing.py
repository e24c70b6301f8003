"""``mediapipe ls``: the assets of a media root as the catalog records them.

Owns: the command's options and its output: one line per asset (a mark for failed, hidden and
linked ones, the path, the kind, the error), or with ``--json`` one array of objects with at
least ``path``, ``library``, ``asset_id``, ``kind``, ``hidden``, ``linked_video``,
``thumbhash``, ``failed`` and ``error``; the text line names the library (``[photos]``, its
folder's name) where the media root holds more than one; a name that is not UTF-8 also
``path_bytes`` (``shown.json_names``). Each text line is one asset: control characters in a
name are escaped (``shown.shown``). Does not own: the query (``index.listing``).
"""

from __future__ import annotations

import click

from mediapipe.cli.context import AppContext, emit_json, json_option, media_root_option, pass_app
from mediapipe.shown import shown

__all__ = ["ls"]


@click.command("ls")
@media_root_option
@click.option("--failed", is_flag=True, help="Only assets with a failed step.")
@click.option("--kind", type=click.Choice(["image", "video"]), default=None,
              help="Only images or only videos.")
@click.option("--under", type=click.Path(file_okay=False), default=None,
              help="Only sources below this folder (one library of the media root).")
@json_option
@pass_app
def ls(app: AppContext, media_root: str | None, failed: bool, kind: str | None,
       under: str | None, as_json: bool) -> None:
    """List the assets the catalog knows: what each has, and what failed."""
    import os

    from mediapipe.index.catalog import Catalog
    from mediapipe.index.listing import listing

    with Catalog.open(app.media_root(media_root), read_only=True) as cat:
        items = list(listing(cat, failed=failed, kind=kind,
                             under=os.path.abspath(under) if under else None))
    if as_json:
        emit_json([item.to_dict() for item in items])
        return
    several = len({item.library for item in items}) > 1
    for item in items:
        marks = ("F" if item.failed else "-") + ("H" if item.hidden else "-") + \
                ("L" if item.linked_video else "-") + ("-" if item.online else "O")
        named = f"[{os.path.basename(item.library or '') or '-'}] " if several else ""
        line = f"{marks} {item.kind:5} {named}{item.path}"
        if item.error:
            line += f"  [{item.error_stage}] {item.error}"
        if item.warnings:  # made despite a problem, or made another way (an NVENC fallback)
            line += "  warning: " + "; ".join(item.warnings)
        click.echo(shown(line))
