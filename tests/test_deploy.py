"""The deployment files in ``deploy/``, each through the tool that runs it: systemd units through
``systemd-analyze verify``, the NixOS module through ``nix-instantiate --parse``, the alert rules
through ``promtool test rules``, the dashboard's expressions through ``promtool`` and against the
metrics the project exports (``tests/test_metrics.py`` checks them against a live scrape). A tool
that is not installed skips its test (``make install`` installs them: SYSTEM_TOOLS)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = ("mediapipe-worker@cpu.service", "mediapipe-worker@gpu.service",
         "mediapipe-ingest@mnt-photos.service", "mediapipe-ingest@mnt-photos.timer",
         "mediapipe-watch@mnt-photos.service",
         # the files themselves, as a tool run over the folder sees them
         "mediapipe-worker@.service", "mediapipe-ingest@.service", "mediapipe-ingest@.timer",
         "mediapipe-watch@.service")


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (make system-deps installs it)")
    return path


def unit_text(name: str) -> str:
    return (DEPLOY / "systemd" / name).read_text()


# --- systemd ------------------------------------------------------------------------------------

@pytest.mark.parametrize("unit", UNITS)
def test_each_unit_passes_systemd_analyze_verify_without_a_word(unit: str) -> None:
    proc = subprocess.run([tool("systemd-analyze"), "verify", f"./{unit}"],
                          cwd=DEPLOY / "systemd", capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")


def test_the_worker_template_serves_its_queue_set_with_metrics_and_hardening() -> None:
    worker = unit_text("mediapipe-worker@.service")
    assert "EnvironmentFile=-/etc/mediapipe/worker-%i.env" in worker
    assert "-Q ${QUEUES}" in worker and "--metrics-address ${METRICS_ADDRESS}" in worker
    assert "--log-format json" in worker and "KillMode=mixed" in worker
    assert "RuntimeDirectory=mediapipe-worker-%i" in worker, "the metrics folder goes with it"
    for line in ("ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateDevices=yes",
                 "CapabilityBoundingSet=\n", "ReadWritePaths=-/srv/media"):
        assert line in worker


def test_the_gpu_instance_gets_the_nvidia_devices_and_nothing_else() -> None:
    gpu = unit_text("mediapipe-worker@gpu.service.d/gpu.conf")
    assert "PrivateDevices=no" in gpu and "DevicePolicy=closed" in gpu
    allowed = re.findall(r"^DeviceAllow=(\S+) rw$", gpu, re.M)
    assert "/dev/nvidiactl" in allowed and "/dev/nvidia-uvm" in allowed
    assert all("nvidia" in device for device in allowed)
    assert "QUEUES=video" in (DEPLOY / "etc" / "mediapipe" / "worker-gpu.env").read_text()


def test_the_timer_runs_a_oneshot_ingest_writing_a_textfile_and_the_watch_serves_a_port() -> None:
    assert "OnCalendar=" in unit_text("mediapipe-ingest@.timer")
    ingest = unit_text("mediapipe-ingest@.service")
    assert "Type=oneshot" in ingest and "--metrics-textfile" in ingest
    watch = unit_text("mediapipe-watch@.service")
    assert "--watch" in watch and "--metrics-port ${METRICS_PORT}" in watch


# --- NixOS --------------------------------------------------------------------------------------

def test_the_nixos_module_parses() -> None:
    proc = subprocess.run([tool("nix-instantiate"), "--parse",
                           str(DEPLOY / "nixos" / "mediapipe.nix")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_the_nixos_module_has_the_options_the_readme_shows() -> None:
    module = (DEPLOY / "nixos" / "mediapipe.nix").read_text()
    assert "options.services.mediapipe" in module
    readme = (ROOT / "README.md").read_text()
    [example] = re.findall(r"```nix\n(.*?)```", readme, re.S)
    assert "services.mediapipe = {" in example
    used = set(re.findall(r"^\s*(\w+)(?:\.\w+)* =", example, re.M)) - {"services", "imports"}
    for option in used:
        assert re.search(rf"\b{option} = mkOption|\b{option} = mkEnableOption|\b{option} = {{",
                         module), f"README sets {option}, the module has no such option"


# --- Prometheus ---------------------------------------------------------------------------------

def test_the_alert_rules_pass_their_promtool_unit_tests() -> None:
    promtool = tool("promtool")
    rules = DEPLOY / "prometheus"
    check = subprocess.run([promtool, "check", "rules", "mediapipe.rules.yml"], cwd=rules,
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run([promtool, "test", "rules", "mediapipe.rules.test.yml"], cwd=rules,
                          capture_output=True, text=True, timeout=120)
    assert test.returncode == 0, test.stdout + test.stderr


def test_the_rules_cover_the_deployments_alerts() -> None:
    import yaml

    rules = yaml.safe_load((DEPLOY / "prometheus" / "mediapipe.rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"MediapipeStorageAlmostFull", "MediapipeQueueBacklog", "MediapipeServiceDown",
            "MediapipeBrokerDown", "MediapipeWorkerDown"} <= alerts
    tested = (DEPLOY / "prometheus" / "mediapipe.rules.test.yml").read_text()
    assert all(f"alertname: {alert}" in tested for alert in alerts), "each alert has a test"


# --- Grafana ------------------------------------------------------------------------------------

_FUNCTIONS_AND_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                           "and", "or", "unless", "offset", "inf", "nan"}


def dashboard_expressions() -> list[str]:
    dash = json.loads((DEPLOY / "grafana" / "mediapipe.json").read_text())
    return [t["expr"] for p in dash["panels"] for t in p.get("targets", ())]


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: what is left once strings, label matchers,
    ranges, grouping clauses, functions and keywords are taken out."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        rest = text[match.end():].lstrip()
        if rest.startswith("(") or match.group() in _FUNCTIONS_AND_KEYWORDS:
            continue
        names.add(match.group())
    return names


def dashboard_metric_names() -> set[str]:
    return set().union(*map(metric_names, dashboard_expressions()))


@pytest.mark.parametrize("expr, names", [
    ("histogram_quantile(0.95, sum by (le, stage) (rate(mediapipe_x_bucket[5m])))",
     {"mediapipe_x_bucket"}),
    ('time() - max by (library) (a{job=~"m-.*"}) / b', {"a", "b"}),
], ids=["nested", "matchers"])
def test_metric_names_are_read_out_of_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_every_dashboard_expression_is_valid_promql(tmp_path: Path) -> None:
    """promtool checks each expression as a recording rule would be checked."""
    import yaml

    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:expr{i}", "expr": e}
        for i, e in enumerate(dashboard_expressions())]}]}
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump(rules))
    check = subprocess.run([tool("promtool"), "check", "rules", str(path)],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_dashboard_asks_for_mediapipes_own_metrics_and_the_process_ones_only() -> None:
    names = dashboard_metric_names()
    assert {"mediapipe_queue_depth", "mediapipe_broker_up",
            "mediapipe_task_duration_seconds_bucket", "mediapipe_storage_free_bytes"} <= names
    assert all(n.startswith(("mediapipe_", "process_")) for n in names), names


# --- the README and the Makefile ----------------------------------------------------------------

def test_the_readme_deployment_section_names_every_deployment_file() -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("\n## Deployment")
    section = readme[start:readme.index("\n## ", start + 1)]
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            assert path.name in section, f"README's deployment section does not name {path}"


def test_ci_installs_the_tools_these_tests_run() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for pair in ("systemd-analyze:systemd", "nix-instantiate:nix-bin", "promtool:prometheus"):
        assert pair in makefile
