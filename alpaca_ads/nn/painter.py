"""The painter: a small conv net that paints the background at low resolution.

From the background style and its two colours it paints an RGB image of
`cfg.paint_res` x `cfg.paint_res`; the renderer upsamples it to the banner. Coordinates are
input channels (CoordConv), so gradients and patterns are a function of position.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import AdsConfig


class Painter(nn.Module):
    def __init__(self, cfg: AdsConfig, width: int = 32):
        super().__init__()
        self.res = cfg.paint_res
        self.style = nn.Embedding(len(cfg.bg_styles), width)
        self.colours = nn.Linear(6, width)
        self.net = nn.Sequential(
            nn.Conv2d(width + 2, width, 3, padding=1), nn.GELU(),
            nn.Conv2d(width, width, 3, padding=1), nn.GELU(),
            nn.Conv2d(width, width, 3, padding=1), nn.GELU(),
            nn.Conv2d(width, 3, 1))
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, self.res), torch.linspace(-1, 1, self.res),
                                indexing="ij")
        self.register_buffer("coords", torch.stack([xs, ys]), persistent=False)

    def forward(self, style: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
        """style (B,), colours (B, 6) in [0, 1] -> RGB (B, 3, R, R) in [0, 1]."""
        b = style.shape[0]
        code = self.style(style) + self.colours(colours)  # (B, W)
        grid = code[:, :, None, None].expand(-1, -1, self.res, self.res)
        x = torch.cat([grid, self.coords.expand(b, -1, -1, -1)], 1)
        base = colours[:, :3, None, None]  # the first colour as a residual base
        return (base + self.net(x)).clamp(0, 1)
