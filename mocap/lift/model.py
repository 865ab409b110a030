"""The lifting network: dilated 1-D convolutions over time predicting a correction to
BlazePose's root-relative 3D landmarks (torch; imported only where torch is wanted).

Input per frame: :func:`mocap.lift.data.model_input` (198 values); output per frame: 33 x 3
metres added to the input's 3D, camera axes, root-relative (the hip midpoint is put back at
the origin afterwards).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from mocap.lift.data import HIPS, INPUT_WIDTH, NUM_LANDMARKS


@dataclass(frozen=True)
class LifterConfig:
    """Shape of the network.

    Attributes:
        channels: width of every hidden layer.
        dilations: one residual block per entry (kernel 3, this dilation); the receptive
            field is ``1 + 2 * sum(dilations)`` frames.
        dropout: dropout after each hidden layer while training.
    """

    channels: int = 128
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16)
    dropout: float = 0.0

    @property
    def receptive_field(self) -> int:
        """Frames one output sees (centred)."""
        return 1 + 2 * sum(self.dilations)

    def to_dict(self) -> dict:
        """JSON-friendly."""
        d = asdict(self)
        d["dilations"] = list(self.dilations)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> LifterConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(int(d["channels"]), tuple(int(x) for x in d["dilations"]),
                   float(d["dropout"]))


class _Block(nn.Module):
    # No batch normalisation: batches of random cameras and people have statistics so
    # unlike one another that BatchNorm's running averages left the network in eval mode
    # 15-20 mm worse than in training mode (measured); the block's last layer starts at
    # zero so the stack starts as the identity and trains stably without it.
    def __init__(self, channels: int, dilation: int, dropout: float) -> None:
        super().__init__()
        # replicate padding: a track's first and last poses continue, not zeros
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation,
                              padding_mode="replicate")
        self.mix = nn.Conv1d(channels, channels, 1)
        nn.init.zeros_(self.mix.weight)
        nn.init.zeros_(self.mix.bias)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.drop(torch.relu(self.conv(x)))
        return torch.relu(x + self.mix(y))


class Lifter(nn.Module):
    """(B, L, 198) inputs -> (B, L, 33, 3) root-relative 3D, metres, camera axes."""

    def __init__(self, config: LifterConfig | None = None) -> None:
        super().__init__()
        self.config = config or LifterConfig()
        c = self.config.channels
        self.inp = nn.Sequential(nn.Conv1d(INPUT_WIDTH, c, 1), nn.ReLU())
        self.blocks = nn.ModuleList(_Block(c, d, self.config.dropout)
                                    for d in self.config.dilations)
        self.out = nn.Conv1d(c, NUM_LANDMARKS * 3, 1)
        # start as the identity (output = BlazePose's 3D): the network learns a correction
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        b, length, _ = inputs.shape
        x = self.inp(inputs.transpose(1, 2))
        for block in self.blocks:
            x = block(x)
        delta = self.out(x).transpose(1, 2).reshape(b, length, NUM_LANDMARKS, 3)
        base = inputs[..., NUM_LANDMARKS * 3:].reshape(b, length, NUM_LANDMARKS, 3)
        pose = base + delta
        return pose - pose[:, :, list(HIPS)].mean(2, keepdim=True)


def save(model: Lifter, path, extra: dict | None = None) -> None:
    """Write the weights (float16: half the size; the outputs move by well under 1 mm) and
    the config to ``path``."""
    state = {k: (v.half() if v.is_floating_point() else v)
             for k, v in model.state_dict().items()}
    torch.save({"config": model.config.to_dict(), "state": state, "extra": extra or {}}, path)


def load(path) -> Lifter:
    """The network saved by :func:`save`, float32, in eval mode."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model = Lifter(LifterConfig.from_dict(blob["config"]))
    model.load_state_dict({k: (v.float() if v.is_floating_point() else v)
                           for k, v in blob["state"].items()})
    return model.eval()
