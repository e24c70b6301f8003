"""The ``mediapipe`` command: the one place that talks to the user."""
