"""The networks of the shapes model and the tokenizer they share (torch): the text encoder and
decoder (`text`), the layout generator G (`generator`, `layout`), the painter, the image encoder
(`vision`), the interactor I, the captioner's greedy decoding (`decoding`) and grammar
(`caption_grammar`), and `model.Alpaca`, which wires them together. Knows nothing of the
multi-round loop (alpaca/engine.py), training (alpaca/training/) or files (alpaca/checkpoint.py).
"""
