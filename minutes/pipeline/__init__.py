"""The recognition pipeline, stage by stage: decode → transcribe → guards → (diarize) → assign.

Each stage is a module of its own that takes records (``minutes.records``) and an options dataclass and returns
records; none of them knows about the database, the services or the pages. ``run`` chains them for one recording.
"""

from minutes.pipeline.run import PipelineOptions, PipelineResult, run_pipeline

__all__ = ["PipelineOptions", "PipelineResult", "run_pipeline"]
