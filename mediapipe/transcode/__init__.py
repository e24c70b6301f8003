"""The transcode wing: what to do with a video, the ffmpeg argv, and running it with fallback.

Modules: ``plan`` (Immich's policy as data: ``plan_transcode``), ``argv`` (the ffmpeg argv that
carries a plan out: ``build_command``), ``run``
(ffmpeg with progress and the accelerator fallback chain), ``toolchain`` (which programs and
encoders really work here).
"""
