"""The config checks: Literal fields validated from their annotations, ranges by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from anchorhoi.config_checks import check_at_least, check_choices, check_positive, literal_choices

Mode = Literal["fast", "exact"]


@dataclass(frozen=True, kw_only=True)
class Example:
    mode: Mode = "fast"
    level: Literal[0, 1, 2] = 1
    kind: Literal["a", "b"] | None = None
    order: tuple[Mode, ...] = ("fast",)
    name: str = "free text"

    def __post_init__(self) -> None:
        check_choices(self)


def test_defaults_and_every_choice_pass():
    Example()
    for mode in ("fast", "exact"):
        for level in (0, 1, 2):
            for kind in ("a", "b", None):
                Example(mode=mode, level=level, kind=kind, order=("exact", "fast", "exact"))
    Example(name="anything at all", order=())


def test_a_wrong_value_names_the_field_the_value_and_the_choices():
    with pytest.raises(ValueError) as info:
        Example(mode="slow")
    assert str(info.value) == "Example.mode must be one of 'fast', 'exact'; got 'slow'"
    with pytest.raises(ValueError, match=r"Example\.kind must be one of 'a', 'b', None; got 'c'"):
        Example(kind="c")


def test_values_must_have_the_choice_type():
    for level in (True, 1.0, "1", 3):
        with pytest.raises(ValueError, match=r"Example\.level must be one of 0, 1, 2"):
            Example(level=level)
    with pytest.raises(ValueError, match=r"Example\.mode must be one of"):
        Example(mode=None)


def test_tuple_items_are_checked_one_by_one():
    with pytest.raises(ValueError, match=r"Example\.order: each item must be one of 'fast', "
                                         r"'exact'; got 'slow' in \('fast', 'slow'\)"):
        Example(order=("fast", "slow"))
    with pytest.raises(ValueError, match=r"Example\.order must be a tuple of"):
        Example(order="fast")


def test_literal_choices_reads_the_annotation():
    assert literal_choices(Mode) == ("fast", "exact")
    assert literal_choices(Mode | None) == ("fast", "exact", None)
    assert literal_choices(Literal["x"] | Literal["y"]) == ("x", "y")
    assert literal_choices(str) is None
    assert literal_choices(Mode | str) is None  # open-ended: nothing to check
    assert literal_choices(int | None) is None


@dataclass(frozen=True, kw_only=True)
class Counts:
    steps: int = 1
    rate: float = 0.1


def test_range_checks_name_the_field_the_rule_and_the_value():
    check_at_least(Counts(steps=0), 0, ("steps",))
    check_positive(Counts(), ("steps", "rate"))
    with pytest.raises(ValueError) as info:
        check_at_least(Counts(steps=0, rate=2.0), 1, ("rate", "steps"))
    assert str(info.value) == "Counts.steps must be ≥ 1; got 0"
    for rate in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match=r"Counts\.rate must be > 0; got"):
            check_positive(Counts(rate=rate), ("steps", "rate"))


def test_the_configs_use_it():
    """Every config with a Literal field rejects a value outside it (a sample of them)."""
    from anchorhoi.keypoints.anchor_keypoints import AnchorKeypointsConfig
    from anchorhoi.motion.config import MotionConfig, MotionSchedule, ReprojectionConfig
    from anchorhoi.nerf.samplers import SamplerConfig
    from anchorhoi.priors.base import TimestepRamp

    for make in (lambda: AnchorKeypointsConfig(align="affine"),
                 lambda: SamplerConfig(kind="proposal"),
                 lambda: TimestepRamp(anneal="cosine"),
                 lambda: MotionConfig(hands="both"),
                 lambda: ReprojectionConfig(robust_loss="l2"),
                 lambda: MotionSchedule(initial_poses=("key", "lying"))):
        with pytest.raises(ValueError, match="must be one of"):
            make()
