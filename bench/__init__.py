"""Benchmarks: ``make bench`` runs every ``bench/bench_*.py`` and prints ratios against a
reference run in the same process (pyvips, exiftool, bare ffmpeg), never absolute pass/fail
timings."""
