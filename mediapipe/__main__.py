"""``python -m mediapipe`` runs the CLI."""

from mediapipe.cli import run

run()
