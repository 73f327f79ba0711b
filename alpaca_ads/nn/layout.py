"""Layout generator G and interactor I: one transformer design net, two instances.

Tokens: a context token (size class, tone, language, copy lengths, seed noise, the brief's
summary from E), K palette-candidate tokens, one query per element slot (SLOTS: the four roles
and the three decoration shapes) and a background token. Heads per element: present, box
(normalised x0, y0, x1, y1), log font size relative to the banner height, bold, number of
lines, text colour and button fill (pointers over the palette tokens); on the background token:
style and two background colours (pointers). The interactor also sees, per element, the current
design and the issues the control text names, and predicts the revised design with the same
heads.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import ISSUES, SIZE_CLASSES, SLOTS, AdsConfig

N_ROLES = len(SLOTS)
N_LENS = 6  # copy-length features
PAL_FEATS = 5  # palette.features: r, g, b, luminance, is_brand
CUR_FEATS = 1 + 4 + 1 + 1 + len(ISSUES)  # present, box, font, bold, issues
MAX_LINES = 3  # a text element is set on 1..3 lines


class DesignNet(nn.Module):
    """G (interactor=False) or I (interactor=True); see the module docstring."""

    def __init__(self, cfg: AdsConfig, interactor: bool = False):
        super().__init__()
        d, self.k, self.interactor = cfg.d_layout, cfg.palette_k, interactor
        self.size = nn.Embedding(len(SIZE_CLASSES), d)
        self.tone = nn.Embedding(len(cfg.tones), d)
        self.lang = nn.Embedding(2, d)
        self.ctx = nn.Linear(N_LENS + cfg.noise_dim + cfg.d_model, d)
        self.pal = nn.Linear(PAL_FEATS, d)
        self.role = nn.Embedding(N_ROLES + 1, d)  # + background token
        self.pos = nn.Parameter(torch.randn(1 + cfg.palette_k + N_ROLES + 1, d) * 0.02)
        if interactor:
            self.cur = nn.Linear(CUR_FEATS, d)
            self.cur_style = nn.Embedding(len(cfg.bg_styles), d)
        layer = nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0, batch_first=True,
                                           norm_first=True)
        self.layers = nn.TransformerEncoder(layer, cfg.layout_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.el_head = nn.Linear(d, 1 + 4 + 1 + 1 + MAX_LINES)
        self.q_colour, self.q_fill = nn.Linear(d, d), nn.Linear(d, d)
        self.q_bg = nn.Linear(d, 2 * d)
        self.key = nn.Linear(d, d)
        self.style_head = nn.Linear(d, len(cfg.bg_styles))

    def tokens(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        """The input tokens (B, 1 + K + R + 1, d)."""
        ctx = self.ctx(torch.cat([x["lens"], x["noise"], x["brief"]], -1))
        ctx = ctx + self.size(x["size"]) + self.tone(x["tone"]) + self.lang(x["lang"])
        pal = self.pal(x["palette"])  # (B, K, d)
        b = pal.shape[0]
        roles = self.role.weight.unsqueeze(0).expand(b, -1, -1)  # (B, R+1, d)
        if self.interactor:
            cur = self.cur(x["cur"])  # (B, R, d)
            pick = torch.gather(pal, 1, x["cur_colour"].unsqueeze(-1).expand(-1, -1, pal.shape[2]))
            bg = self.cur_style(x["cur_style"]) + torch.gather(
                pal, 1, x["cur_bg"].unsqueeze(-1).expand(-1, -1, pal.shape[2])).sum(1)
            roles = roles + torch.cat([cur + pick, bg.unsqueeze(1)], 1)
        return torch.cat([ctx.unsqueeze(1), pal, roles], 1) + self.pos

    def forward(self, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        h = self.norm(self.layers(self.tokens(x)))  # (B, 1+K+R+1, d)
        pal, el, bg = h[:, 1: 1 + self.k], h[:, 1 + self.k: -1], h[:, -1]
        keys = self.key(pal)  # (B, K, d)
        scale = 1.0 / math.sqrt(keys.shape[-1])
        out = self.el_head(el)  # (B, R, 7 + MAX_LINES)
        bg_q = self.q_bg(bg).view(bg.shape[0], 2, -1)  # (B, 2, d)
        return {
            "present": out[..., 0], "box": torch.sigmoid(out[..., 1:5]), "font": out[..., 5],
            "bold": out[..., 6], "lines": out[..., 7: 7 + MAX_LINES],
            "colour": torch.einsum("brd,bkd->brk", self.q_colour(el), keys) * scale,
            "fill": torch.einsum("brd,bkd->brk", self.q_fill(el), keys) * scale,
            "bg": torch.einsum("bjd,bkd->bjk", bg_q, keys) * scale,  # (B, 2, K)
            "style": self.style_head(bg),
        }
