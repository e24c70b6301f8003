"""Settings: every knob mediapipe has, declared once with its default, its doc and its checks.

Owns: the typed settings (Immich's section and key names and defaults: ``image``, ``ffmpeg``,
``storageTemplate``, ``library``, plus mediapipe's own top-level keys), loading them from a TOML or
JSON file (an Immich system-config export is accepted as is) and from ``MEDIAPIPE_*`` environment
variables, and rendering a commented sample file. Does not own: reading the environment by itself:
the caller passes ``env`` in (stages never read it).

Sources, later wins: defaults, the file, the environment. Entry points: ``Config`` (defaults),
``load(path, env)``.

Environment names are the setting's path in upper snake case: ``image.preview.size`` is
``MEDIAPIPE_IMAGE_PREVIEW_SIZE``, ``ffmpeg.targetVideoCodec`` is
``MEDIAPIPE_FFMPEG_TARGET_VIDEO_CODEC``; lists are comma-separated or a JSON array.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mediapipe.errors import ConfigError

__all__ = [
    "Config",
    "FFmpegConfig",
    "ImageConfig",
    "ImageOutput",
    "LibraryConfig",
    "StorageTemplateConfig",
    "WorkerConfig",
    "load",
    "parse_bitrate",
    "sample_toml",
]

ENV_PREFIX = "MEDIAPIPE_"


def setting(
    default: Any,
    doc: str,
    *,
    key: str | None = None,
    choices: tuple[Any, ...] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    check: Callable[[Any], str | None] | None = None,
) -> Any:
    """Declare one setting. ``key`` is its name in files when not the camelCase of the field."""
    meta = {"doc": doc, "key": key, "choices": choices, "min": minimum, "max": maximum,
            "check": check}
    if isinstance(default, list | dict | set):
        raise TypeError("use a tuple or a section dataclass for mutable defaults")
    if dataclasses.is_dataclass(default):
        return dataclasses.field(default_factory=lambda: default, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _resolution(value: str) -> str | None:
    if value == "original" or (value.isdigit() and int(value) > 0):
        return None
    return "a positive number of pixels (the shorter side) or 'original'"


_BITRATE = re.compile(r"(\d+(?:\.\d+)?)([kKmM]?)")


def parse_bitrate(text: str) -> int:
    """``'5000k'`` → 5_000_000, ``'8M'`` → 8_000_000, ``'0'`` → 0 (no limit); bits/s."""
    m = _BITRATE.fullmatch(text.strip())
    if not m:
        raise ConfigError("ffmpeg.maxBitrate", f"{text!r} is not a bitrate")
    unit = {"": 1, "k": 1000, "m": 1_000_000}[m.group(2).lower()]
    return int(float(m.group(1)) * unit)


def _bitrate(value: str) -> str | None:
    if _BITRATE.fullmatch(value.strip()):
        return None
    return "a number with an optional k or M suffix, e.g. '0', '5000k', '8M' (0 = no limit)"


@dataclasses.dataclass(frozen=True)
class ImageOutput:
    format: str = setting("jpeg", "Encoding of this output.", choices=("jpeg", "webp"))
    size: int = setting(1440, "Target length of the shorter side, in pixels; never upscaled.",
                        minimum=16, maximum=16384)
    quality: int = setting(80, "Encoder quality, 1-100.", minimum=1, maximum=100)


@dataclasses.dataclass(frozen=True)
class FullsizeOutput:
    enabled: bool = setting(False, "Also write a full-size JPEG for formats browsers can't show "
                                   "(HEIC, TIFF, RAW).")
    format: str = setting("jpeg", "Encoding of the full-size image.", choices=("jpeg", "webp"))
    quality: int = setting(80, "Encoder quality, 1-100.", minimum=1, maximum=100)


@dataclasses.dataclass(frozen=True)
class ImageConfig:
    thumbnail: ImageOutput = setting(ImageOutput("webp", 250, 80),
                                     "The small image shown in the timeline grid.")
    preview: ImageOutput = setting(ImageOutput("jpeg", 1440, 80),
                                   "The large image shown when an asset is opened.")
    fullsize: FullsizeOutput = setting(FullsizeOutput(), "Optional browser-friendly full size.")
    colorspace: str = setting("p3", "Wide-gamut sources keep P3 ('p3') or go to sRGB ('srgb'); "
                                    "sRGB sources always stay sRGB.", choices=("p3", "srgb"))
    extract_embedded: bool = setting(False, "For RAW files, use the largest embedded JPEG "
                                            "preview when it is at least the preview size.")
    max_pixels: int = setting(200_000_000, "Refuse (TooLarge) images with more pixels than "
                                           "this, before decoding them.", minimum=1)


@dataclasses.dataclass(frozen=True)
class FFmpegConfig:
    crf: int = setting(23, "Constant rate factor (quality) for the video encoder; lower is "
                           "better and bigger.", minimum=0, maximum=51)
    threads: int = setting(0, "Encoder threads; 0 lets ffmpeg decide.", minimum=0)
    preset: str = setting("ultrafast", "x264/x265 preset (mapped to p1-p7 on NVENC).",
                          choices=("ultrafast", "superfast", "veryfast", "faster", "fast",
                                   "medium", "slow", "slower", "veryslow"))
    target_video_codec: str = setting("h264", "Codec of transcoded video.",
                                      choices=("h264", "hevc", "vp9", "av1"))
    accepted_video_codecs: tuple[str, ...] = setting(
        ("h264",), "Video codecs played as they are.", choices=("h264", "hevc", "vp9", "av1"))
    target_audio_codec: str = setting("aac", "Codec of re-encoded audio.",
                                      choices=("aac", "mp3", "libopus", "pcm_s16le"))
    accepted_audio_codecs: tuple[str, ...] = setting(
        ("aac", "mp3", "libopus"), "Audio codecs kept as they are.",
        choices=("aac", "mp3", "libopus", "pcm_s16le"))
    accepted_containers: tuple[str, ...] = setting(
        ("mov", "ogg", "webm"), "Containers that need no remux (mp4 is always accepted).",
        choices=("mov", "mp4", "ogg", "webm"))
    target_resolution: str = setting("720", "Shorter side of transcoded video, or 'original'.",
                                     check=_resolution)
    max_bitrate: str = setting("0", "Cap on the video bitrate ('0' = none), e.g. '5000k'.",
                               check=_bitrate)
    bframes: int = setting(-1, "B-frames; -1 lets the encoder decide.", minimum=-1, maximum=16)
    refs: int = setting(0, "Reference frames; 0 lets the encoder decide.", minimum=0, maximum=16)
    gop_size: int = setting(0, "Keyframe interval in frames; 0 lets the encoder decide.",
                            minimum=0)
    temporal_aq: bool = setting(False, "NVENC temporal adaptive quantisation.", key="temporalAQ")
    cq_mode: str = setting("auto", "Rate control on hardware encoders.",
                           choices=("auto", "cqp", "icq"))
    two_pass: bool = setting(False, "Two-pass encoding (with maxBitrate).")
    preferred_hw_device: str = setting("auto", "GPU to use ('auto' or a device index/path).")
    transcode: str = setting("required", "When to transcode.",
                             choices=("all", "optimal", "required", "bitrate", "disabled"))
    tonemap: str = setting("hable", "HDR to SDR tone-mapping curve ('disabled' keeps HDR).",
                           choices=("hable", "mobius", "reinhard", "disabled"))
    accel: str = setting("disabled", "Hardware encoder ('nvenc'); falls back to software.",
                         choices=("disabled", "nvenc"))
    accel_decode: bool = setting(False, "Also decode (and scale) on the GPU.")
    timeout: int = setting(14400, "Seconds one transcode may take before it is killed "
                                  "(0 = no limit).", minimum=0)
    nice: int = setting(10, "Niceness of the ffmpeg process (0-19).", minimum=0, maximum=19)


def _storage_template(value: str) -> str | None:
    from mediapipe.template import TemplateError, compile_template

    try:
        compile_template(value)
    except TemplateError as exc:
        return f"an Immich storage template ({exc.detail})"
    return None


@dataclasses.dataclass(frozen=True)
class StorageTemplateConfig:
    enabled: bool = setting(False, "Place imported originals in library/ by the template.")
    hash_verification_enabled: bool = setting(True, "Verify sha1 after a copy across "
                                                    "filesystems.")
    template: str = setting("{{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}",
                            "Immich storage template, relative to library/<owner>/.",
                            check=_storage_template)


@dataclasses.dataclass(frozen=True)
class LibraryConfig:
    exclusion_patterns: tuple[str, ...] = setting(
        ("**/@eaDir/**", "**/._*", "**/#recycle/**", "**/#snapshot/**", "**/.stversions/**",
         "**/.stfolder/**"),
        "Glob patterns (relative to the library root) that scans skip.")


@dataclasses.dataclass(frozen=True)
class WorkerConfig:
    visibility_timeout: int = setting(21600, "Seconds Redis waits before redelivering an "
                                             "unacknowledged task; above the longest transcode.",
                                      minimum=5)
    max_tasks_per_child: int = setting(2000, "Recycle a worker process after this many tasks "
                                             "(contains native-library leaks; each recycle "
                                             "pauses the pool, up to seconds).", minimum=1)
    max_memory_per_child: int = setting(1024, "Recycle a worker process whose resident memory "
                                              "passes this many MiB after a task.", minimum=64)
    result_expires: int = setting(86400, "Seconds task results stay in Redis.", minimum=60)
    image_time_limit: int = setting(300, "Hard time limit (s) of metadata and thumbnail "
                                         "tasks.", minimum=1)
    video_time_limit: int = setting(14400, "Hard time limit (s) of transcode tasks.", minimum=1)
    max_retries: int = setting(5, "Retries of a task that failed transiently.", minimum=0)


@dataclasses.dataclass(frozen=True)
class Config:
    media_root: str = setting("", "The media root (library/ thumbs/ encoded-video/ profile/).")
    owner_id: str = setting("admin", "Owner folder name under library/, thumbs/ and "
                                     "encoded-video/.")
    broker_url: str = setting("", "Celery broker (redis://host:port/db); empty runs "
                                  "in-process.")
    image: ImageConfig = setting(ImageConfig(), "Previews, thumbnails, full-size images.")
    ffmpeg: FFmpegConfig = setting(FFmpegConfig(), "Video transcoding.")
    storage_template: StorageTemplateConfig = setting(StorageTemplateConfig(),
                                                      "Where imported originals go.")
    library: LibraryConfig = setting(LibraryConfig(), "External library scans.")
    worker: WorkerConfig = setting(WorkerConfig(), "Celery workers.")

    def to_dict(self) -> dict[str, Any]:
        """The settings in file shape (camelCase keys); ``from_dict`` reads it back."""
        return _to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Config:
        return _build(cls, data, "")

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


# Keys an Immich system-config export carries inside our sections that mediapipe does not use.
IMMICH_UNUSED = frozenset({
    "ffmpeg.npl", "ffmpeg.realtime", "image.thumbnail.progressive", "image.preview.progressive",
    "image.fullsize.progressive", "library.scan", "library.watch",
})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _file_key(f: dataclasses.Field[Any]) -> str:
    return f.metadata.get("key") or _camel(f.name)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _to_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out[_file_key(f)] = _to_dict(value)
        elif isinstance(value, tuple):
            out[_file_key(f)] = list(value)
        else:
            out[_file_key(f)] = value
    return out


def _coerce(key: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [
                v.strip() for v in text.split(",") if v.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError(key, f"expected a list of strings, got {value!r}")
        return tuple(value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(key, f"expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, bool):
            raise ConfigError(key, f"expected an integer, got {value!r}")
        try:
            return int(str(value).strip())
        except ValueError:
            raise ConfigError(key, f"expected an integer, got {value!r}") from None
    if hint is str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)  # Immich writes targetResolution/maxBitrate as strings, users not
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {value!r}")
        return value
    raise TypeError(f"unsupported setting type {hint!r}")  # pragma: no cover


def _check(key: str, f: dataclasses.Field[Any], value: Any) -> None:
    meta = f.metadata
    choices = meta.get("choices")
    if choices:
        for v in value if isinstance(value, tuple) else (value,):
            if v not in choices:
                raise ConfigError(key, f"{v!r} is not allowed; choose from "
                                       f"{', '.join(map(str, choices))}")
    if meta.get("min") is not None and value < meta["min"]:
        raise ConfigError(key, f"{value!r} is below the minimum {meta['min']}")
    if meta.get("max") is not None and value > meta["max"]:
        raise ConfigError(key, f"{value!r} is above the maximum {meta['max']}")
    if meta.get("check") and (problem := meta["check"](value)):
        raise ConfigError(key, f"{value!r} is not valid; expected {problem}")


def _build(cls: type, data: Mapping[str, Any], prefix: str, base: Any = None) -> Any:
    """Make ``cls`` from ``data`` (file shape, camelCase or snake_case keys) over ``base``."""
    if not isinstance(data, Mapping):
        raise ConfigError(prefix.rstrip(".") or "config", f"expected a table, got {data!r}")
    base = base if base is not None else cls()
    hints = _hints(cls)
    by_key = {}
    for f in dataclasses.fields(cls):
        by_key[_file_key(f)] = f
        by_key[f.name] = f
    changes: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = prefix + raw_key
        f = by_key.get(raw_key)
        if f is None:
            if key in IMMICH_UNUSED or (not prefix and cls is Config):
                continue  # an Immich export's other sections and keys we do not use
            known = ", ".join(sorted(_file_key(f) for f in dataclasses.fields(cls)))
            raise ConfigError(key, f"unknown setting; known here: {known}")
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            changes[f.name] = _build(hint, value, key + ".", getattr(base, f.name))
        else:
            coerced = _coerce(key, value, hint)
            _check(key, f, coerced)
            changes[f.name] = coerced
    return dataclasses.replace(base, **changes)


def env_names(cls: type = Config, prefix: str = "") -> dict[str, str]:
    """Every environment variable name mapped to the dotted file path of its setting."""
    names: dict[str, str] = {}
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}{_file_key(f)}"
        if dataclasses.is_dataclass(hints[f.name]):
            for env, sub in env_names(hints[f.name], path + ".").items():
                names[env] = sub
        else:
            snake = [_snake(p) for p in path.split(".")]
            names[ENV_PREFIX + "_".join(snake).upper()] = path
    return names


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _nest(path: str, value: Any) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    return {head: _nest(rest, value) if rest else value}


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_file(path: str | Path) -> dict[str, Any]:
    """A config file as a dict: TOML by default, JSON for ``.json`` (Immich's export)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(p), f"cannot read config file: {exc.strerror}") from exc
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(p), f"not valid {'JSON' if p.suffix == '.json' else 'TOML'}: "
                                  f"{exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(str(p), "the file must hold a table of settings")
    return data


def load(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Defaults, then the file at ``path`` (if any), then ``MEDIAPIPE_*`` entries of ``env``."""
    data: dict[str, Any] = read_file(path) if path else {}
    if env:
        names = env_names()
        for name, value in env.items():
            if name in names:
                data = _merge(data, _nest(names[name], value))
    return Config.from_dict(data)


def sample_toml(cfg: Config | None = None) -> str:
    """A commented TOML file with every setting at its value in ``cfg`` (defaults if None)."""
    cfg = cfg or Config()
    lines = ["# mediapipe configuration. Every setting, with its default.",
             "# Environment variables MEDIAPIPE_<PATH> override this file.", ""]
    _sample_section(cfg, "", lines)
    return "\n".join(lines) + "\n"


def _sample_section(obj: Any, path: str, lines: list[str]) -> None:
    hints = _hints(type(obj))
    nested = []
    for f in dataclasses.fields(obj):
        if dataclasses.is_dataclass(hints[f.name]):
            nested.append(f)
            continue
        value = getattr(obj, f.name)
        lines.append(f"# {f.metadata['doc']}")
        if f.metadata.get("choices"):
            lines.append(f"# One of: {', '.join(map(str, f.metadata['choices']))}")
        lines.append(f"{_file_key(f)} = {_toml_value(value)}")
    for f in nested:
        sub = f"{path}{_file_key(f)}"
        lines.extend(["", f"# {f.metadata['doc']}", f"[{sub}]"])
        _sample_section(getattr(obj, f.name), sub + ".", lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    return json.dumps(value)

