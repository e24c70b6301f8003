"""What a user installs: the wheel and the sdist as ``make dist`` builds them (offline, with the
build backend of the test environment), and ``mediapipe deploy`` reading the shipped files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from mediapipe.cli.deploy import deploy_folder, files_of
from tests.support.cli import mediapipe

ROOT = Path(__file__).resolve().parents[1]
SETS = ("systemd", "nixos", "prometheus", "grafana", "sysusers", "tmpfiles", "etc")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    shutil.rmtree(ROOT / "build" / "lib", ignore_errors=True)  # setuptools would reuse it
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "-o", str(out),
                           str(ROOT)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def wheel_names(dist: Path) -> list[str]:
    [wheel] = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


def test_the_wheel_installs_only_the_mediapipe_package(dist: Path) -> None:
    tops = {name.split("/")[0] for name in wheel_names(dist)}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"mediapipe"}


def test_the_wheel_carries_the_license_as_an_spdx_expression_and_its_text(dist: Path) -> None:
    [wheel] = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        [meta_name] = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(zf.read(meta_name).decode())
        [license_name] = [n for n in zf.namelist() if n.endswith("/licenses/LICENSE")]
        text = zf.read(license_name).decode()
    assert meta["License-Expression"] == "AGPL-3.0-or-later"
    assert "GNU AFFERO GENERAL PUBLIC LICENSE" in text and "Version 3, 19 November 2007" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert any(c.startswith("Programming Language :: Python :: 3") for c in
               meta.get_all("Classifier") or [])
    assert meta.get_all("Project-URL")
    assert any(r.startswith("av>=18") for r in meta.get_all("Requires-Dist") or [])


def test_the_compiled_resampler_is_built_wherever_a_c_compiler_is() -> None:
    """``make install`` brings a compiler; only without one is the OpenCV fallback acceptable."""
    from mediapipe.thumbnails import polyphase

    if shutil.which("cc") is None:
        pytest.skip("no C compiler on this machine")
    assert polyphase.available()


def test_the_wheel_carries_the_compiled_resampler_and_its_stub(dist: Path) -> None:
    """Built where a C compiler is (``make install`` brings one); the sdist carries its
    source, so a machine that builds from the sdist builds it too."""
    names = wheel_names(dist)
    assert "mediapipe/thumbnails/_polyphase.pyi" in names
    if shutil.which("cc") is not None:
        assert any(n.startswith("mediapipe/thumbnails/_polyphase.") and n.endswith(".so")
                   for n in names), names
    [sdist] = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as tf:
        assert any(n.endswith("mediapipe/thumbnails/_polyphase.c") for n in tf.getnames())


def test_the_install_recipe_installs_the_sdist_make_dist_builds(dist: Path) -> None:
    """The wheel is for the building machine's Python and CPU; the server builds from the sdist."""
    [sdist] = dist.glob("*.tar.gz")
    assert f"pip install ./{sdist.name}" in (ROOT / "README.md").read_text()


def test_the_wheel_ships_every_deployment_file(dist: Path) -> None:
    shipped = {n.removeprefix("mediapipe/deploy/") for n in wheel_names(dist)
               if n.startswith("mediapipe/deploy/")}
    in_repo = {str(p.relative_to(ROOT / "deploy")) for p in (ROOT / "deploy").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert shipped == in_repo


def test_the_sdist_holds_what_its_tests_import(dist: Path) -> None:
    [sdist] = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    for needed in ("LICENSE", "setup.py", "Makefile", "tests/conftest.py", "fixtures/images.py",
                   "bench/__init__.py", "deploy/systemd/mediapipe-worker@.service",
                   "tests/data/defaults.json"):
        assert needed in names, needed
    assert not any(n.startswith("fixtures/out/") for n in names)


@pytest.mark.parametrize("name", SETS)
def test_deploy_print_shows_each_set(name: str) -> None:
    done = mediapipe("deploy", "print", name)
    assert done.returncode == 0, done.stderr
    files = files_of(name)
    assert files and all(f.read_text() in done.stdout for f in files)


def test_deploy_print_gives_one_file_as_it_is_and_refuses_what_is_outside() -> None:
    one = "systemd/mediapipe-ingest@.timer"
    done = mediapipe("deploy", "print", one)
    assert done.stdout == (deploy_folder() / one).read_text()
    outside = mediapipe("deploy", "print", "../pyproject.toml")
    assert outside.returncode == 2 and "no deployment set or file" in outside.stderr


def test_ci_installs_the_test_tools_and_proves_the_floors() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make install-dev" in ci and "make floors" in ci
    makefile = (ROOT / "Makefile").read_text()
    [runtime] = [line for line in makefile.split("\nDEV_TOOLS")[0].split("SYSTEM_TOOLS :=")[1:]]
    for test_only in ("systemd", "nix-bin", "prometheus"):
        assert f":{test_only}" not in runtime, f"make install must not install {test_only}"


def test_the_unpacked_sdist_runs_its_own_tests(dist: Path, tmp_path: Path) -> None:
    """A sample of the suite (the full one is `make test` inside the unpacked sdist): the
    tests, fixtures and data they import are all there, and the sdist's own mediapipe runs."""
    [sdist] = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as tf:
        tf.extractall(tmp_path, filter="data")
    [top] = tmp_path.iterdir()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_scan.py", "tests/test_config.py",
                           "tests/test_architecture_map.py"],
                          cwd=top, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout
