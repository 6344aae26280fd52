"""Every random draw names the device it happens on (read from the source with ``ast``).

The job's generators live on the job's device (``job/context.py``): on a CUDA card a draw
without ``device=`` makes a CPU tensor from a CUDA generator, which torch refuses. On this CPU
machine the generator is a CPU one, so only a static check can see the mistake:

- ``torch.rand`` / ``randn`` / ``randint`` / ``randperm`` / ``normal`` (every ``torch.rand*``)
  called with a ``generator`` also pass ``device=``;
- ``torch.multinomial`` / ``bernoulli`` / ``poisson`` / ``*_like`` (which take no device: they
  draw where their input lives) get a generator only inside ``anchorhoi/randomness.py``, whose
  helpers move the input to ``generator.device`` first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from anchorhoi import randomness

PACKAGE = Path(__file__).resolve().parents[1] / "backend" / "anchorhoi"
NAMES_DEVICE = ("rand", "randn", "randint", "randperm", "normal")
INPUT_DEVICE = ("multinomial", "bernoulli", "poisson", "rand_like", "randn_like",
                "randint_like", "normal_like")
HELPERS = PACKAGE / "randomness.py"


def _draw_name(call: ast.Call) -> str | None:
    f = call.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "torch":
        return f.attr
    return None


def problems(source: str, filename: str, *, helpers: bool = False) -> list[str]:
    """Each draw in ``source`` that breaks the rule, as ``file:line: torch.name (why)``."""
    out = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if not isinstance(node, ast.Call):
            continue
        name = _draw_name(node)
        keys = {k.arg for k in node.keywords}
        if name is None or "generator" not in keys:
            continue
        generator = next(k.value for k in node.keywords if k.arg == "generator")
        if isinstance(generator, ast.Constant) and generator.value is None:
            continue
        if (name.startswith("rand") and not name.endswith("_like")) or name in NAMES_DEVICE:
            if "device" not in keys:
                out.append(f"{filename}:{node.lineno}: torch.{name} (a generator but no device)")
        elif name in INPUT_DEVICE and not helpers:
            out.append(f"{filename}:{node.lineno}: torch.{name} (draws on its input's device: "
                       "use anchorhoi.randomness)")
    return out


def test_every_draw_with_a_generator_names_its_device():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += problems(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE)),
                          helpers=path == HELPERS)
    assert found == []


def test_the_rule_sees_the_draws_the_issue_names():
    bad = """
import torch
seed = int(torch.randint(0, 2 ** 62, (1,), generator=generator))
pick = torch.randperm(len(vu),
                      generator=generator)[:10]
ids = torch.multinomial(weights, n, replacement=False, generator=self.generator)
u = torch.rand(n, 2, generator=generator, dtype=torch.float64)
"""
    good = """
import torch
a = torch.randint(0, 9, (1,), generator=g, device=g.device)
b = torch.rand(3, generator=None)
c = torch.randn(3)
d = torch.multinomial(w, 2)
"""
    assert sorted(p.split(": ")[1].split(" ")[0] for p in problems(bad, "x.py")) == [
        "torch.multinomial", "torch.rand", "torch.randint", "torch.randperm"]
    assert problems(good, "x.py") == []


def test_cpu_generator_is_the_generator_itself_on_the_cpu():
    g = torch.Generator().manual_seed(3)
    assert randomness.cpu_generator(g) is g


def test_multinomial_returns_on_the_weights_device_and_follows_the_seed():
    w = torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=torch.float64)
    a = randomness.multinomial(w, 3, replacement=False, generator=torch.Generator().manual_seed(5))
    b = randomness.multinomial(w, 3, replacement=False, generator=torch.Generator().manual_seed(5))
    assert a.device == w.device and torch.equal(a, b)
    assert 0 not in a.tolist() and sorted(a.tolist()) == [1, 2, 3]


@pytest.mark.parametrize("n", [1, 7])
def test_randperm_is_a_permutation_on_the_asked_device(n):
    p = randomness.randperm(n, generator=torch.Generator().manual_seed(1), device="cpu")
    assert sorted(p.tolist()) == list(range(n)) and p.device.type == "cpu"


def test_draw_seed_lies_in_its_bound():
    s = randomness.draw_seed(torch.Generator().manual_seed(0))
    assert 0 <= s < randomness.SEED_BOUND


# --- offload: a diffusers module's inputs go to its execution device ------------------------

MODEL_PARTS = ("vae", "text_encoder", "text_encoder_2", "unet", "transformer", "transformer_2",
               "image_encoder")


def module_device_reads(source: str, filename: str) -> list[str]:
    """``<x>.vae.device`` / ``vae.device``-style reads: under model CPU offload they name the
    CPU, not where the module runs."""
    out = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Attribute) and node.attr == "device":
            owner = node.value
            name = owner.attr if isinstance(owner, ast.Attribute) else \
                owner.id if isinstance(owner, ast.Name) else None
            if name in MODEL_PARTS:
                out.append(f"{filename}:{node.lineno}: {name}.device")
    return out


def test_no_model_input_is_sent_to_a_module_device():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += module_device_reads(path.read_text(encoding="utf-8"),
                                     str(path.relative_to(PACKAGE)))
    assert found == []
    sample = "x = video.to(device=vae.device)\ny = pipe.text_encoder.device"
    assert sorted(module_device_reads(sample, "x.py")) == [
        "x.py:1: vae.device", "x.py:2: text_encoder.device"]


def test_execution_device_of_a_plain_module_is_its_own():
    from anchorhoi.devices import execution_device

    assert execution_device(torch.nn.Linear(2, 2)) == torch.device("cpu")


# --- precision by card ------------------------------------------------------------------------

def test_bf16_only_where_the_card_has_it():
    from anchorhoi.devices import half_dtype
    from anchorhoi.video.base import resolve_dtype

    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert half_dtype(cuda, bf16=True) == torch.bfloat16
    assert half_dtype(cuda, bf16=False) == torch.float16
    assert resolve_dtype("auto", cuda, bf16=True) == torch.bfloat16
    assert resolve_dtype("auto", cuda, bf16=False) == torch.float16
    assert resolve_dtype("float16", cuda, bf16=False) == torch.float16
    with pytest.raises(ValueError, match="has no bfloat16; use dtype 'auto' or 'float16'"):
        resolve_dtype("bfloat16", cuda, bf16=False)
    assert resolve_dtype("auto", cpu) == torch.float32
    with pytest.raises(ValueError, match="needs a CUDA device"):
        resolve_dtype("float16", cpu)
