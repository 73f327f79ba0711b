"""Training of the ads model: batches from the domain (data.py), the losses (losses.py) and the
one training loop (loop.py); `python -m alpaca_ads.train` runs it. The reading refit
(refit.py, `python -m alpaca_ads.train.refit`) fine-tunes a trained checkpoint's text encoder
alone; judge_measure.py gives the OCR judge's quick figures of a checkpoint, measure.py the
judge-free ones."""
