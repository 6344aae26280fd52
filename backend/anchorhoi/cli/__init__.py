"""The ``anchorhoi`` command: ``generate``, ``serve``, ``selftest``, ``doctor``.

Imports stay light until a command needs torch, so ``serve`` answers its handshake at once.
"""
