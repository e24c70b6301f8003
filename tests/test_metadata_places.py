"""Place names at a photo's position, offline: the city, state and country Immich fills.

The rule (``metadata.places``): the place whose population-scaled extent the point is most
inside, so a point in a metropolis is in it, not in the ward or village whose centre happens to
be nearest (Immich issues 8941, 17905, 31157); no place at sea or far from any town."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from fixtures import images, videos
from mediapipe.metadata import places
from mediapipe.metadata.daterules import ReadOptions
from mediapipe.metadata.read import read_metadata

# (id, position) -> city, state, country; None: no place
PLACES = [
    ("paris-notre-dame", (48.8530, 2.3499), ("Paris", "Île-de-France", "France")),
    # 1 km from Eifuku's centre (15,000 people), 4 km from Tokyo's: Tokyo, as a user expects
    ("tokyo-suginami", (35.6762, 139.6503), ("Tokyo", "Tokyo", "Japan")),
    ("london-westminster", (51.5007, -0.1246), ("London", "England", "United Kingdom")),
    ("new-york-lower-manhattan", (40.7100, -74.0000),
     ("New York City", "New York", "United States")),
    ("sydney-harbour", (-33.8568, 151.2153), ("Sydney", "New South Wales", "Australia")),
    # a town beside a metropolis keeps its own name where the point is in it
    ("versailles-chateau", (48.8049, 2.1204), ("Versailles", "Île-de-France", "France")),
    ("south-of-the-date-line-fiji", (-18.1416, 178.4419), ("Suva", "Central", "Fiji")),
    ("mid-atlantic", (45.0, -30.0), None),
    ("ligurian-sea", (43.5, 8.5), None),
    ("everest-summit", (27.9881, 86.9250), None),
    ("null-island", (0.0, 0.0), None),
]


@pytest.mark.parametrize(("position", "expected"), [c[1:] for c in PLACES],
                         ids=[c[0] for c in PLACES])
def test_the_place_at_a_position(position: tuple[float, float],
                                 expected: tuple[str, str, str] | None) -> None:
    found = places.place_at(*position)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert (found.city, found.state, found.country) == expected
        assert found.distance_km <= places.REACH_KM


@pytest.mark.parametrize("position", [(None, 2.0), (48.0, None), (91.0, 0.0), (0.0, 181.0),
                                      (float("nan"), 2.0)],
                         ids=["no-latitude", "no-longitude", "latitude-out-of-range",
                              "longitude-out-of-range", "not-a-number"])
def test_no_position_no_place(position: tuple[float | None, float | None]) -> None:
    assert places.place_at(*position) is None


def test_a_photo_with_gps_carries_its_place(tmp_path: Path) -> None:
    photo = images.jpeg(tmp_path / "p.jpg", (64, 48), taken=datetime(2024, 5, 1, 12, 0),
                        gps=images.Gps(48.8584, 2.2945))
    info = read_metadata(photo)
    assert (info.city, info.state, info.country) == ("Paris", "Île-de-France", "France")
    as_json = json.loads(json.dumps(info.to_dict()))
    assert (as_json["city"], as_json["state"], as_json["country"]) == (
        "Paris", "Île-de-France", "France")


def test_a_video_with_a_location_carries_its_place(tmp_path: Path) -> None:
    clip = videos.video(tmp_path / "v.mp4", duration=0.2, audio=(),
                        created=datetime(2024, 5, 1, 3, 0), location=(35.6762, 139.6503))
    info = read_metadata(clip)
    assert (info.city, info.country) == ("Tokyo", "Japan")


def test_reverse_geocoding_off_names_no_place(tmp_path: Path) -> None:
    photo = images.jpeg(tmp_path / "p.jpg", (64, 48), gps=images.Gps(48.8584, 2.2945))
    info = read_metadata(photo, options=ReadOptions(places=False))
    assert (info.city, info.state, info.country) == (None, None, None)
    assert info.latitude is not None


def test_a_photo_without_gps_has_no_place(tmp_path: Path) -> None:
    info = read_metadata(images.jpeg(tmp_path / "p.jpg", (64, 48)))
    assert (info.city, info.state, info.country) == (None, None, None)


_LOAD = """
import time
start = time.perf_counter()
from mediapipe.metadata import places
places.load()
print(round(time.perf_counter() - start, 3), places.place_at(35.6762, 139.6503).city,
      places.place_at(48.8566, 2.3522).city)
"""


def test_the_index_is_built_once_then_loaded_from_the_users_cache(tmp_path: Path) -> None:
    """The first process builds it from the package's data and keeps it in
    ``$XDG_CACHE_HOME/mediapipe`` (one ``.npy`` file an array, mapped by the next), dropping
    the index an earlier version kept there; the next loads that (a small ingest no longer pays
    0.7 s of start-up) and answers alike."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "CACHE_DIRECTORY"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    earlier = tmp_path / "mediapipe" / "places-1-3458676-1.npz"
    earlier.parent.mkdir()
    earlier.write_bytes(b"an earlier version's index")
    runs = [subprocess.run([sys.executable, "-c", _LOAD], capture_output=True, text=True,
                           env=env, check=True, timeout=120).stdout.split() for _ in range(2)]
    assert [run[1:] for run in runs] == [["Tokyo", "Paris"]] * 2
    [cached] = (tmp_path / "mediapipe").glob("places-*")
    assert cached.is_dir() and list(cached.glob("*.npy")) and not earlier.exists()
    # A cache cut short (a full disk, a crash) is built again and replaced, not kept failing.
    whole = (cached / "_xyz.npy").read_bytes()
    (cached / "_xyz.npy").write_bytes(whole[:100])
    rebuilt = subprocess.run([sys.executable, "-c", _LOAD], capture_output=True, text=True,
                             env=env, check=True, timeout=120).stdout.split()
    assert rebuilt[1:] == ["Tokyo", "Paris"]
    assert (cached / "_xyz.npy").read_bytes() == whole
    assert float(runs[1][0]) < float(runs[0][0])
