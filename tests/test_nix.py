"""The NixOS module and package, where nixpkgs is absent: both parse; the module, applied to a
stub of the ``lib`` and ``pkgs`` it uses (``tests/data/nixos-stub.nix``), gives each library
units named as ``systemd-escape --path`` names them, a distinct metrics port per unit, all of
them in the firewall, Redis on a unix socket, the settings in a file, the secrets file read, the
GPU workers the acceleration devices only; ``escape.nix`` agrees with systemd's own tool."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NIXOS = ROOT / "deploy" / "nixos"
STUB = ROOT / "tests" / "data" / "nixos-stub.nix"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (make install-dev installs it)")
    return path


def nix_eval(expr_file: Path, **args: str) -> Any:
    argv = [tool("nix-instantiate"), "--eval", "--strict", "--json", str(expr_file)]
    for name, value in args.items():
        argv += ["--argstr", name, value]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", ["mediapipe.nix", "package.nix", "escape.nix"])
def test_each_nix_file_parses(name: str) -> None:
    done = subprocess.run([tool("nix-instantiate"), "--parse", str(NIXOS / name)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


PATHS = {
    "dash-in-a-name": "/mnt/my-photos",
    "a-folder-deeper": "/mnt/my/photos",
    "a-space": "/mnt/My Photos",
    "a-hidden-folder": "/srv/.hidden/a.b",
    "doubled-and-trailing-slashes": "/a//b/",
    "punctuation": "/mnt/ph@to+s,(2024)",
    "the-root": "/",
}


@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
def test_escape_nix_names_a_path_as_systemd_escape_does(path: str, tmp_path: Path) -> None:
    expr = tmp_path / "escape.nix"
    expr.write_text(f"{{ path }}: (import {NIXOS / 'escape.nix'}).escapePath path\n")
    ours = nix_eval(expr, path=path)
    theirs = subprocess.run([tool("systemd-escape"), "--path", path], capture_output=True,
                            text=True, check=True).stdout.strip()
    assert ours == theirs


LIBRARIES = ["/mnt/my-photos", "/mnt/my/photos", "/mnt/My Photos"]
CONFIG: dict[str, Any] = {
    "enable": True, "package": "/nix/store/mediapipe", "user": "mediapipe",
    "group": "mediapipe", "mediaLocation": "/srv/media", "libraries": LIBRARIES,
    "settings": {"thumbnails": {"preview": {"size": 1440}}},
    "environment": {"MEDIAPIPE_FFMPEG_ACCEL": "nvenc"}, "secretsFile": "/run/secrets/mp",
    "accelerationDevices": ["/dev/nvidiactl", "/dev/nvidia0"], "redis": {"enable": True},
    "metricsAddress": "0.0.0.0", "openFirewall": True,
    "workers": {
        "cpu": {"queues": ["metadata", "thumbnails"], "gpu": False, "concurrency": None,
                "metricsPort": 19101},
        "gpu": {"queues": ["video"], "gpu": True, "concurrency": None, "metricsPort": 19102}},
    "ingest": {"timer": "*-*-* 03:00:00", "watch": True, "metricsPort": 19110,
               "textfileDir": "/var/lib/textfiles"},
}


@pytest.fixture(scope="module")
def module() -> Any:
    return nix_eval(STUB, cfgJson=json.dumps(CONFIG))


def test_the_module_has_the_options_of_services_immich(module: Any) -> None:
    assert {"package", "settings", "environment", "secretsFile", "accelerationDevices",
            "mediaLocation", "openFirewall", "redis"} <= set(module["options"])


def test_each_library_has_its_own_units_named_by_systemd_escape(module: Any) -> None:
    names = set(module["services"])
    for library in LIBRARIES:
        escaped = subprocess.run([tool("systemd-escape"), "--path", library],
                                 capture_output=True, text=True, check=True).stdout.strip()
        assert {f"mediapipe-ingest-{escaped}", f"mediapipe-watch-{escaped}"} <= names
        assert f"mediapipe-ingest-{escaped}" in module["timers"]
    assert len(names) == 2 + 2 * len(LIBRARIES), "no two libraries share a unit"


def test_every_metrics_port_differs_and_the_firewall_opens_them_all(module: Any) -> None:
    ports = []
    for unit in module["services"].values():
        argv = unit["ExecStart"].split()
        if "--metrics-port" in argv:
            ports.append(int(argv[argv.index("--metrics-port") + 1]))
            assert argv[argv.index("--metrics-address") + 1] == "0.0.0.0"
    assert len(ports) == 2 + len(LIBRARIES) and len(set(ports)) == len(ports)
    assert sorted(module["firewall"]) == sorted(ports)
    assert all(a["assertion"] for a in module["assertions"])


def test_clashing_ports_fail_the_assertion() -> None:
    clash = {**CONFIG, "workers": {"cpu": {**CONFIG["workers"]["cpu"], "metricsPort": 19111}}}
    [check] = nix_eval(STUB, cfgJson=json.dumps(clash))["assertions"]
    assert check["assertion"] is False and "19111" in check["message"]


def test_redis_is_on_a_unix_socket_the_services_may_open(module: Any) -> None:
    assert module["redis"]["port"] == 0 and module["redis"]["unixSocketPerm"] == 660
    assert "redis-mediapipe" in module["extraGroups"]
    assert {"video", "render"} <= set(module["extraGroups"])
    for unit in module["services"].values():
        env = unit["environment"]
        assert env["MEDIAPIPE_BROKER_URL"] == "unix:///run/redis-mediapipe/redis.sock"
        assert "redis-mediapipe.service" in unit["after"]


def test_settings_environment_and_secrets_reach_every_unit(module: Any) -> None:
    for unit in module["services"].values():
        env = unit["environment"]
        assert env["MEDIAPIPE_CONFIG"].endswith(json.dumps(CONFIG["settings"],
                                                           separators=(",", ":")))
        assert env["MEDIAPIPE_FFMPEG_ACCEL"] == "nvenc"
        assert env["MEDIAPIPE_MEDIA_ROOT"] == "/srv/media"
        assert unit["EnvironmentFile"] == ["/run/secrets/mp"]


def test_units_are_private_limited_and_never_stop_each_other(module: Any) -> None:
    assert "d /srv/media 0700 mediapipe mediapipe -" in module["tmpfiles"]
    for name, unit in module["services"].items():
        assert unit["UMask"] == "0077" and unit["conflicts"] == []
        assert unit["SystemCallFilter"] == ["@system-service", "~@privileged @resources"]
        assert unit["MemoryMax"], name
        assert "mediapipe init" in unit["ExecStartPre"]
        if name.startswith("mediapipe-ingest-"):
            assert unit["SuccessExitStatus"] == 17, "a watch holding the library: not a failure"


def test_only_gpu_workers_open_the_acceleration_devices(module: Any) -> None:
    services = module["services"]
    assert services["mediapipe-worker-gpu"]["DeviceAllow"] == ["/dev/nvidiactl rw",
                                                               "/dev/nvidia0 rw"]
    assert services["mediapipe-worker-gpu"]["PrivateDevices"] is False
    assert services["mediapipe-worker-cpu"]["DeviceAllow"] == []
    assert services["mediapipe-worker-cpu"]["PrivateDevices"] is True
