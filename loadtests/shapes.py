"""Load shapes for Locust: step (finds the saturation point), spike, soak.

Each plays the stages of `loadtests.stages`, built from Locust's options when the run starts,
so the same shapes work headless (`--shape step`) and from the web UI's class picker.
"""

from __future__ import annotations

import time
from typing import ClassVar

from locust import LoadTestShape

from loadtests.arguments import shape_settings
from loadtests.stages import (
    STAGE_BUILDERS,
    ShapeSettings,
    Stage,
    StageBuilder,
    stage_at,
)


class StagedShape(LoadTestShape):
    """Plays a list of stages; returns None after the last one, which ends the run."""

    abstract: ClassVar[bool] = True
    use_common_options: ClassVar[bool] = True
    kind: ClassVar[str] = ""

    def __init__(self, settings: ShapeSettings | None = None) -> None:
        # LoadTestShape.__init__ only does this (and is untyped).
        self.start_time = time.perf_counter()
        self._fixed = settings

    def settings(self) -> ShapeSettings:
        if self._fixed is not None:
            return self._fixed
        options = self.runner.environment.parsed_options if self.runner else None
        return shape_settings(options)

    def stages(self) -> list[Stage]:
        build: StageBuilder = STAGE_BUILDERS[self.kind]
        return build(self.settings())

    def tick(self) -> tuple[int, float] | None:
        return stage_at(self.stages(), time.perf_counter() - self.start_time)


class StepShape(StagedShape):
    kind = "step"


class SpikeShape(StagedShape):
    kind = "spike"


class SoakShape(StagedShape):
    kind = "soak"


SHAPES: dict[str, type[StagedShape]] = {cls.kind: cls for cls in (StepShape, SpikeShape, SoakShape)}
