"""``celery -A tests.support.checksum_worker``: the product's workers, for a pipeline with one
more step. Nothing under ``workers/`` knows of it: the app is made for that pipeline."""

import os

from mediapipe.config import load
from mediapipe.workers.app import make_app
from tests.support.checksum_step import WITH_CHECKSUM

celery = make_app(load(os.environ.get("MEDIAPIPE_CONFIG") or None, os.environ), WITH_CHECKSUM)
