"""Live-photo pairs in the catalog are recomputed from what the files say now, every scan.

Each case scans a library of stills and MOVs (as ``SourceFile``s), records what the metadata
step read (the live-photo id, or none), pairs (``Catalog.link_live_photos``), then changes what
the files say and pairs again: a pair the files no longer make is undone, and the id is
normalised once, whichever reader gave it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mediapipe.formats import Kind
from mediapipe.identity import asset_id_for_path
from mediapipe.index.catalog import Catalog, State
from mediapipe.index.scan import SourceFile
from mediapipe.metadata.model import MediaInfo, live_photo_key

ID_A = "8E0E1A39-6C7B-4B43-9B3C-5D0C9E2A0F11"
ID_B = "1D2C3B4A-0000-4000-8000-00000000AAAA"


@pytest.fixture
def catalog(media_root: Path) -> Iterator[Catalog]:
    with Catalog.open(media_root) as cat:
        yield cat


class Library:
    """A library as the catalog sees it: which files a scan finds, and what each one says."""

    def __init__(self, cat: Catalog, root: Path) -> None:
        self.cat, self.root = cat, root
        self.files: dict[str, str | None] = {}  # name -> live-photo id its metadata reads

    def path(self, name: str) -> str:
        return str(self.root / name)

    def scan(self, **says: str | None) -> None:
        """Files ``says`` names are there (now saying that id); the others gone; then pair."""
        self.files = dict(says)
        self.cat.diff([SourceFile(self.path(n), 1, len(str(i)),
                                  Kind.VIDEO if n.endswith(".mov") else Kind.IMAGE)
                       for n, i in self.files.items()], root=str(self.root))
        for name, content_id in self.files.items():
            info = MediaInfo(self.path(name), "image", "image/jpeg", 1, live_photo_id=content_id)
            self.cat.record_result(asset_id_for_path(self.path(name)), "metadata", State.DONE,
                                   info=info, facts={"live_photo_id": content_id})
        self.cat.link_live_photos()

    def row(self, name: str) -> tuple[str | None, bool, str | None]:
        """(linked video's file name, hidden, stored id) of one source."""
        [(linked, hidden, stored)] = self.cat.rows(
            "SELECT linked_video, hidden, live_photo_id FROM sources WHERE asset_id = ?",
            (asset_id_for_path(self.path(name)),))
        names = {asset_id_for_path(self.path(n)): n for n in ("a.mov", "b.mov", "c.mov")}
        return names.get(linked, linked), bool(hidden), stored


@pytest.fixture
def lib(catalog: Catalog, tmp_path: Path) -> Library:
    return Library(catalog, tmp_path / "lib")


def test_a_still_and_its_mov_are_paired(lib: Library) -> None:
    lib.scan(**{"still.jpg": ID_A, "a.mov": ID_A})
    assert lib.row("still.jpg")[:2] == ("a.mov", False)
    assert lib.row("a.mov")[:2] == (None, True)


def test_a_still_whose_id_changes_leaves_its_old_mov_and_pairs_with_the_new(
        lib: Library) -> None:
    lib.scan(**{"still.jpg": ID_A, "a.mov": ID_A, "b.mov": ID_B})
    lib.scan(**{"still.jpg": ID_B, "a.mov": ID_A, "b.mov": ID_B})
    assert lib.row("still.jpg")[0] == "b.mov"
    assert (lib.row("a.mov")[1], lib.row("b.mov")[1]) == (False, True)


def test_a_still_that_loses_its_id_is_unpaired_and_its_mov_shown(lib: Library) -> None:
    lib.scan(**{"still.jpg": ID_A, "a.mov": ID_A})
    lib.scan(**{"still.jpg": None, "a.mov": ID_A})
    assert lib.row("still.jpg")[0] is None
    assert lib.row("a.mov")[1] is False


def test_a_deleted_still_shows_its_online_mov_again(lib: Library) -> None:
    lib.scan(**{"still.jpg": ID_A, "a.mov": ID_A})
    lib.scan(**{"a.mov": ID_A})  # the still is gone: offline
    assert lib.row("a.mov")[1] is False
    assert lib.row("still.jpg")[0] is None


def test_a_mov_gone_offline_unlinks_its_still_and_a_returning_one_pairs_again(
        lib: Library) -> None:
    lib.scan(**{"still.jpg": ID_A, "a.mov": ID_A})
    lib.scan(**{"still.jpg": ID_A})
    assert lib.row("still.jpg")[0] is None
    lib.scan(**{"still.jpg": ID_A, "a.mov": ID_A})
    assert lib.row("still.jpg")[0] == "a.mov" and lib.row("a.mov")[1] is True


def test_one_still_with_two_movs_hides_only_the_one_it_links(lib: Library) -> None:
    lib.scan(**{"still.jpg": ID_A, "a.mov": ID_A, "b.mov": ID_A})
    linked = lib.row("still.jpg")[0]
    other = "b.mov" if linked == "a.mov" else "a.mov"
    assert lib.row(linked)[1] is True  # type: ignore[arg-type]
    assert lib.row(other)[1] is False, "a MOV linked to nothing must stay visible"


def test_a_motion_photos_link_is_the_motion_steps_and_survives_pairing(lib: Library) -> None:
    lib.scan(**{"still.jpg": None})
    part = "6f1d8c8e-0000-5000-8000-000000000000"  # not a catalogued video: a motion part
    lib.cat.record_result(asset_id_for_path(lib.path("still.jpg")), "motion", State.DONE,
                          facts={"linked_video": part})
    lib.scan(**{"still.jpg": None})
    assert lib.row("still.jpg")[0] == part


@pytest.mark.parametrize(("still_says", "mov_says", "paired"), [
    ("   ", "   ", False),  # spaces are no id: never paired, both stored as none
    ("", "   ", False),
    (f" {ID_A}\n", ID_A, True),  # white space around an id is not part of it
], ids=["spaces-both", "empty-and-spaces", "padded"])
def test_the_id_is_normalised_once_whichever_reader_gave_it(
        lib: Library, still_says: str, mov_says: str, paired: bool) -> None:
    lib.scan(**{"still.jpg": still_says, "a.mov": mov_says})
    assert lib.row("still.jpg")[2] == lib.row("a.mov")[2] == live_photo_key(mov_says)
    assert (lib.row("still.jpg")[0] == "a.mov") is paired
    assert lib.row("a.mov")[1] is paired


def test_ids_stored_before_the_normalisation_are_normalised_by_the_next_pairing(
        lib: Library) -> None:
    lib.scan(**{"still.jpg": ID_A, "a.mov": ID_A})
    with lib.cat._transaction():  # as an older mediapipe stored them
        lib.cat._db.execute("UPDATE sources SET live_photo_id = '   ', linked_video = NULL, "
                            "hidden = 0")
    lib.cat.link_live_photos()
    assert lib.row("still.jpg")[2] is None and lib.row("a.mov")[2] is None


@pytest.mark.parametrize(("value", "key"), [
    (ID_A, ID_A), (f"\t{ID_A} ", ID_A), ("   ", None), ("", None), (None, None), (7, None),
])
def test_live_photo_key(value: object, key: str | None) -> None:
    assert live_photo_key(value) == key


def test_the_readers_give_the_id_normalised_too(tmp_path: Path) -> None:
    """``info --json`` shows what the catalog keeps: an id of spaces is no id there either."""
    from fixtures import live
    from mediapipe.metadata.read import read_metadata

    still = live.live_still(tmp_path / "a.jpg", f"  {ID_A} ")
    mov = live.live_video(tmp_path / "a.mov", "   ")
    assert read_metadata(still).live_photo_id == ID_A
    assert read_metadata(mov).live_photo_id is None
