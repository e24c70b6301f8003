"""``python -m mediapipe`` runs the CLI."""

from mediapipe.cli.main import run

run()
