"""Reliability: with numbers, the pipeline keeps working on bad input and faults, and loses nothing.

Run: ``make test`` (short variants, ~1.5 min on 2 cores) or ``make soak`` (``-m slow``: more
files, Celery, more kills, ~1-2 min). Both end with a table: per case, files tried, processed,
failed-clean (a ``MediaError`` type, reported), crashed (must be 0), lost (must be 0), partial
files (must be 0), and the peak RSS of the ingest process tree.

- ``test_originals``: sha256, size and mtime of every file of the fixture set, of a library with
  XMP sidecars and of ../shared/samples are unchanged by an ingest in place.
- ``test_bad_input``: a seeded corpus of 300+ bad files (``fixtures.bad``) and the real bad
  samples through ``mediapipe ingest``; time limit 240 s; memory bound: the ingest process tree
  stays under 768 MiB for the corpus (measured ~300 MiB, 2 workers) and under 2560 MiB for the
  real bad samples, whose 200MP.heic (199.8 MP, under the default ``image.maxPixels``) is really
  decoded (measured ~1.65 GiB, 1 worker).
- ``test_storage_faults``: thumbs disk unmounted mid-run (bind mount) and full (2 MiB tmpfs).
- ``test_worker_faults``: SIGKILL of Celery pool children and whole workers mid-thumbnail and
  mid-transcode; ``redis-server`` restarted mid-ingest.
- ``test_hostile_names``: newlines, non-UTF-8 bytes, leading dashes (``-i.mp4`` transcoded),
  255-byte names, and template/album values that try to leave the root.
"""
