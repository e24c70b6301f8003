"""The one packaging fact ``pyproject.toml`` cannot say: ``deploy/`` ships inside the wheel as
``mediapipe.deploy`` (``mediapipe deploy print`` reads it there), while it stays at the top of
the repository. Everything else is in ``pyproject.toml``."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["mediapipe", "mediapipe.*"]), "mediapipe.deploy"],
    package_dir={"mediapipe.deploy": "deploy"},
)
