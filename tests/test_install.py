"""The README's Debian install recipe, run as written under a scratch root: the user and groups
made by ``systemd-sysusers --root``, the folders by ``systemd-tmpfiles --root``, the settings
and units copied from the installed package (``mediapipe deploy path``), every unit through
``systemd-analyze verify``, and the first start's ``mediapipe init`` (``ExecStartPre``) run as
the units run it. What needs the real machine (apt-get, pip, systemctl) is recorded, not run."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
[RECIPE] = re.findall(r"<!-- recipe: debian -->\n```sh\n(.*?)```", README, re.S)
VENV_BIN = Path(sys.executable).parent

# Stand-ins: the machine's own tools, pointed at the scratch root; what the recipe may not do
# here (install packages, start services) only says what it was asked.
STUBS = r"""
set -euo pipefail
log() { printf '%s\n' "$*" >> "$ROOT/recorded"; }
apt-get() { log "apt-get $*"; }
systemctl() { log "systemctl $*"; }
systemd-sysusers() { command systemd-sysusers --root="$ROOT" "$@"; }
systemd-tmpfiles() { command systemd-tmpfiles --root="$ROOT" "$@"; }
python3() { log "python3 $*"; mkdir -p "$ROOT/opt/mediapipe/bin"; }
"""


def needs(*tools: str) -> None:
    for name in tools:
        if shutil.which(name) is None:
            pytest.skip(f"{name} is not installed (make install-dev installs it)")


def scratch_recipe(root: Path) -> str:
    """The recipe with every absolute path of the machine moved under ``root``."""
    return re.sub(r'(^|[\s"=(])(/(?:etc|opt|srv|var)\b)', r'\1$ROOT\2', RECIPE, flags=re.M)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    needs("systemd-sysusers", "systemd-tmpfiles", "systemd-analyze")
    if os.geteuid() != 0:
        pytest.skip("the folders' owners are set by systemd-tmpfiles: needs root")
    root = tmp_path_factory.mktemp("root")
    for folder in ("etc/redis", "etc/systemd/system", "srv", "var/lib", "mnt/photos"):
        (root / folder).mkdir(parents=True)
    for base in ("passwd", "group"):  # a bare system: root, and the groups Debian has
        shutil.copy(f"/etc/{base}", root / "etc" / base)
    (root / "etc/redis/redis.conf").write_text("bind 127.0.0.1 -::1\nport 6379\n")
    # pip install, as the recipe asks: this test's own mediapipe stands for the wheel's
    pip = root / "opt/mediapipe/bin/pip"
    pip.parent.mkdir(parents=True)
    pip.write_text(f'#!/bin/sh\necho "pip $*" >> "{root}/recorded"\n')
    pip.chmod(0o755)
    (root / "opt/mediapipe/bin/mediapipe").symlink_to(VENV_BIN / "mediapipe")
    done = subprocess.run(["bash", "-c", STUBS + scratch_recipe(root)], cwd=root,
                          env={**os.environ, "ROOT": str(root)}, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return root


def test_the_user_is_made_in_the_video_and_render_groups(installed: Path) -> None:
    passwd = (installed / "etc/passwd").read_text()
    [user] = [line.split(":") for line in passwd.splitlines() if line.startswith("mediapipe:")]
    assert user[5] == "/var/lib/mediapipe" and user[6] in ("/usr/sbin/nologin", "/sbin/nologin")
    groups = {line.split(":")[0]: line.split(":")[3].split(",")
              for line in (installed / "etc/group").read_text().splitlines()}
    assert "mediapipe" in groups["video"] and "mediapipe" in groups["render"]


FOLDERS = {  # path -> (mode, owner, group)
    "etc/mediapipe": (0o750, "root", "mediapipe"),
    "var/lib/mediapipe": (0o750, "mediapipe", "mediapipe"),
    "srv/media": (0o700, "mediapipe", "mediapipe"),
}


def _ids(root: Path) -> tuple[dict[str, int], dict[str, int]]:
    users = {f[0]: int(f[2]) for f in
             (line.split(":") for line in (root / "etc/passwd").read_text().splitlines())}
    groups = {f[0]: int(f[2]) for f in
              (line.split(":") for line in (root / "etc/group").read_text().splitlines())}
    return users, groups


@pytest.mark.parametrize("folder", FOLDERS, ids=list(FOLDERS))
def test_the_folders_are_made_with_their_owner_and_mode(installed: Path, folder: str) -> None:
    mode, owner, group = FOLDERS[folder]
    users, groups = _ids(installed)
    st = (installed / folder).stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (mode, users[owner],
                                                                groups[group])


def test_the_shared_settings_are_private_and_carry_the_redis_password(installed: Path) -> None:
    env = installed / "etc/mediapipe/mediapipe.env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    [password] = re.findall(r"^requirepass (\S+)$",
                            (installed / "etc/redis/redis.conf").read_text(), re.M)
    assert len(password) >= 24 and f"redis://:{password}@" in env.read_text()
    assert "change-me" not in env.read_text()


def test_every_installed_unit_passes_systemd_analyze_verify(installed: Path) -> None:
    units = installed / "etc/systemd/system"
    names = sorted(p.name for p in units.iterdir())
    assert names == ["mediapipe-ingest@.service", "mediapipe-ingest@.timer",
                     "mediapipe-watch@.service", "mediapipe-worker@.service"]
    for unit in ("mediapipe-worker@cpu.service", "mediapipe-ingest@mnt-photos.service",
                 "mediapipe-ingest@mnt-photos.timer", "mediapipe-watch@mnt-photos.service"):
        done = subprocess.run(["systemd-analyze", "verify", f"./{unit}"], cwd=units,
                              capture_output=True, text=True, timeout=60, check=False)
        assert (done.returncode, done.stdout + done.stderr) == (0, ""), unit


def test_the_services_are_enabled_by_their_escaped_names(installed: Path) -> None:
    recorded = (installed / "recorded").read_text().splitlines()
    assert "systemctl enable --now mediapipe-worker@cpu.service" in recorded
    assert "systemctl enable --now mediapipe-ingest@mnt-photos.timer" in recorded
    assert any(line.startswith("pip install ./homelib_mediapipe-") for line in recorded)
    assert recorded.index("systemctl daemon-reload") < recorded.index(
        "systemctl enable --now mediapipe-worker@cpu.service")


def _exec_start_pre(unit: str) -> str:
    text = (ROOT / "deploy/systemd" / unit).read_text()
    [line] = re.findall(r"^ExecStartPre=(.*)$", text, re.M)
    return line.replace("$$", "$")  # systemd's escape for a literal $


@pytest.mark.parametrize("unit", ["mediapipe-worker@.service", "mediapipe-ingest@.service",
                                  "mediapipe-watch@.service"])
def test_the_first_start_makes_the_media_root_and_only_the_first(tmp_path: Path,
                                                                 unit: str) -> None:
    argv = _exec_start_pre(unit).split(" ", 2)
    assert argv[:2] == ["/bin/sh", "-c"]
    script = argv[2].strip("'")
    state, media = tmp_path / "state", tmp_path / "media"
    state.mkdir()
    media.mkdir(mode=0o700)
    env = {**os.environ, "STATE_DIRECTORY": str(state), "MEDIAPIPE_MEDIA_ROOT": str(media),
           "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    for _start in range(2):
        subprocess.run(["/bin/sh", "-c", script], env=env, check=True, timeout=60)
    assert (media / "thumbs/.immich").is_file() and (state / "initialised").is_file()
    for marker in media.glob("*/.immich"):  # the disk unmounted: an empty mount point
        marker.unlink()
    subprocess.run(["/bin/sh", "-c", script], env=env, check=True, timeout=60)
    assert not list(media.glob("*/.immich")), "no markers made again over a missing disk"


def test_the_units_start_after_debians_redis() -> None:
    for unit in ("mediapipe-worker@.service", "mediapipe-ingest@.service",
                 "mediapipe-watch@.service"):
        text = (ROOT / "deploy/systemd" / unit).read_text()
        assert "After=network-online.target redis-server.service" in text
        assert "Conflicts=" not in text, "the nightly ingest and the watch never stop each other"
        assert "SystemCallFilter=~@privileged @resources" in text
        for limit in ("MemoryMax=", "TasksMax=", "LimitNOFILE="):
            assert limit in text, (unit, limit)
