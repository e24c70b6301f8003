"""``celery -A tests.support.checksum_worker``: the product's workers, with one more step.

The step is added to the list before the app is made; nothing under ``workers/`` knows of it.
"""

from mediapipe.pipeline import steps
from tests.support.checksum_step import CHECKSUM

steps.STEPS = (*steps.STEPS, CHECKSUM)

import workers  # noqa: E402  (after the step list is complete)

celery = workers.celery
