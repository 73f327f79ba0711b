"""`python -m alpaca.training`: train the default model (alpaca/training/loop.py)."""

from alpaca.training.loop import main

if __name__ == "__main__":
    raise SystemExit(main())
