"""Settings: every knob mediapipe has, declared once with its default, its doc and its checks.

Owns: the typed settings with Immich's section and key names and defaults (``settings``), loading
them from a TOML or JSON file (an Immich system-config export is accepted as is) and from
``MEDIAPIPE_*`` environment variables (``loading``), coercion and checks (``coerce``), and the
commented sample file (``sample``). Does not own: reading the environment by itself: the caller
passes ``env`` in (stages never read it). A low layer: imports only ``mediapipe.errors``,
``mediapipe.template`` and ``mediapipe.formats``.

Sources, later wins: defaults, the file, the environment. Entry points: ``Config`` (defaults),
``load(path, env)``, ``sample_toml()``, ``shown(cfg.to_dict())`` (secrets masked: ``redact``).
"""

from __future__ import annotations

from mediapipe.config.coerce import redact, shown
from mediapipe.config.loading import ENV_PREFIX, OTHER_VARIABLES, env_names, load, read_file
from mediapipe.config.sample import sample_toml
from mediapipe.config.settings import (
    Config,
    FFmpegConfig,
    FullsizeOutput,
    ImageConfig,
    ImageOutput,
    LibraryConfig,
    LibraryScanConfig,
    LibraryWatchConfig,
    MetadataConfig,
    ReverseGeocodingConfig,
    StorageTemplateConfig,
    WorkerConfig,
)
from mediapipe.config.values import (
    ACCELS,
    BROKER_SCHEMES,
    RESOLUTIONS,
    broker_url_problem,
    parse_bitrate,
    setting,
)

__all__ = [
    "ACCELS",
    "BROKER_SCHEMES",
    "ENV_PREFIX",
    "OTHER_VARIABLES",
    "RESOLUTIONS",
    "Config",
    "FFmpegConfig",
    "FullsizeOutput",
    "ImageConfig",
    "ImageOutput",
    "LibraryConfig",
    "LibraryScanConfig",
    "LibraryWatchConfig",
    "MetadataConfig",
    "ReverseGeocodingConfig",
    "StorageTemplateConfig",
    "WorkerConfig",
    "broker_url_problem",
    "env_names",
    "load",
    "parse_bitrate",
    "read_file",
    "redact",
    "sample_toml",
    "setting",
    "shown",
]
