"""Words of the creative domain in English and Chinese, for writing and for reading prompts.

Knows: the canonical word for every colour, shape, size, style, grid cell, relation and number
in each language (what `grammar` writes), and the extra synonyms `parser` also accepts.
Does not know: sentence frames, parsing rules, specs or scenes.
"""

from __future__ import annotations

from .scene import CELLS

# Canonical words: (English, Chinese). English shapes also carry their plural.
COLOUR_WORDS = {
    "red": ("red", "红色"), "orange": ("orange", "橙色"), "yellow": ("yellow", "黄色"),
    "green": ("green", "绿色"), "blue": ("blue", "蓝色"), "purple": ("purple", "紫色"),
    "pink": ("pink", "粉色"), "brown": ("brown", "棕色"), "black": ("black", "黑色"),
    "white": ("white", "白色"), "gray": ("gray", "灰色"), "cyan": ("cyan", "青色"),
}
SHAPE_WORDS = {
    "circle": (("circle", "circles"), "圆形"), "square": (("square", "squares"), "正方形"),
    "triangle": (("triangle", "triangles"), "三角形"), "star": (("star", "stars"), "星星"),
    "heart": (("heart", "hearts"), "爱心"), "diamond": (("diamond", "diamonds"), "菱形"),
    "cross": (("cross", "crosses"), "十字"), "hexagon": (("hexagon", "hexagons"), "六边形"),
}
SIZE_WORDS = {"small": ("small", "小"), "medium": ("medium", "中等大小"), "large": ("large", "大")}
STYLE_WORDS = {"solid": ("solid", "实心"), "outline": ("outlined", "空心"),
               "striped": ("striped", "条纹")}
CELL_WORDS = dict(zip(CELLS, (
    ("top left", "左上角"), ("top center", "顶部中间"), ("top right", "右上角"),
    ("middle left", "左侧中间"), ("center", "正中间"), ("middle right", "右侧中间"),
    ("bottom left", "左下角"), ("bottom center", "底部中间"), ("bottom right", "右下角"),
)))
# Relation phrasings the grammar picks from; the first is the canonical one.
RELATION_WORDS = {
    "left of": (("to the left of", "left of", "on the left of"), ("左边", "左侧")),
    "right of": (("to the right of", "right of", "on the right of"), ("右边", "右侧")),
    "above": (("above", "over"), ("上方", "上面")),
    "below": (("below", "under", "beneath"), ("下方", "下面")),
}
NUMBER_WORDS = {1: ("one", "一"), 2: ("two", "两"), 3: ("three", "三"), 4: ("four", "四"),
                5: ("five", "五"), 6: ("six", "六")}

# Extra words the parser accepts (never written by the grammar).
SYNONYMS_EN = {
    "grey": "gray", "big": "large", "tiny": "small", "medium-sized": "medium",
    "outline": "outline", "hollow": "outline", "filled": "solid", "centre": (1, 1),
    "middle": (1, 1),
}
SYNONYMS_ZH = {
    "粉红色": "pink", "咖啡色": "brown", "五角星": "star", "星形": "star", "心形": "heart",
    "十字形": "cross", "圆": "circle", "方形": "square", "描边": "outline", "条纹状": "striped",
    "二": 2, "中等": "medium",
}
# Words that carry no meaning for the judge ("a tile with ...").
FILLERS_EN = ("a", "an", "the", "tile", "showing", "shows", "with", "and", "plus", "together",
              "also", "placed", "is", "are", "there", "ad", "image", "picture", "of", "it")
FILLERS_ZH = ("画面里", "画面上", "画面中", "画面", "一张广告图", "广告图", "广告", "另外", "还有",
              "以及", "放着", "里", "有", "是", "和")
COUNT_CUES_EN = ("exactly", "precisely", "no more and no fewer", "no more, no fewer")
COUNT_CUES_ZH = ("恰好", "正好", "不多不少")


def word(table: dict, key, lang: str):
    """The canonical word for `key` in `lang` ("en" or "zh")."""
    return table[key][0 if lang == "en" else 1]


def reverse(table: dict, lang: str, synonyms: dict | None = None) -> dict[str, object]:
    """Map every written form (plurals, phrasings, synonyms) in `lang` back to its key."""
    out: dict[str, object] = {}
    for key, forms in table.items():
        form = forms[0 if lang == "en" else 1]
        for text in (form,) if isinstance(form, str) else form:
            out[text] = key
    for text, key in (synonyms or {}).items():
        if key in table:
            out[text] = key
    return out


def chinese_words() -> list[str]:
    """Every Chinese word the grammar writes or the parser reads: a tokenizer's dictionary."""
    tables = (COLOUR_WORDS, SHAPE_WORDS, SIZE_WORDS, STYLE_WORDS, CELL_WORDS, RELATION_WORDS,
              NUMBER_WORDS)
    out: set[str] = set(SYNONYMS_ZH) | set(FILLERS_ZH) | set(COUNT_CUES_ZH)
    for table in tables:
        for forms in table.values():
            form = forms[1]
            out.update((form,) if isinstance(form, str) else form)
    return sorted(out)

