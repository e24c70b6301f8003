"""mediapipe: a media-processing pipeline for self-hosted photo and video libraries.

Pure stages (``metadata``, ``template``, ``thumbnails``, ``transcode``) turn a source file into
values and bytes; ``storage`` writes them atomically into a marker-guarded media root;
``pipeline`` composes the two; ``cli`` and ``workers`` drive the pipeline in-process or on Celery.
See ARCHITECTURE in the project's shared notes and README.md.
"""

__version__ = "0.1.0"
