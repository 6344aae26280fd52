"""Fixtures of the stage A/B tests."""

from __future__ import annotations

import pytest
import torch

from anchorhoi.body import BodyModel


@pytest.fixture(scope="module")
def body():
    """The procedural body, with one torch thread while the module's tests run: the fits are
    many small ops, which a second thread only slows down."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield BodyModel()
    torch.set_num_threads(threads)
