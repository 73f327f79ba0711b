"""Alpaca Ads: a brief in free wording becomes a finished banner at a real ad size plus its copy.

Layers (no module imports one above it):
    domain/  the ads vocabulary, the brief designer, designs, rendering (no torch)
    judge/   the independent OCR judge: reads pixels only
    nn/      the networks (text encoder, copy/control decoder, layout, painter, reader, interactor)
    train/   data batches and the training loop
    and at the top: the model, the multi-round loop, checkpoints, evaluation.
"""
