"""The threads a stage's torch work runs on: one for a CPU preset on the CPU, torch's own choice
otherwise, and the previous count back after the stage (a ``serve`` process runs many jobs)."""

from __future__ import annotations

import pytest
import torch

from anchorhoi.job.resources import stage_threads, torch_threads


def test_a_cpu_preset_on_the_cpu_gets_one_thread():
    assert stage_threads("cpu", gpu_preset=False) == 1
    assert stage_threads("cpu", gpu_preset=True) is None  # a GPU preset forced onto the CPU
    assert stage_threads("cuda", gpu_preset=False) is None


def test_the_thread_count_comes_back_after_the_block_even_on_error():
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with torch_threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError, match="stage failed"), torch_threads(1):
            raise RuntimeError("stage failed")
        assert torch.get_num_threads() == 2
        with torch_threads(None):
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(saved)
