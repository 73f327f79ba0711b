"""`python -m client`: the `alpaca` command line."""

from client.cli import app

app(prog_name="alpaca")
