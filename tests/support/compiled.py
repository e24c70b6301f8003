"""The mark of a test that needs the compiled resampler (``thumbnails/_polyphase.c``): skipped
where it was not built (no C compiler at install), as the engine then resamples with OpenCV."""

from __future__ import annotations

import pytest

from mediapipe.thumbnails import polyphase

__all__ = ["needs_compiled"]

needs_compiled = pytest.mark.skipif(not polyphase.available(),
                                    reason="the compiled resampler was not built here")
