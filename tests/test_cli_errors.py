"""Every command against every kind of bad input: one line naming the input, its exit code.

The table is the specification of the CLI's error edge (``mediapipe.cli.main``): for each
command and each bad input (missing, a folder, unreadable, the wrong kind, a bad setting, an
unknown variable, an unmarked media root, an output that may not be written, a broker that is
down, unknown, silent, refusing our password, or of the wrong scheme, numbers and queue names
out of range) the command exits with the documented code, prints no traceback, and names the
input on stderr. Permission cases run with file permissions enforced, as root too
(``setpriv`` drops the override capabilities), and skip where that cannot be done.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from fixtures import images, videos
from mediapipe.errors import (
    EXIT_USAGE,
    BrokerUnreachable,
    ConfigError,
    PermissionDenied,
    StorageOffline,
    Unreadable,
    UnsupportedMedia,
)
from mediapipe.library import storage
from tests.support.cli import Ran, mediapipe

# The documented codes: each kind's own (README's table is held to them by test_readme).
USAGE, CONFIG, OFFLINE, UNSUPPORTED = (EXIT_USAGE, ConfigError.exit_code,
                                       StorageOffline.exit_code, UnsupportedMedia.exit_code)
UNREADABLE, DENIED, BROKER = (Unreadable.exit_code, PermissionDenied.exit_code,
                              BrokerUnreachable.exit_code)
_DROP = ["--bounding-set", "-dac_override,-dac_read_search"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def silent_broker() -> Iterator[str]:
    """A TCP port that accepts connections and never answers: a hung broker."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture(scope="module")
def password_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server that wants a password we do not give."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis-auth")
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--requirepass", "s3cret", "--save", "", "--appendonly", "no",
                             "--dir", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://:wrong@127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory, silent_broker: str,
          password_broker: str) -> dict[str, str]:
    """The inputs, good and bad, that the table's command lines name."""
    d = tmp_path_factory.mktemp("cli-errors")
    lib = d / "lib"
    lib.mkdir()
    photo = images.jpeg(lib / "photo.jpg", (320, 240))
    video = videos.video(d / "clip.mkv", size=(320, 240), duration=0.5)
    (d / "notes.jpg").write_text("not a photo")
    unreadable = d / "secret.jpg"
    shutil.copy(photo, unreadable)
    unreadable.chmod(0)
    closed_lib = d / "closed-lib"
    closed_lib.mkdir(mode=0)
    root, bare, ro_root = d / "media", d / "bare", d / "ro-media"
    storage.init_root(root)
    bare.mkdir()
    storage.init_root(ro_root)
    for folder in ("thumbs", "encoded-video", "library"):
        (ro_root / folder).chmod(0o555)
    ro_dir = d / "ro-out"
    ro_dir.mkdir(mode=0o555)
    (d / "out").mkdir()
    (d / "bad.toml").write_text("[ffmpeg]\ncrf = 'high'\n")
    return {"photo": str(photo), "video": str(video), "text": str(d / "notes.jpg"),
            "missing": str(d / "missing.jpg"), "dir": str(lib), "lib": str(lib),
            "unreadable": str(unreadable), "closed_lib": str(closed_lib), "root": str(root),
            "bare": str(bare), "ro_root": str(ro_root), "ro_dir": str(ro_dir),
            "out": str(d / "out"), "bad_toml": str(d / "bad.toml"),
            "refused": f"redis://127.0.0.1:{_free_port()}/0",
            "unknown_host": "redis://no-such-host.invalid:6379/0",
            "silent": silent_broker, "password": password_broker}


EVERY_COMMAND = [
    "info {photo}", "thumbnail {photo} --out {out}", "transcode {video} --out {out}/o.mp4",
    "import {photo} --media-root {root} --dry-run", "ingest {lib} --media-root {root} --dry-run",
    "init {root}", "verify {root}", "migrate --media-root {root} --dry-run",
    "doctor --media-root {root}", "worker --broker {refused}", "config show",
]

CASES: list[tuple[str, str, dict[str, str], int, str]] = [
    # id, command line, environment, exit code, what stderr must name
    *[(f"missing-{c.split()[0]}", c, {}, UNREADABLE, "{missing}") for c in (
        "info {missing}", "thumbnail {missing} --out {out}",
        "transcode {missing} --out {out}/o.mp4",
        "import {missing} --media-root {root}", "ingest {missing} --media-root {root}")],
    *[(f"directory-{c.split()[0]}", c, {}, UNREADABLE, "{dir}") for c in (
        "info {dir}", "thumbnail {dir} --out {out}", "transcode {dir} --out {out}/o.mp4")],
    ("file-as-library-ingest", "ingest {photo} --media-root {root}", {}, UNREADABLE, "{photo}"),
    *[(f"unreadable-{c.split()[0]}", c, {}, UNREADABLE, "{unreadable}") for c in (
        "info {unreadable}", "thumbnail {unreadable} --out {out}",
        "transcode {unreadable} --out {out}/o.mp4", "import {unreadable} --media-root {root}")],
    ("unreadable-library-ingest", "ingest {closed_lib} --media-root {root}", {}, UNREADABLE,
     "{closed_lib}"),
    ("photo-to-transcode", "transcode {photo} --out {out}/o.mp4", {}, UNSUPPORTED, "{photo}"),
    ("text-to-info", "info {text}", {}, UNSUPPORTED, "{text}"),
    ("text-to-thumbnail", "thumbnail {text} --out {out}", {}, UNSUPPORTED, "{text}"),
    ("one-bad-among-good-info", "info {photo} {missing}", {}, UNREADABLE, "{missing}"),
    *[(f"bad-setting-{c.split()[0]}", c, {"MEDIAPIPE_FFMPEG_CRF": "high"}, CONFIG, "ffmpeg.crf")
      for c in EVERY_COMMAND],
    *[(f"unknown-variable-{c.split()[0]}", c, {"MEDIAPIPE_FFMPEG_TYPO": "1"}, CONFIG,
       "MEDIAPIPE_FFMPEG_TYPO") for c in EVERY_COMMAND],
    ("bad-config-file", "--config {bad_toml} config show", {}, CONFIG, "ffmpeg.crf"),
    ("missing-config-file", "--config {missing} info {photo}", {}, CONFIG, "{missing}"),
    *[(f"unmarked-root-{c.split()[0]}", c, {}, OFFLINE, "{bare}") for c in (
        "ingest {lib} --media-root {bare}", "import {photo} --media-root {bare}",
        "migrate --media-root {bare}", "verify {bare}", "doctor --media-root {bare}")],
    ("read-only-out-thumbnail", "thumbnail {photo} --out {ro_dir}", {}, DENIED, "{ro_dir}"),
    ("read-only-out-transcode", "transcode {video} --out {ro_dir}/o.mp4", {}, DENIED,
     "{ro_dir}"),
    ("read-only-parent-init", "init {ro_dir}/new", {}, DENIED, "{ro_dir}/new"),
    ("read-only-thumbs-ingest", "ingest {lib} --media-root {ro_root}", {}, DENIED, "{ro_root}"),
    ("read-only-root-verify", "verify {ro_root}", {}, DENIED, "{ro_root}"),
    ("read-only-root-doctor", "doctor --media-root {ro_root}", {}, DENIED, "{ro_root}"),
    *[(f"broker-{name}-{c.split()[0]}", c.replace("URL", "{" + name + "}"), {}, BROKER, why)
      for name, why in (("refused", "connection refused"), ("unknown_host", "unknown host"),
                        ("silent", "no answer within"), ("password", "authentication failed"))
      for c in ("ingest {lib} --media-root {root} --broker URL",
                "worker --broker URL --broker-wait 0",  # 0: one probe, no waiting it out
                "doctor --broker URL")],
    ("broker-password-hidden", "doctor --broker {password}", {}, BROKER, ":***@"),
    ("wrong-scheme-ingest", "ingest {lib} --media-root {root} --broker http://x", {}, USAGE,
     "http://"),
    ("wrong-scheme-worker", "worker --broker amqp://x", {}, USAGE, "amqp://"),
    ("wrong-scheme-doctor", "doctor --broker http://x", {}, BROKER, "http://"),
    ("wrong-scheme-in-settings", "ingest {lib} --media-root {root}",
     {"MEDIAPIPE_BROKER_URL": "http://x"}, CONFIG, "brokerUrl"),
    ("workers-zero", "ingest {lib} --media-root {root} --workers 0", {}, USAGE, "--workers"),
    ("workers-negative", "ingest {lib} --media-root {root} --workers -3", {}, USAGE,
     "--workers"),
    ("unknown-queue", "worker --broker {refused} -Q foo", {}, USAGE, "foo"),
    ("no-concurrency", "worker --broker {refused} -c 0", {}, USAGE, "--concurrency"),
    ("init-without-root", "init", {}, USAGE, "ROOT"),
]

PERMISSIONS = ("unreadable", "read-only", "closed_lib")


def _mediapipe(line: str, env: dict[str, str],
               enforce: bool) -> Ran | subprocess.CompletedProcess[str]:
    """The command in this process, with no ``MEDIAPIPE_*`` but ``env``; as root where
    permissions are enforced, in a process of its own without the override capabilities
    (dropping them is for a whole process: the boundary is the point)."""
    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith("MEDIAPIPE_")}
    if not (enforce and os.geteuid() == 0):
        return mediapipe(*line.split(), env={**clean, **env})
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions are not enforced")
    return subprocess.run([setpriv, *_DROP, sys.executable, "-m", "mediapipe", *line.split()],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={k: v for k, v in {**os.environ, **env}.items()
                               if k in env or not k.startswith("MEDIAPIPE_")})


@pytest.mark.parametrize(("line", "env", "code", "names"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_a_bad_input_is_one_line_naming_it_with_its_exit_code(
        place: dict[str, str], line: str, env: dict[str, str], code: int, names: str) -> None:
    enforce = any(p in line or p in names for p in PERMISSIONS) or "ro_" in line
    result = _mediapipe(line.format(**place), env, enforce)
    if "cannot drop" in result.stderr or "setpriv:" in result.stderr:
        pytest.skip(f"cannot enforce permissions here: {result.stderr.strip()}")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, (result.returncode, result.stderr)
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("mediapipe: error:")]
    assert errors, result.stderr
    assert any(names.format(**place) in ln for ln in errors), result.stderr


def test_the_accel_choices_of_the_cli_are_the_settings() -> None:
    from mediapipe import config
    from mediapipe.cli.context import ACCEL_CHOICE

    assert tuple(ACCEL_CHOICE.choices) == config.ACCELS


def test_a_silent_broker_fails_within_its_timeout_never_hangs(place: dict[str, str]) -> None:
    started = time.monotonic()
    result = _mediapipe(f"doctor --broker {place['silent']}", {}, enforce=False)
    assert result.returncode == BROKER
    assert time.monotonic() - started < 60, "the probe's timeout, plus doctor's own checks"


def test_help_lists_every_exit_code_from_the_error_family(
        capsys: pytest.CaptureFixture[str]) -> None:
    from mediapipe.cli.main import main
    from mediapipe.errors import EXIT_CODES

    assert main(["--help"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "Exit codes: " + ", ".join(f"{c} {n}" for c, n in EXIT_CODES.items()) in said


# How the command ends (``cli.main.exit_now``): at once, the interpreter's teardown skipped, but
# with the exit handlers run, the output whole, and a working thread waited for.

_ENDS = """
import atexit, sys, threading, time
from mediapipe.cli.main import exit_now
atexit.register(lambda: print("exit handler ran"))
print("x" * 100_000, end="")  # still in stdout's buffer
if sys.argv[1] == "thread":
    threading.Thread(target=lambda: (time.sleep(0.3), print("thread finished"))).start()
exit_now(int(sys.argv[2]))
"""


@pytest.mark.parametrize("thread", ["none", "thread"])
def test_the_command_ends_with_its_code_its_output_whole_and_its_exit_handlers_run(
        thread: str) -> None:
    ran = subprocess.run([sys.executable, "-c", _ENDS, thread, "3"], capture_output=True,
                         text=True, timeout=60)
    assert ran.returncode == 3
    assert ran.stdout.startswith("x" * 100_000)
    assert ran.stdout.endswith("exit handler ran\n")
    assert ("thread finished" in ran.stdout) == (thread == "thread")


def test_output_that_cannot_be_flushed_ends_the_command_with_120_as_python_does() -> None:
    """Output still buffered when its stream is gone (a reader that stopped early): Python's
    own exit code for that, not a success."""
    lost = ("import os, sys\nfrom mediapipe.cli.main import exit_now\n"
            "sys.stdout.write('buffered')\nos.close(1)\nexit_now(0)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    ran = subprocess.run([sys.executable, "-c", lost], capture_output=True, text=True,
                         timeout=60, env=env)
    assert ran.returncode == 120
