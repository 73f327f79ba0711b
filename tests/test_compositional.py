"""What keeps the model compositional on held-out (colour, shape) pairs, checked structurally on
untrained modules: Chinese words are whole tokens, the word reader mixes per-word distributions
(a word of another kind cannot veto a colour), the interactor's state cannot veto a stated word,
and the captioner's attribute words come from per-cell facts that never see the other stream."""

from __future__ import annotations

import pytest
import torch

import alpaca
from alpaca.build import domain_tokenizer
from alpaca.nn.caption_grammar import fact_words
from alpaca.nn.interactor import top_cells
from alpaca.nn.layout import WordReader
from alpaca.nn.tokenizer import Tokenizer
from alpaca.nn.vision import FACT_FIELDS

CORPUS = ["画面：白色背景；左上角有一个小的绿色实心三角形", "一个绿色的三角形"]


def test_dictionary_words_are_whole_tokens_and_none_straddles_two_words():
    mined = Tokenizer.build(CORPUS)
    segmented = Tokenizer.build(CORPUS, words=["绿色", "实心", "三角形", "左上角", "画面", "背景"])
    pieces = [segmented.vocab[i] for i in segmented.encode("小的绿色实心三角形")]
    assert pieces == ["小", "的", "绿色", "实心", "三角形"]
    mined_pieces = [mined.vocab[i] for i in mined.encode("小的绿色实心三角形")]
    assert mined_pieces != pieces and "三角形" not in mined_pieces  # mined: at most 2 characters
    assert segmented.decode(segmented.encode(CORPUS[0])) == CORPUS[0]


def test_every_attribute_word_of_the_domain_is_one_token_in_both_languages():
    tk = domain_tokenizer(n=300)
    model = alpaca.tiny_model()
    fields = dict(shape=model.cfg.shapes, colour=model.cfg.colours, size=model.cfg.sizes,
                  style=model.cfg.styles)
    rows = fact_words(tk, fields)
    assert len(rows) == 2 * sum(len(v) for v in fields.values())
    assert len({token for token, _, _ in rows}) == len(rows)


def _reader_with_two_words() -> tuple[WordReader, tuple[torch.Tensor, ...]]:
    """A colour-only reader over a 2-token text: token 0 means colour 0 for sure, token 1 (a
    shape word) was trained to say "never colour 0"; attention is split evenly."""
    d = 4
    reader = WordReader(d, {"colour": 3})
    with torch.no_grad():
        for p in reader.parameters():
            p.zero_()
        reader.norm.weight.fill_(1.0)
        reader.v["colour"].weight[:, 0] = torch.tensor([8.0, -8.0, -8.0])  # token 0 -> colour 0
        reader.v["colour"].weight[:, 1] = torch.tensor([-40.0, 4.0, 0.0])  # token 1 vetoes 0
    raw = torch.tensor([[[1.0, -1.0, 0, 0], [-1.0, 1.0, 0, 0]]])  # (1, 2, d)
    text = (torch.zeros(1, 2, d), torch.ones(1, 1, 2, dtype=torch.bool), raw)
    return reader, text


def test_word_reader_mixes_distributions_so_another_word_cannot_veto():
    reader, text = _reader_with_two_words()
    out = reader(torch.zeros(1, 1, 4), text)["colour"][0, 0]
    assert int(out.argmax()) == 0  # summed logits would pick colour 1
    assert torch.allclose(out.exp().sum(), torch.tensor(1.0), atol=1e-4)


def test_interactor_takes_a_stated_word_over_its_own_state():
    model = alpaca.tiny_model()
    inter = model.interactor
    mem = torch.zeros(1, 1 + model.cfg.n_cells, model.cfg.d_model)
    read = {}
    inter.reader.register_forward_hook(lambda mod, args, out: read.update(out))
    with torch.no_grad():
        inter.heads["stated"].bias.fill_(20.0)  # every attribute is stated
        inter.heads["colour"].bias.fill_(0.0)
        inter.heads["colour"].bias[3] = 50.0  # the state insists on colour 3
        out = inter(mem, model.encode_text(["a red star"]),
                    model.encode_text(["scene: white background"]))["colour"]
    assert torch.equal(out.argmax(-1), read["colour"].argmax(-1))
    assert torch.allclose(out, read["colour"], atol=1e-3)


def test_interactor_draws_the_predicted_count_of_its_most_present_cells():
    model = alpaca.tiny_model()
    inter, cells = model.interactor, model.cfg.n_cells
    mem = torch.zeros(1, 1 + cells, model.cfg.d_model)
    with torch.no_grad():
        inter.heads["present"].bias.fill_(5.0)  # every cell, judged alone, wants an object
        inter.heads["count"].bias.fill_(0.0)
        inter.heads["count"].bias[5] = 50.0  # the scene holds five
        out = inter(mem, model.encode_text(["exactly five red stars"]),
                    model.encode_text(["scene: white background"]))
    layout = inter.decide(out)
    assert int(layout.present.sum()) == 5
    expected = top_cells(out["present"][..., 0], torch.tensor([5]))
    assert torch.equal(layout.present, expected)


def test_top_cells_keeps_each_rows_count_of_highest_logits_ties_to_the_earlier_cell():
    logits = torch.tensor([[0.5, 3.0, -1.0, 3.0], [1.0, 1.0, 1.0, 1.0]])
    chosen = top_cells(logits, torch.tensor([2, 3]))
    assert chosen.tolist() == [[False, True, False, True], [True, True, True, False]]
    assert not top_cells(logits, torch.tensor([0, 0])).any()


def test_the_interactor_learns_the_targets_object_count():
    model = alpaca.tiny_model()
    inter, cells = model.interactor, model.cfg.n_cells
    mem = torch.zeros(2, 1 + cells, model.cfg.d_model)
    out = inter(mem, model.encode_text(["a red star", "two red stars"]),
                model.encode_text(["scene: white background"] * 2))
    target = inter.decide(out)
    target.present = torch.zeros(2, cells, dtype=torch.bool)
    target.present[1, :2] = True  # the second scene holds two objects
    base = inter.loss(out, target)
    out["count"] = torch.full_like(out["count"], -20.0)
    out["count"][0, 0], out["count"][1, 2] = 20.0, 20.0
    assert inter.loss(out, target) < base - 1.0  # the count head is part of the loss


@pytest.fixture(scope="module")
def model():
    return alpaca.tiny_model(seed=3)


def test_cell_facts_keep_colour_and_shape_streams_apart(model):
    vision = model.vision
    b, cells = 2, model.cfg.n_cells
    shape = torch.randn(b, cells, 4 * model.cfg.cnn_channels)
    probs = torch.rand(b, len(model.cfg.palette), 64, 64).softmax(1)
    fg = (torch.rand(b, 1, 64, 64) > 0.5).float()
    sizes = [*vision.sizes.values(), 1]  # the fact groups, then the presence logit
    base = vision._facts(shape, probs, fg).split(sizes, -1)
    other_shape = vision._facts(torch.randn_like(shape), probs, fg).split(sizes, -1)
    other_colour = vision._facts(shape, probs.roll(1, dims=1), fg).split(sizes, -1)
    colour = FACT_FIELDS.index("colour")
    for i in range(len(sizes)):  # presence, like shape, comes from the shape stream
        if i == colour:
            assert torch.equal(base[i], other_shape[i]) and not torch.equal(base[i], other_colour[i])
        else:
            assert torch.equal(base[i], other_colour[i]) and not torch.equal(base[i], other_shape[i])


def test_object_clause_attribute_words_follow_the_pointed_cells_facts(model):
    dec = model.text_decoder
    reading = model.vision.read(torch.rand(1, 3, 64, 64))
    h = torch.randn(1, 2, model.cfg.d_model)
    ptr = torch.tensor([[0, 2]])  # the background clause, then an object clause about cell 1
    with torch.no_grad():
        dec.kind.weight.zero_()
        dec.kind.bias.zero_()
    facts = torch.full_like(reading.facts, -10.0)
    colour_offset = sum(list(model.vision.sizes.values())[: FACT_FIELDS.index("colour")])
    facts[0, 2, colour_offset + 5] = 0.0  # cell 1 is purple (colour 5) for sure
    with torch.no_grad():
        logits = dec.scores(h, reading.mem, facts, ptr)[0]
    n_colours = len(model.cfg.colours)
    colour_rows = [(int(t), int(i)) for t, i in zip(dec.fact_tokens, dec.fact_index, strict=True)
                   if colour_offset <= i < colour_offset + n_colours]
    best = max(colour_rows, key=lambda row: float(logits[1, row[0]]))
    assert best[1] == colour_offset + 5
    with torch.no_grad():
        plain = dec.scores(h, reading.mem, None, ptr)[0]
    words = dec.fact_tokens  # the background clause takes no attribute word from the facts
    assert torch.equal(logits[0, words], plain[0, words])


def test_an_object_left_after_the_pointed_cell_favours_a_separator_over_eos(model):
    dec, tk = model.text_decoder, model.tokenizer
    reading = model.vision.read(torch.rand(1, 3, 64, 64))
    h = torch.randn(1, 1, model.cfg.d_model)
    sep, eos = tk.index[";"], tk.eos_id

    def go_on(cell_with_object: int, ptr: int) -> float:
        facts = reading.facts.clone()
        facts[0, 1:, -1] = -10.0  # no cell holds an object ...
        facts[0, 1 + cell_with_object, -1] = 10.0  # ... but this one
        with torch.no_grad():
            logits = dec.scores(h, reading.mem, facts, torch.tensor([[ptr]]))[0, 0]
        return float(logits[sep] - logits[eos])

    assert go_on(cell_with_object=4, ptr=2) > go_on(cell_with_object=4, ptr=5) + 15.0


def test_layout_scene_inverts_scene_layout():
    import random

    from alpaca import domain
    from alpaca.training.data import layout_scene, scene_layout, stack_layouts

    cfg, rng = alpaca.tiny_model().cfg, random.Random(4)
    scenes = [domain.sample(rng, "train")[1] for _ in range(50)]
    layout = stack_layouts([scene_layout(s, cfg, per_cell=False) for s in scenes])
    for i, scene in enumerate(scenes):
        again = layout_scene(layout, i, cfg)
        assert again.background == scene.background
        assert [(o.shape, o.colour, o.size, o.style, o.cell) for o in again.objects] == [
            (o.shape, o.colour, o.size, o.style, o.cell) for o in scene.objects]
        assert all(abs(a.cx - b.cx) < 1e-5 and abs(a.cy - b.cy) < 1e-5
                   for a, b in zip(again.objects, scene.objects, strict=True))


def test_the_background_is_drawn_last_and_never_takes_an_objects_colour():
    model = alpaca.tiny_model(seed=5)
    prompts = ["a cyan square and a black triangle", "三个灰色的爱心"] * 16
    with torch.no_grad():
        model.layout.heads["bg"].bias.zero_()
        model.layout.heads["bg"].bias[model.cfg.colours.index("cyan")] = 30.0  # G "wants" cyan
        layout = model.first_draft(model.encode_text(prompts),
                                   [torch.Generator().manual_seed(s) for s in range(32)])
    for i in range(32):
        colours = set(layout.colour[i][layout.present[i]].tolist())
        assert int(layout.bg[i]) not in colours and int(layout.grad[i]) not in colours
    assert any(int(layout.bg[i]) == model.cfg.colours.index("cyan") for i in range(32))


def test_drafts_that_meet_their_prompt_are_their_own_interactor_targets():
    from alpaca import domain
    from alpaca.training.data import domain_batch, layout_scene
    from alpaca.training.losses import draft_targets

    model = alpaca.tiny_model(seed=6)
    batch = domain_batch(0, 3, 16, model.cfg)
    prompt = model.encode_text(batch.prompts, fixed=False)
    rows, images, captions, target = draft_targets(model, batch, prompt,
                                                   torch.Generator().manual_seed(0), 16)
    assert images.shape[0] == len(rows) == len(captions) == target.present.shape[0] > 0
    for j, i in enumerate(rows.tolist()):
        wanted = layout_scene(target, j, model.cfg)
        assert all(ok for _, ok, _ in domain.check(wanted, domain.parse(batch.prompts[i])))
        assert not any((o.colour, o.shape) in domain.HELDOUT_PAIRS
                       for o in domain.scene_from_caption(captions[j]).objects)


@pytest.mark.parametrize("summed", [True, False])
def test_a_two_word_cell_name_is_read_as_the_product_of_its_words(summed):
    """"bottom" says some bottom cell, "right" some right cell: summed logits pin bottom right
    sharply enough for sampling at the default temperature; a mixture would not."""
    d = 4
    reader = WordReader(d, {"cell": 9}, summed=("cell",) if summed else ())
    with torch.no_grad():
        for p in reader.parameters():
            p.zero_()
        reader.norm.weight.fill_(1.0)
        reader.v["cell"].weight[[6, 7, 8], 0] = 4.0  # token 0: "bottom"
        reader.v["cell"].weight[[2, 5, 8], 2] = 4.0  # token 1: "right"
    raw = torch.tensor([[[1.0, -1.0, 0, 0], [0, 0, 1.0, -1.0]]])
    text = (torch.zeros(1, 2, d), torch.ones(1, 1, 2, dtype=torch.bool), raw)
    out = reader(torch.zeros(1, 1, d), text)["cell"][0, 0]
    p_bottom_right = float((out / alpaca.tiny_model().cfg.sample_temperature).softmax(-1)[8])
    assert (p_bottom_right > 0.99) == summed
