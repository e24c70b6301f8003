"""The metadata wing: one file in, one ``MediaInfo`` out (EXIF, XMP, QuickTime, stream headers).

Modules: ``read`` (the stage's entry, ``read_metadata``), ``model`` (``MediaInfo``,
``StreamInfo``), ``blocks`` (an image's metadata blocks, found without decoding), ``exif``,
``xmp``, ``dates`` (which date wins, Immich's rules), ``video`` (PyAV headers).
"""
