"""Run Python code where file permissions apply, even when the tests run as root.

Root ignores ``chmod 000`` (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH). To test an unreadable folder
as root, the code runs in a child process started by ``setpriv`` with those two capabilities
dropped from its bounding set; as another user it runs in a plain child process. The child
prints JSON, which is returned.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
_DROP = ["--bounding-set", "-dac_override,-dac_read_search"]


def run_unprivileged(code: str, *args: str) -> Any:
    """Run ``code`` (``sys.argv[1:]`` are ``args``) without permission overrides; its JSON."""
    argv = [sys.executable, "-c", code, *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv (util-linux) is missing: root reads "
                        "folders whatever their mode, so none can be made unreadable")
        argv = [setpriv, *_DROP, *argv]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=60,
                          check=False)
    if done.returncode != 0:
        if "setpriv" in done.stderr and "Operation not permitted" in done.stderr:
            pytest.skip(f"cannot drop capabilities here: {done.stderr.strip()}")
        raise AssertionError(f"child failed ({done.returncode}): {done.stderr}")
    return json.loads(done.stdout)

