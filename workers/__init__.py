"""Celery workers for mediapipe: ``celery -A workers worker -Q video`` (or ``mediapipe worker``)."""

from workers.app import app

__all__ = ["app"]
