"""The image generator G, second half: the learned painter (layout -> pixels).

- `Painter`: a small conv decoder that paints one object's sprite (a mask of where its ink goes)
  from the embedding of its shape, size and style and of which half of its pixel the object's centre
  falls in, with CoordConv channels measured from that half-pixel. A sprite on the pixel grid moves
  by a whole pixel when the centre of an object of even height (or width) crosses the middle of its
  pixel, and not at all otherwise, so the half-pixel is all the sub-pixel position a tile can show;
  fed the exact fraction, the painter blurred that step into outlines two pixels thick, and striped
  or outlined stars and small striped hearts never read back as themselves. Colour is not an input:
  the sprite is filled with the slot's palette colour, which keeps colour and shape independent and
  lets unseen colour+shape pairs paint as well as seen ones. Its output is a per-pixel choice (ink
  or not), the palette-classification output docs/model-notes.md recommends over RGB regression.
- `BackgroundPainter`: a learned map of where a gradient background shows its second colour.
- `compose`: pastes the sprites at the positions the layout gives, in slot order, over the
  background, and returns uint8 images. Trained on sprites cut from the renderer's images at the
  true layout; the renderer itself is never called here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import AlpacaConfig
from .layout import Layout


def sprite_coords(frac: torch.Tensor, res: int, sprite: int) -> torch.Tensor:
    """frac (N, 2) sub-pixel centre in [0, 1) -> (N, 2, res, res) offsets from the centre."""
    step = sprite / res
    grid = (torch.arange(res, device=frac.device) + 0.5) * step - sprite // 2  # (res,)
    dx = (grid[None, None, :] - frac[:, 0, None, None]) / (sprite / 2)  # (N, 1, res)
    dy = (grid[None, :, None] - frac[:, 1, None, None]) / (sprite / 2)  # (N, res, 1)
    return torch.stack([dx.expand(-1, res, res), dy.expand(-1, res, res)], 1)


class Painter(nn.Module):
    """(shape, size, style, sub-pixel centre) -> (N, S, S) ink logits."""

    def __init__(self, cfg: AlpacaConfig):
        super().__init__()
        d, c, s = cfg.d_model, cfg.painter_channels, cfg.sprite_size
        if s % 4:
            raise ValueError(f"sprite_size {s} must be a multiple of 4")
        self.sprite, self.c = s, c
        self.shape = nn.Embedding(len(cfg.shapes), d)
        self.size = nn.Embedding(len(cfg.sizes), d)
        self.style = nn.Embedding(len(cfg.styles), d)
        self.half_pixel = nn.Embedding(4, d)  # (x, y) halves of the centre's pixel
        self.seed = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, c * (s // 4) ** 2))
        self.film = nn.Linear(d, 3 * c)
        self.conv1 = nn.Conv2d(c + 2, c, 3, padding=1)  # at S/4
        self.conv2 = nn.Conv2d(c + 2, c, 3, padding=1)  # at S/2
        self.conv3 = nn.Conv2d(c + 2, c, 3, padding=1)  # at S/2
        self.out = nn.Conv2d(c, 4, 1)  # 4 sub-pixels each -> S via pixel shuffle

    def forward(self, shape: torch.Tensor, size: torch.Tensor, style: torch.Tensor,
                frac: torch.Tensor) -> torch.Tensor:
        """shape/size/style (N,) long, frac (N, 2) -> ink logits (N, S, S)."""
        n, s, c = shape.shape[0], self.sprite, self.c
        upper = (frac >= 0.5).long()  # (N, 2) which half of the pixel, per axis
        frac = 0.25 + 0.5 * upper.to(frac.dtype)  # the half's middle: all a tile can show
        e = self.shape(shape) + self.size(size) + self.style(style)  # (N, d)
        e = e + self.half_pixel(upper[:, 0] + 2 * upper[:, 1])
        film = self.film(e)[:, :, None, None].chunk(3, 1)  # 3 x (N, c, 1, 1)
        x = self.seed(e).view(n, c, s // 4, s // 4)
        x = F.gelu(self.conv1(torch.cat([x, sprite_coords(frac, s // 4, s)], 1)) + film[0])
        x = F.interpolate(x, scale_factor=2, mode="nearest")  # (N, c, S/2, S/2)
        x = F.gelu(self.conv2(torch.cat([x, sprite_coords(frac, s // 2, s)], 1)) + film[1])
        x = F.gelu(self.conv3(torch.cat([x, sprite_coords(frac, s // 2, s)], 1)) + film[2])
        return F.pixel_shuffle(self.out(x), 2)[:, 0]  # (N, S, S)


class BackgroundPainter(nn.Module):
    """Where a two-colour background shows its second colour: a learned per-pixel logit map
    (the renderer dithers gradients row by row; this learns the pattern from its images)."""

    def __init__(self, image_size: int):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(image_size, image_size))

    def forward(self) -> torch.Tensor:
        """-> (H, W) logits that a pixel takes the gradient colour."""
        return self.logits


def centres(layout: Layout, grid: int, image_size: int) -> torch.Tensor:
    """(B, K, 2) object centres (x, y) in pixels from cells and offsets."""
    row, col = layout.cell // grid, layout.cell % grid
    cell_px = image_size / grid
    cx = (col.float() + 0.5 + layout.offset[..., 0]) * cell_px
    cy = (row.float() + 0.5 + layout.offset[..., 1]) * cell_px
    return torch.stack([cx, cy], -1)


def paste(sprites: torch.Tensor, centre: torch.Tensor, image_size: int) -> torch.Tensor:
    """sprites (N, S, S), pixel centres (N, 2) -> (N, H, W) canvases with each sprite in place."""
    n, s = sprites.shape[0], sprites.shape[-1]
    top_left = centre.floor().long() - s // 2  # (N, 2) as (x, y)
    big = sprites.new_zeros(n, image_size + 2 * s, image_size + 2 * s)
    span = torch.arange(s, device=sprites.device)
    rows = (top_left[:, 1, None] + s + span).clamp(0, image_size + s)
    cols = (top_left[:, 0, None] + s + span).clamp(0, image_size + s)
    idx = torch.arange(n, device=sprites.device)[:, None, None]
    big[idx, rows[:, :, None], cols[:, None, :]] = sprites
    return big[:, s : s + image_size, s : s + image_size]


def sprite_frac(centre: torch.Tensor) -> torch.Tensor:
    return centre - centre.floor()
