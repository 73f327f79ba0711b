"""Training of the ads model: batches from the domain (data.py), the losses (losses.py) and the
one training loop (loop.py); `python -m alpaca_ads.train` runs it."""
