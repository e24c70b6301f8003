"""mediapipe: a media-processing pipeline for self-hosted photo and video libraries.

Pure stages turn a source file into values and bytes: ``read_metadata`` (a ``MediaInfo``),
``make_thumbnails`` (preview, thumbnail, thumbhash), ``plan_transcode`` and ``build_command``
(Immich's transcode policy as data, and the ffmpeg argv that carries it out), ``render_path``
(a storage template); ``init_root`` makes a marker-guarded media root that every write checks;
``process_asset`` runs a ``Pipeline`` (the product's is ``PIPELINE``) over one file into a media
root, and ``LocalRunner`` over many. Settings are a ``Config`` (``load`` reads a file and the
``MEDIAPIPE_*`` environment). Every error mediapipe raises is a ``MediapipeError``. These names
are imported on first use (``exports.lazy``, from where the ``TYPE_CHECKING`` block says):
``import mediapipe`` itself loads nothing heavy. The wings export
their own (``mediapipe.metadata``, ``mediapipe.thumbnails``, ``mediapipe.transcode``,
``mediapipe.pipeline``, ``mediapipe.config``, ``mediapipe.library``, ``mediapipe.index``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mediapipe.exports import lazy

__version__ = "0.1.0"

__all__ = ["PIPELINE", "Asset", "AssetResult", "Config", "ErrorRecord", "LocalRunner",
           "MediaError", "MediaInfo", "MediapipeError", "Pipeline", "Source", "StageOutcome",
           "Status", "Step", "StreamInfo", "Thumbnails", "TranscodePlan", "__version__",
           "asset_id_for_path", "build_command", "init_root", "load", "make_thumbnails",
           "plan_transcode", "process_asset", "read_metadata", "render_path"]
__getattr__, __dir__ = lazy(__name__)

if TYPE_CHECKING:
    from mediapipe.config import Config, load
    from mediapipe.errors import ErrorRecord, MediaError, MediapipeError
    from mediapipe.identity import asset_id_for_path
    from mediapipe.library.storage import init_root
    from mediapipe.metadata.model import MediaInfo, StreamInfo
    from mediapipe.metadata.read import read_metadata
    from mediapipe.pipeline.drive import process_asset
    from mediapipe.pipeline.local import LocalRunner
    from mediapipe.pipeline.state import Asset, AssetResult, StageOutcome, Status
    from mediapipe.pipeline.steps import PIPELINE, Pipeline, Step
    from mediapipe.sources import Source
    from mediapipe.template import render_path
    from mediapipe.thumbnails.make import Thumbnails, make_thumbnails
    from mediapipe.transcode.argv import build_command
    from mediapipe.transcode.plan import TranscodePlan, plan_transcode
