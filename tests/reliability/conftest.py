"""The reliability suite: its marker, and its table (every case adds a row; the terminal summary
prints them all).

Every test collected here carries the ``reliability`` marker: ``make test`` leaves them out,
``make reliability`` (which CI runs) and ``make soak`` (``slow``: the long variants) run them.
``ledger`` (a fixture) collects ``harness.Figures`` rows for this session; at the end pytest
prints cases tried, processed, failed-clean, crashed, lost, partial files and the peak RSS of
the ingest process tree, whether or not output capture is on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.harness import Figures

LEDGER = pytest.StashKey[list[Figures]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[LEDGER] = []


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.reliability)


@pytest.fixture
def ledger(request: pytest.FixtureRequest) -> Callable[[Figures], Figures]:
    """``ledger(figures)`` adds a row to the session's table and returns it."""
    rows = request.config.stash[LEDGER]

    def add(fig: Figures) -> Figures:
        rows.append(fig)
        return fig

    return add


_COLUMNS = ("tried", "processed", "failed_clean", "crashed", "lost", "partial", "hung",
            "peak_rss_mib")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    rows = config.stash.get(LEDGER, [])
    if not rows:
        return
    tr = terminalreporter
    tr.section("reliability figures")
    width = max(len(r.case) for r in rows) + 2
    head = ["case".ljust(width), "tried", "processed", "failed-clean", "crashed", "lost",
            "partial", "hung", "peak RSS MiB"]
    tr.write_line(" ".join(f"{h:>12}" if i else h for i, h in enumerate(head)))
    for r in rows:
        cells = [getattr(r, c) for c in _COLUMNS[:-1]] + [r.peak_rss_mib or "-"]
        tr.write_line(r.case.ljust(width) + " " + " ".join(f"{c:>12}" for c in cells))
    total = Figures("TOTAL", *(sum(getattr(r, c) for r in rows) for c in _COLUMNS[:-1]),
                    max(r.peak_rss_mib for r in rows))
    tr.write_line(total.case.ljust(width) + " "
                  + " ".join(f"{getattr(total, c):>12}" for c in _COLUMNS))
