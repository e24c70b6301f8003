"""The settings' declarations: every knob mediapipe has, once, with its default, doc and checks.

Owns: the typed, frozen settings (Immich's section and key names and defaults: ``image``,
``ffmpeg``, ``storageTemplate``, ``library``, plus mediapipe's own top-level keys and ``worker``),
each with its default and doc. Does not own: what a setting is and the checks of its values
(``values``), reading files or the environment (``loading``), turning raw values into typed
ones (``coerce``) or the sample file (``sample``).

Entry point: ``Config`` (the defaults; ``Config.from_dict`` / ``to_dict`` for file shape).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mediapipe.config import coerce
from mediapipe.config.values import (
    ACCELS,
    check_bitrate,
    check_broker_url,
    check_cron,
    check_mode,
    check_resolution,
    check_storage_template,
    normal_resolution,
    setting,
)

__all__ = [
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
    "StorageConfig",
    "StorageTemplateConfig",
    "WorkerConfig",
]

@dataclasses.dataclass(frozen=True)
class ImageOutput:
    format: str = setting("jpeg", "Encoding of this output.", choices=("jpeg", "webp"))
    size: int = setting(1440, "Target length of the shorter side, in pixels; never upscaled.",
                        minimum=16, maximum=16384)
    quality: int = setting(80, "Encoder quality, 1-100.", minimum=1, maximum=100)


@dataclasses.dataclass(frozen=True)
class FullsizeOutput:
    enabled: bool = setting(False, "Also write a full-size image (in the format below) for "
                                   "photos browsers can't show (HEIC, TIFF, RAW).")
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
    max_pixels: int = setting(200_000_000, "Refuse (TooLarge) an image, a RAW sensor or a video "
                                           "stream with more pixels than this, by the size its "
                                           "header gives, before anything decodes it. The one "
                                           "pixel limit: Pillow's own decompression-bomb guard "
                                           "is off.", minimum=1)
    engine: str = setting("auto", "Thumbnail engine: 'auto' (measured fastest: libjpeg-turbo "
                                  "decodes and encodes JPEGs, mediapipe's compiled Lanczos "
                                  "resizes (OpenCV where it was not built), Pillow reads other "
                                  "formats and writes WebP; Pillow alone where simplejpeg does "
                                  "not load) or 'pillow' (Pillow alone). RAW files are read by "
                                  "libraw either way.", choices=("auto", "pillow"))


@dataclasses.dataclass(frozen=True)
class FFmpegConfig:
    crf: int = setting(23, "Constant rate factor (quality) for the video encoder; lower is "
                           "better and bigger.", minimum=0, maximum=51)
    threads: int = setting(0, "Encoder threads; 0 lets ffmpeg decide.", minimum=0)
    preset: str = setting("ultrafast", "x264/x265 preset (mapped to each accelerator's own: "
                          "p1-p7 on NVENC, 1-7 on QSV and VAAPI, -cpu-used on vp9, 4-12 on "
                          "SVT-AV1); another name is dropped with a warning, as Immich does.")
    target_video_codec: str = setting("h264", "Codec of transcoded video.",
                                      choices=("h264", "hevc", "vp9", "av1"))
    accepted_video_codecs: tuple[str, ...] = setting(
        ("h264",), "Video codecs played as they are (with the target's).",
        choices=("h264", "hevc", "vp9", "av1"))
    target_audio_codec: str = setting("aac", "Codec of re-encoded audio (opus and libopus "
                                             "are the same).",
                                      choices=("aac", "mp3", "opus", "libopus", "pcm_s16le"))
    accepted_audio_codecs: tuple[str, ...] = setting(
        ("aac", "mp3", "libopus"), "Audio codecs kept as they are (with the target's).",
        choices=("aac", "mp3", "opus", "libopus", "pcm_s16le"))
    accepted_containers: tuple[str, ...] = setting(
        ("mov", "ogg", "webm"), "Containers that need no remux (mp4 is always accepted).",
        choices=("mov", "mp4", "ogg", "webm"))
    target_resolution: str = setting("720", "Shorter side of transcoded video ('720', '1080p' "
                                            "…), or 'original'.",
                                     check=check_resolution, normalize=normal_resolution)
    max_bitrate: str = setting("0", "Cap on the video bitrate ('0' = none), e.g. '5000k' or "
                                    "'8M'; a bare number is kbit/s, as in Immich.",
                               check=check_bitrate)
    bframes: int = setting(-1, "B-frames; -1 takes the accelerator's default as Immich sets it "
                               "(QSV: 7), else the encoder's.", minimum=-1, maximum=16)
    refs: int = setting(0, "Reference frames; 0 takes the accelerator's default as Immich sets "
                           "it (QSV: 5), else the encoder's.", minimum=0, maximum=16)
    gop_size: int = setting(0, "Keyframe interval in frames; 0 takes the accelerator's default "
                               "as Immich sets it (hardware encoders: 256), else the encoder's.",
                            minimum=0)
    temporal_aq: bool = setting(False, "NVENC temporal adaptive quantisation.", key="temporalAQ")
    cq_mode: str = setting(
        "auto", "QSV's rate control: 'cqp' encodes with -q:v, else -global_quality:v (vp9: "
                "always -q:v).", choices=("auto", "cqp", "icq"))
    two_pass: bool = setting(False, "Two software passes where the video is encoded with a "
                                    "maxBitrate (vp9: with or without one), as Immich does; "
                                    "NVENC does its passes in one run.")
    preferred_hw_device: str = setting(
        "auto", "The /dev/dri node QSV and VAAPI use (renderD129 or /dev/dri/renderD129); "
                "'auto': the render node with the highest number.")
    transcode: str = setting("required", "When to transcode.",
                             choices=("all", "optimal", "required", "bitrate", "disabled"))
    tonemap: str = setting("hable", "HDR to SDR tone-mapping curve ('disabled' keeps HDR).",
                           choices=("hable", "mobius", "reinhard", "disabled"))
    accel: str = setting("disabled", "Hardware encoder (nvenc, qsv, vaapi, rkmpp); each "
                                     "falls back to software decoding, then to software.",
                         choices=ACCELS)
    accel_decode: bool = setting(True, "Also decode (and scale) on the GPU when accel is set "
                                       "(Immich v3's default: on); falls back to CPU decoding.")
    timeout: int = setting(14400, "Seconds one transcode may take before it is killed "
                                  "(0 = no limit).", minimum=0)
    nice: int = setting(10, "Niceness of the ffmpeg process (0-19).", minimum=0, maximum=19)


@dataclasses.dataclass(frozen=True)
class StorageTemplateConfig:
    enabled: bool = setting(
        True, "Place imported originals by the template (on here: placing by the template is "
              "what `mediapipe import` is for; Immich's default is off). Off, as an Immich "
              "export may say, an import keeps Immich's upload layout, "
              "<id[0:2]>/<id[2:4]>/<id>.<ext> under library/<owner>/, and migrate refuses to "
              "run (Immich skips its migration job).")
    hash_verification_enabled: bool = setting(True, "Verify sha1 after a copy across "
                                                    "filesystems.")
    template: str = setting("{{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}",
                            "Immich storage template, relative to library/<owner>/.",
                            check=check_storage_template)


@dataclasses.dataclass(frozen=True)
class StorageConfig:
    file_mode: str = setting("0644", "Permission bits (octal) of every file mediapipe makes "
                                     "(previews, thumbnails, encoded videos), whatever the "
                                     "umask; originals placed in library/ keep their own.",
                             check=check_mode)
    folder_mode: str = setting("0755", "Permission bits (octal) of the folders mediapipe "
                                       "makes in the media root, whatever the umask.",
                               check=check_mode)

    @property
    def file_bits(self) -> int:
        return int(self.file_mode, 8)

    @property
    def folder_bits(self) -> int:
        return int(self.folder_mode, 8)


@dataclasses.dataclass(frozen=True)
class LibraryScanConfig:
    enabled: bool = setting(True, "Rescan libraries on the schedule below while "
                                  "`ingest --watch` follows them (the safety net for missed "
                                  "events).")
    cron_expression: str = setting("0 0 * * *", "When to rescan, as a cron expression "
                                                "(Immich's default: daily at midnight).",
                                   check=check_cron)
    fingerprint: bool = setting(False, "Also compare a digest of each file's first and last "
                                       "64 KiB at every scan: catches a same-size file put in "
                                       "place with its mtime restored where the filesystem's "
                                       "ctime does not change (FAT, exFAT). Reads up to 128 KiB "
                                       "of every file on each scan.")


@dataclasses.dataclass(frozen=True)
class LibraryWatchConfig:
    enabled: bool = setting(False, "`mediapipe ingest` follows the library after its scan, as "
                                   "with --watch.")
    settle_seconds: float = setting(2.0, "A file is processed once it has not changed for this "
                                         "long: a copy in progress is processed once, at its "
                                         "end.", minimum=0)


@dataclasses.dataclass(frozen=True)
class LibraryConfig:
    scan: LibraryScanConfig = setting(LibraryScanConfig(), "Scheduled rescans.")
    watch: LibraryWatchConfig = setting(LibraryWatchConfig(), "Following libraries for changes.")
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
    image_time_limit: int = setting(300, "Hard time limit (s) of one asset's metadata or "
                                         "thumbnails step, on a worker or in-process: past it "
                                         "the step is killed and fails OverTimeLimit.",
                                    minimum=1)
    video_time_limit: int = setting(14400, "Hard time limit (s) of one asset's video step "
                                           "(transcode) or motion step, as above.", minimum=1)
    max_retries: int = setting(5, "Retries of a task that failed transiently.", minimum=0)
    redispatch_after: int = setting(30, "Seconds without a result before the coordinator sends "
                                        "again the assets still out: all of them after the "
                                        "broker was away, those no worker holds otherwise "
                                        "(steps are idempotent).", minimum=1)
    broker_deadline: int = setting(300, "Seconds a run (coordinator or task) waits for a "
                                        "broker that went away before it gives up; the "
                                        "coordinator's assets stay pending.", minimum=1)


# The date rules after a file's own date tags (``metadata.daterules.DATE_RULES``).
DATE_RULES = ("takeout-json", "filename", "file_mtime")


def check_zone(value: str) -> str | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        if value:
            ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return "an IANA time zone such as 'Europe/Paris', or empty"
    return None


@dataclasses.dataclass(frozen=True)
class MetadataConfig:
    date_rules: tuple[str, ...] = setting(
        DATE_RULES, "Where the date of a file with no date tag comes from, tried in this order "
                    "(a rule left out is off; the file's own date always wins): a Google "
                    "Takeout JSON sidecar's photoTakenTime, the file name (IMG_20190412_123456, "
                    "PXL_…, IMG-20190412-WA0001, Screenshot_2019-04-12-12-34-56…), the file's "
                    "modification time. taken_at_source names the rule that gave it.",
        choices=DATE_RULES)
    local_time_zone: str = setting(
        "", "IANA zone of a camera-local QuickTime date (Nikon, Sony, Canon videos) where the "
            "video has no position; empty: the wall time stays with no offset.",
        check=check_zone)


@dataclasses.dataclass(frozen=True)
class ReverseGeocodingConfig:
    enabled: bool = setting(True, "Name the city, state and country at a photo's position "
                                  "(GeoNames, offline; about 20 MB per process).")


@dataclasses.dataclass(frozen=True)
class Config:
    media_root: str = setting("", "The media root (library/ thumbs/ encoded-video/ profile/).")
    owner_id: str = setting("admin", "Owner folder name under library/, thumbs/ and "
                                     "encoded-video/.")
    broker_url: str = setting("", "Celery broker (redis://host:port/db, rediss://, unix://); "
                                  "empty runs in-process.", check=check_broker_url)
    image: ImageConfig = setting(ImageConfig(), "Previews, thumbnails, full-size images.")
    ffmpeg: FFmpegConfig = setting(FFmpegConfig(), "Video transcoding.")
    storage_template: StorageTemplateConfig = setting(StorageTemplateConfig(),
                                                      "Where imported originals go.")
    storage: StorageConfig = setting(StorageConfig(), "What the files mediapipe writes look "
                                                      "like on disk.")
    library: LibraryConfig = setting(LibraryConfig(), "External library scans.")
    worker: WorkerConfig = setting(WorkerConfig(), "Celery workers.")
    metadata: MetadataConfig = setting(MetadataConfig(), "Dates of files with no date tag, and "
                                                         "the zone of camera-local times.")
    reverse_geocoding: ReverseGeocodingConfig = setting(ReverseGeocodingConfig(),
                                                        "Place names from positions.")

    def to_dict(self) -> dict[str, Any]:
        """The settings in file shape (camelCase keys); ``from_dict`` reads it back."""
        return coerce.to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Config:
        """Defaults overlaid with ``data`` (file shape; camelCase or snake_case keys)."""
        return coerce.build(cls, data)

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)
