"""The reader: sees a rendered banner and says, per element, what is wrong with it.

Input: the whole banner downscaled to `reader_res` squared, and per element a crop around its
box (the box grown by a quarter on each side, so text spilling out is visible) at `crop_res`
squared with a fourth channel marking the box itself, plus the box's coordinates, its font
size relative to the banner and its role. A small CNN encodes the whole view and each crop; one
attention layer over the element tokens lets an element see its neighbours (overlap). Heads:
per element issue logits (multi-label over ISSUES). The element tokens are the memory the text
decoder D writes the control text from.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import ISSUES, ROLES, AdsConfig

N_GEOM = 4 + 1 + 1  # box, font, present


def _cnn(c_in: int, width: int, out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, width, 3, 2, 1), nn.GELU(),
        nn.Conv2d(width, 2 * width, 3, 2, 1), nn.GELU(),
        nn.Conv2d(2 * width, 2 * width, 3, 2, 1), nn.GELU(),
        nn.Conv2d(2 * width, out, 3, 1, 1), nn.GELU())


class Reader(nn.Module):
    def __init__(self, cfg: AdsConfig):
        super().__init__()
        d = cfg.d_reader
        self.whole = _cnn(3, 16, d)
        self.crop = _cnn(4, 16, d)
        self.geom = nn.Linear(N_GEOM, d)
        self.role = nn.Embedding(len(ROLES), d)
        self.mix = nn.Sequential(nn.Linear(4 * d, d), nn.GELU(), nn.Linear(d, d))
        layer = nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0, batch_first=True,
                                           norm_first=True)
        self.attend = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.issues = nn.Linear(d, len(ISSUES))
        self.to_text = nn.Linear(d, cfg.d_model)

    @staticmethod
    def _pool(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean((2, 3)), x.amax((2, 3))], 1)  # (N, 2C)

    def forward(self, whole: torch.Tensor, crops: torch.Tensor,
                geom: torch.Tensor) -> dict[str, torch.Tensor]:
        """whole (B, 3, S, S), crops (B, R, 4, C, C), geom (B, R, N_GEOM), all float in [0, 1]."""
        b, r = crops.shape[:2]
        g = self._pool(self.whole(whole))  # (B, 2d)
        c = self._pool(self.crop(crops.flatten(0, 1))).view(b, r, -1)  # (B, R, 2d)
        d = g.shape[1] // 2
        el = self.mix(torch.cat([c, g[:, None, :d].expand(-1, r, -1),
                                 self.geom(geom)], -1)) + self.role.weight  # (B, R, d)
        h = self.attend(torch.cat([el, g[:, None, d:]], 1))  # (B, R + 1, d)
        return {"issues": self.issues(h[:, :r]), "memory": self.to_text(h)}  # (B,R,I), (B,R+1,dm)
