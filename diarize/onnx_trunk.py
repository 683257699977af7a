"""CAM++'s trunk (fbank → frame-level features) on ONNX Runtime, for the CPU.

The trunk is where diarization spends its time (about 80 %: one pass per 10 s window) and where the voice stage spends
its own. On this project's 2-core machine, 16 windows of 10 s took 4.7–5.2 CPU seconds under ONNX Runtime against
13.7–16.1 under torch, with the same frames (largest difference 2e-5 on values up to 8). The graph is exported from
the loaded network once per process (torch's exporter, which needs the ``onnx`` package) and kept in memory: nothing
is written to disk, so what runs is always the installed weights.

ONNX Runtime's own threads spin while they wait by default; as with OpenMP (``minutes.threads``) they are told to
sleep instead, since the app, the worker and a live session share the cores. This module imports torch and
onnxruntime at import time: import it lazily (``diarize.campplus`` does).
"""

from __future__ import annotations

import io
import threading
import warnings

import numpy as np
import onnxruntime
import torch
from torch import nn

from minutes.errors import ModelError

_LOCK = threading.Lock()
_SESSIONS: dict[tuple[str, int], onnxruntime.InferenceSession] = {}


class _Trunk(nn.Module):
    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.network.frames(features)


def export(network: nn.Module, mel_bins: int) -> bytes:
    """The ONNX graph of ``network.frames`` (CAM++), batch and frame count left free."""
    buffer = io.BytesIO()
    # Traced outside any inference_mode of the caller (pyannote's), on features whose values do not matter.
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        sample = torch.zeros((1, 300, mel_bins))
        warnings.simplefilter("ignore")  # the exporter's notes on traced shapes and its deprecation of dynamic_axes
        torch.onnx.export(
            _Trunk(network).eval(),
            (sample,),
            buffer,
            input_names=["features"],
            output_names=["frames"],
            dynamic_axes={"features": {0: "batch", 1: "frames"}, "frames": {0: "batch", 2: "half_frames"}},
            opset_version=17,
            dynamo=False,
        )
    return buffer.getvalue()


def session_for(key: str, network: nn.Module, mel_bins: int) -> onnxruntime.InferenceSession:
    """An ONNX Runtime session of ``network``'s trunk, made once per ``key`` (the checkpoint) and thread count."""
    threads = torch.get_num_threads()
    with _LOCK:
        session = _SESSIONS.get((key, threads))
        if session is None:
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            # Without its arena ONNX Runtime gives the windows' activations back after each batch: diarizing the
            # sample council alone peaked at 1.72 GB RSS instead of 2.13 (torch: 1.97), at about the same CPU time.
            options.enable_cpu_mem_arena = False
            try:
                graph = export(network, mel_bins)
            except torch.onnx.OnnxExporterError as error:  # the onnx package missing: an install left undone
                raise ModelError(
                    "話者の特徴を計算する準備ができません（onnx パッケージがありません）。"
                    "管理者に scripts/setup.sh の再実行を依頼してください。",
                    f"ONNX export of CAM++ failed: {error}",
                ) from error
            session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
            _SESSIONS[(key, threads)] = session
    return session


def run(session: onnxruntime.InferenceSession, features: torch.Tensor) -> torch.Tensor:
    """(batch, frames, 80) features → (batch, 512, frames / 2) frame-level features, as ``CAMPPlus.frames``."""
    (frames,) = session.run(None, {"features": np.ascontiguousarray(features.detach().numpy(), dtype=np.float32)})
    return torch.from_numpy(frames)
