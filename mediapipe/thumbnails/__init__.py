"""The thumbnails wing: preview, thumbnail and thumbhash from one decode of a photo or a video.

Modules: ``make`` (the stage's entry, ``make_thumbnails``), ``engine`` (image engines and
their primitives), ``geometry`` (size arithmetic), ``thumbhash``, ``videoframe`` (the still that
stands for a video).
"""
