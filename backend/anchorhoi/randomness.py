"""Random draws that work whatever device the job's generator lives on.

The job seeds one ``torch.Generator`` per stage on the job's device (``job/context.py``). A CUDA
generator cannot draw a CPU tensor (torch raises "Expected a 'cpu' device type for generator"),
and a CPU generator cannot draw a CUDA one, so every draw names its device: either the draw
happens on ``generator.device`` and the result is moved, or CPU-side sampling uses
``cpu_generator``, a CPU generator seeded by one draw from the job's generator.
``tests/test_device_rules.py`` checks the rule statically: every ``torch.rand*`` /
``randint`` / ``randperm`` / ``normal`` with a ``generator`` names its ``device``, and
``torch.multinomial`` (which takes none) is called with a generator only here.
"""

from __future__ import annotations

import torch

SEED_BOUND = 2 ** 62
"""Seeds drawn for derived generators lie in ``[0, SEED_BOUND)``."""


def draw_seed(generator: torch.Generator) -> int:
    """One seed drawn from ``generator`` (on its own device; one host sync)."""
    return int(torch.randint(0, SEED_BOUND, (1,), generator=generator,
                             device=generator.device))


def cpu_generator(generator: torch.Generator) -> torch.Generator:
    """``generator`` itself when it is a CPU generator, else a CPU generator seeded by one draw
    from it (so CPU-side sampling stays reproducible from the job's seed)."""
    if generator.device.type == "cpu":
        return generator
    return torch.Generator(device="cpu").manual_seed(draw_seed(generator))


def multinomial(weights: torch.Tensor, n: int, *, replacement: bool,
                generator: torch.Generator | None) -> torch.Tensor:
    """``torch.multinomial`` of ``weights (K,)`` drawn on the generator's device; the ``(n,)``
    indices are returned on ``weights.device``."""
    if generator is None:
        return torch.multinomial(weights, n, replacement=replacement)
    ids = torch.multinomial(weights.to(generator.device), n, replacement=replacement,
                            generator=generator)
    return ids.to(weights.device)


def randperm(n: int, *, generator: torch.Generator, device: torch.device | str
             ) -> torch.Tensor:
    """A random permutation of ``0 … n-1`` drawn on the generator's device, on ``device``."""
    return torch.randperm(n, generator=generator, device=generator.device).to(device)
