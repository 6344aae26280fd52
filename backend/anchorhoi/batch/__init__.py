"""Batch generation: many requests, one job folder each, run over Ray (``anchorhoi batch``).

``records``: what the batch knows about each job and the summary files ``batch.json`` /
``batch.csv``; ``contact_sheet``: ``contact_sheet.png``, every job's key-pose preview on one
page. See ``docs/batch.md``.
"""
