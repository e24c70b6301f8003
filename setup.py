"""The one packaging fact ``pyproject.toml`` cannot say: ``deploy/`` ships inside the wheel as
``mediapipe.deploy`` (``mediapipe deploy print`` reads it there), while it stays at the top of
the repository. Everything else is in ``pyproject.toml``."""

from setuptools import Extension, find_packages, setup

setup(
    packages=[*find_packages(include=["mediapipe", "mediapipe.*"]), "mediapipe.deploy"],
    package_dir={"mediapipe.deploy": "deploy"},
    # The resampler's loops (thumbnails/polyphase.py). Optional: without a C compiler the
    # install goes on, and the engine resamples with OpenCV instead (slower, as sharp).
    ext_modules=[Extension("mediapipe.thumbnails._polyphase",
                           ["mediapipe/thumbnails/_polyphase.c"], optional=True)],
)
