"""Training the shapes model: the loop (`loop.train`, and `loop.main`, the command line that
`python -m alpaca.training` runs), its losses, the data it draws (`data`), and the (text, image)
pairs of a fine-tune (`finetune`). `alpaca.train` is the public entry point.
"""
