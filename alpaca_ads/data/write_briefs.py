"""Writes the held-out evaluation briefs: unseen_briefs.jsonl and refuse_briefs.jsonl.

Written apart from the brief designer's grammar (never imported): marketer-style sentence frames
and hand-written lines, English and Chinese, every size, with the truth the judge needs (size,
language, product words, canonical offer, brand colours). Run: python -m alpaca_ads.data.write_briefs
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = ("300x250", "728x90", "160x600", "320x50", "300x600", "1080x1080", "1200x628")
SIZE_WORDS = {
    "300x250": ["300x250", "300 x 250", "MPU 300x250", "medium rectangle (300x250)", "300*250"],
    "728x90": ["728x90", "leaderboard 728x90", "728 x 90", "728*90 leaderboard"],
    "160x600": ["160x600", "skyscraper 160x600", "160 x 600", "wide sky 160*600"],
    "320x50": ["320x50", "mobile banner 320x50", "320 x 50", "320*50 mobile"],
    "300x600": ["300x600", "half page 300x600", "300 x 600", "half-page (300*600)"],
    "1080x1080": ["1080x1080", "square 1080x1080", "IG square 1080 x 1080", "1080*1080"],
    "1200x628": ["1200x628", "link ad 1200x628", "1200 x 628", "fb landscape 1200*628"],
}
COLOURS = {"navy": "#1B2A4A", "coral": "#FF6F61", "teal": "#008080", "mustard": "#E1AD01",
           "forest green": "#228B22", "hot pink": "#FF69B4", "black": "#000000",
           "orange": "#FF6600", "purple": "#6A0DAD", "red": "#D62828"}
ZH_COLOURS = {"藏青": "#1B2A4A", "珊瑚红": "#FF6F61", "墨绿": "#228B22", "橙色": "#FF6600",
              "紫色": "#6A0DAD", "中国红": "#D62828", "黑色": "#000000", "湖蓝": "#008080"}
EN_PRODUCTS = [
    (["running shoes", "sneakers", "shoes"], "running shoes"), (["headphones", "headphone"], "headphones"),
    (["coffee", "coffee beans"], "coffee beans"), (["pizza"], "pizza"), (["bike", "bicycle"], "bikes"),
    (["laptop", "notebook"], "laptops"), (["phone", "smartphone"], "smartphones"),
    (["watch", "smartwatch"], "smartwatch"), (["sunglasses", "shades"], "sunglasses"),
    (["dog food", "pet food"], "dog food"), (["candle"], "scented candles"),
    (["flowers", "bouquet"], "flower bouquets"), (["yoga mat", "yoga"], "yoga mats"),
    (["t-shirt", "tee"], "t-shirts"), (["lipstick", "makeup"], "lipstick"),
    (["sofa", "couch"], "sofas"), (["books", "book"], "books"), (["toys", "toy"], "kids' toys"),
    (["flights", "travel"], "flights to Lisbon"), (["backpack"], "backpacks"),
    (["skincare", "serum"], "vitamin C serum"), (["tea", "green tea"], "green tea"),
    (["desk chair", "chair"], "office chairs"), (["tent", "camping"], "camping tents"),
]
ZH_PRODUCTS = [
    (["跑鞋", "运动鞋"], "跑鞋"), (["耳机"], "降噪耳机"), (["咖啡"], "咖啡豆"), (["披萨"], "披萨"),
    (["自行车", "单车"], "自行车"), (["笔记本", "电脑"], "笔记本电脑"), (["手机"], "手机"),
    (["手表"], "智能手表"), (["墨镜", "太阳镜"], "太阳镜"), (["狗粮", "宠物粮"], "狗粮"),
    (["香薰", "蜡烛"], "香薰蜡烛"), (["鲜花", "花束"], "鲜花"), (["瑜伽垫", "瑜伽"], "瑜伽垫"),
    (["T恤"], "T恤"), (["口红", "彩妆"], "口红"), (["沙发"], "沙发"), (["图书", "书"], "图书"),
    (["玩具"], "儿童玩具"), (["机票", "旅行"], "机票"), (["双肩包", "背包"], "双肩包"),
    (["面霜", "护肤"], "面霜"), (["茶叶", "绿茶"], "绿茶"), (["椅子", "办公椅"], "办公椅"),
    (["帐篷", "露营"], "帐篷"),
]
# (wording, canonical offer) pairs; the wording is what a marketer types.
EN_OFFERS = [
    ("30% off", ("percent_off", 30)), ("save 25%", ("percent_off", 25)),
    ("40 percent off", ("percent_off", 40)), ("half price", ("percent_off", 50)),
    ("BOGO", ("bogo",)), ("buy one get one free", ("bogo",)), ("free shipping", ("free_shipping",)),
    ("$20 off orders over $100", ("amount_off", 20, 100)), ("up to 60% off", ("percent_off", 60, None, True)),
    ("15% off", ("percent_off", 15)), ("2nd item half price", ("second_half_price",)),
    ("$10 off $50+", ("amount_off", 10, 50)), ("free delivery", ("free_shipping",)),
    ("20% discount", ("percent_off", 20)), ("no discount, just awareness", ("none",)),
]
ZH_OFFERS = [
    ("七折", ("percent_off", 30)), ("七五折", ("percent_off", 25)), ("低至四折", ("percent_off", 60, None, True)),
    ("五折", ("percent_off", 50)), ("半价", ("percent_off", 50)), ("买一送一", ("bogo",)),
    ("第二件半价", ("second_half_price",)), ("满100减20", ("amount_off", 20, 100)), ("免运费", ("free_shipping",)),
    ("立减三成", ("percent_off", 30)), ("八五折", ("percent_off", 15)), ("满299减50", ("amount_off", 50, 299)),
    ("包邮", ("free_shipping",)), ("九折", ("percent_off", 10)), ("不打折，做品牌曝光", ("none",)),
]
EN_FRAMES = [
    "{product} {offer}, {size}, brand colour {colour}",
    "Need a {size} banner for our {product} - {offer} this weekend only",
    "{size} | {product} | {offer} | bold, urgent",
    "pls make a {size} ad: {product}, {offer}. keep it minimal. colours: {colour}",
    "Summer sale on {product}! {offer}. Size {size}.",
    "banner {size} for {product}, promo = {offer}, cta shop now",
    "{offer} on all {product} - need {size} creative asap",
    "product: {product}; offer: {offer}; size: {size}; brand: {colour}",
    "Black Friday {product} deal, {offer}, {size}, use our {colour}",
    "can u do a {size} for {product}? the deal is {offer}",
    "{product} launch promo ({offer}) - {size} placement, playful tone",
    "Hi team, {size} display ad. {product}. Promo: {offer}. Thx",
    "Back to school: {product}, {offer} - format {size}",
    "{size} please. {product} w/ {offer}, brand color {colour}, elegant",
    "New arrivals in {product}, {offer} for members, {size}",
    "Holiday gift guide - {product} {offer} ({size})",
    "weekend flash sale {product} {offer} size={size}",
    "Create a {size} banner advertising {product} with {offer}.",
    "{product}!!! {offer}!!! {size}",
    "Spring refresh: our {product} now {offer}. Deliver as {size}, {colour} accents",
]
ZH_FRAMES = [
    "{product}{offer}，{size}，品牌色{colour}",
    "帮忙做个{size}的{product}广告，{offer}，周末限时",
    "{size} | {product} | {offer} | 活泼一点",
    "尺寸：{size}；产品：{product}；优惠：{offer}；主色：{colour}",
    "双十一{product}大促，{offer}，做{size}的横幅",
    "{product}新品上市 {offer} 要{size}的图",
    "618活动：{product}全场{offer}，尺寸{size}，用{colour}",
    "麻烦出一张{size}，{product}，{offer}，简洁高级风",
    "{offer}！{product}！{size}！",
    "我们的{product}这周{offer}，需要{size}投放素材",
    "年货节 {product} {offer} 规格{size} 颜色{colour}",
    "会员日{product}{offer}，{size}，按钮写立即购买",
    "做一个{product}的banner，{size}，活动是{offer}",
    "{size}广告位：{product}{offer}，紧迫感强一点",
    "春季焕新，{product}{offer}，出{size}尺寸，品牌色用{colour}",
    "请设计{size}横幅：{product}，{offer}",
    "{product} 限时{offer} 尺寸 {size}",
    "开学季{product}{offer}，{size}，风格活泼",
    "周年庆，{product}{offer}，{size}",
    "直播间专享：{product}{offer}，{size}规格",
]
EN_HAND = [
    ("Our new noise cancelling headphones are 30% off until Sunday, 728x90 pls", ["headphones"], ("percent_off", 30), "728x90", []),
    ("pizza bogo tuesdays!! 320x50 mobile, red #D62828", ["pizza"], ("bogo",), "320x50", ["#D62828"]),
    ("Need a skyscraper (160x600) for vintage road bikes, free shipping nationwide", ["bike", "bicycle"], ("free_shipping",), "160x600", []),
    ("1080x1080 for IG: artisan candels, half price, soft and elegant, brand #C8A2C8", ["candle"], ("percent_off", 50), "1080x1080", ["#C8A2C8"]),
    ("Spend $100 get $20 off on all laptops, banner 1200x628, navy #0A2540", ["laptop"], ("amount_off", 20, 100), "1200x628", ["#0A2540"]),
    ("sunglases up to 60% off end of season clearance 300x600", ["sunglasses"], ("percent_off", 60, None, True), "300x600", []),
    ("Mother's Day flowers, save 15%, MPU 300x250, blush pink #F4C2C2", ["flowers", "bouquet"], ("percent_off", 15), "300x250", ["#F4C2C2"]),
    ("grain-free dog food, 2nd bag half price, 300x250", ["dog food"], ("second_half_price",), "300x250", []),
    ("yoga mats - free delivery - 728x90 - calm tone", ["yoga mat", "yoga"], ("free_shipping",), "728x90", []),
    ("organic cotton tees 3 for... no wait, 25% off. 320x50", ["t-shirt", "tee"], ("percent_off", 25), "320x50", []),
    ("Flights to Lisbon from $99, just awareness, no promo code, 1200x628", ["flights", "travel"], ("none",), "1200x628", []),
    ("smartwatch launch — save 20% w/ code LAUNCH, half page 300x600, brand black", ["watch", "smartwatch"], ("percent_off", 20), "300x600", ["#000000"]),
    ("kids toys BOGO, 160x600, bright + playful", ["toys", "toy"], ("bogo",), "160x600", []),
    ("Vitamin C serum 40% off for new customers, 1080x1080, #FFB347", ["serum", "skincare"], ("percent_off", 40), "1080x1080", ["#FFB347"]),
    ("sofas: $50 off orders over $500. 728x90 leaderboard. forest green", ["sofa", "couch"], ("amount_off", 50, 500), "728x90", ["#228B22"]),
    ("Bestselling books, buy 1 get 1 free, 300x250", ["books", "book"], ("bogo",), "300x250", []),
    ("smartphones refurbished, up to 60% off, mobile 320x50", ["phone", "smartphone"], ("percent_off", 60, None, True), "320x50", []),
    ("Camping tents 35% off, outdoorsy, 300x600, #2E5E4E", ["tent", "camping"], ("percent_off", 35), "300x600", ["#2E5E4E"]),
    ("cold brew coffee - free shipping over the summer - 160x600", ["coffee"], ("free_shipping",), "160x600", []),
    ("Office chairs 10% off, corporate look, 1200x628", ["desk chair", "chair"], ("percent_off", 10), "1200x628", []),
]
ZH_HAND = [
    ("降噪耳机限时七折，做个728x90的横幅", ["耳机"], ("percent_off", 30), "728x90", []),
    ("披萨买一送一，手机横幅320x50，红色#D62828", ["披萨"], ("bogo",), "320x50", ["#D62828"]),
    ("公路自行车全国包邮，摩天楼160x600", ["自行车", "单车"], ("free_shipping",), "160x600", []),
    ("香薰蜡烛半价！小红书方图1080x1080，温柔一点", ["香薰", "蜡烛"], ("percent_off", 50), "1080x1080", []),
    ("笔记本电脑满5000减500，1200x628，主色#0A2540", ["笔记本", "电脑"], ("amount_off", 500, 5000), "1200x628", ["#0A2540"]),
    ("太阳镜换季清仓低至三折 300x600", ["墨镜", "太阳镜"], ("percent_off", 70, None, True), "300x600", []),
    ("母亲节鲜花八五折，300x250，粉色#F4C2C2", ["鲜花", "花束"], ("percent_off", 15), "300x250", ["#F4C2C2"]),
    ("无谷狗粮第二件半价 300*250", ["狗粮", "宠物粮"], ("second_half_price",), "300x250", []),
    ("瑜伽垫免运费 728x90 安静风", ["瑜伽垫", "瑜伽"], ("free_shipping",), "728x90", []),
    ("纯棉T恤七五折，320x50手机图", ["T恤"], ("percent_off", 25), "320x50", []),
    ("里斯本机票，只做品牌曝光不打折，1200x628", ["机票", "旅行"], ("none",), "1200x628", []),
    ("智能手表新品立减两成，半屏300x600，黑色", ["手表"], ("percent_off", 20), "300x600", ["#000000"]),
    ("儿童玩具买一送一 160x600 要活泼", ["玩具"], ("bogo",), "160x600", []),
    ("面霜新客六折，1080x1080，#FFB347", ["面霜", "护肤"], ("percent_off", 40), "1080x1080", ["#FFB347"]),
    ("沙发满3000减300，通栏728x90，墨绿", ["沙发"], ("amount_off", 300, 3000), "728x90", ["#228B22"]),
    ("畅销图书满100减20 300x250", ["图书", "书"], ("amount_off", 20, 100), "300x250", []),
    ("二手手机低至四折，手机横幅320x50", ["手机"], ("percent_off", 60, None, True), "320x50", []),
    ("露营帐篷六五折，户外风，300x600，#2E5E4E", ["帐篷", "露营"], ("percent_off", 35), "300x600", ["#2E5E4E"]),
    ("冷萃咖啡夏季免邮 160*600", ["咖啡"], ("free_shipping",), "160x600", []),
    ("办公椅九折，商务风，1200x628", ["椅子", "办公椅"], ("percent_off", 10), "1200x628", []),
]
TYPOS = [("shoes", "shoees"), ("headphones", "headphons"), ("off", "of"), ("banner", "baner"),
         ("free", "fre"), ("please", "plz")]


def offer_json(offer: tuple) -> dict:
    """('percent_off', 30) -> the Offer's JSON fields."""
    kind, value, threshold, up_to = (*offer, None, None, False)[:4]
    if kind == "amount_off":
        value, threshold = offer[1], offer[2]
    return {"kind": kind, "value": value, "threshold": threshold, "up_to": bool(up_to)}


def _framed(rng: random.Random, language: str, i: int) -> dict:
    frames, products, offers, colours = (
        (EN_FRAMES, EN_PRODUCTS, EN_OFFERS, COLOURS) if language == "en"
        else (ZH_FRAMES, ZH_PRODUCTS, ZH_OFFERS, ZH_COLOURS))
    size = SIZES[i % len(SIZES)]
    words, product = rng.choice(products)
    offer_text, offer = rng.choice(offers)
    name = rng.choice(list(colours))
    colour = rng.choice([name, colours[name]])
    frame = rng.choice(frames)
    brief = frame.format(product=product, offer=offer_text, size=rng.choice(SIZE_WORDS[size]),
                         colour=colour)
    if language == "en" and rng.random() < 0.15:
        wrong, typo = rng.choice(TYPOS)
        brief = brief.replace(wrong, typo, 1)
    brand = [colours[name]] if "{colour}" in frame else []
    return {"brief": brief, "language": language, "size": size, "product_words": words,
            "offer": offer_json(offer), "brand_colors": brand}


def unseen(n_framed: int = 140, seed: int = 2026) -> list[dict]:
    """Hand-written lines first, then framed ones, half English, half Chinese."""
    rng = random.Random(seed)
    rows = []
    for language, hand in (("en", EN_HAND), ("zh", ZH_HAND)):
        for brief, words, offer, size, brand in hand:
            rows.append({"brief": brief, "language": language, "size": size,
                         "product_words": words, "offer": offer_json(offer), "brand_colors": brand})
        rows += [_framed(rng, language, i) for i in range(n_framed)]
    return rows

REFUSE_GIBBERISH = [
    "asdkjh qwpoe zzkx 300x250", "lorem ipsum dolor sit amet", "xqzv bnrm plkj wtf", "????? !!!!! ...",
    "blorf snazzle 728x90 glimp", "aaaaaaaaaaaaaaaa", "jkl; jkl; asdf asdf", "qwertyuiop 1080x1080",
    "zxcvb nm,./ 160x600", "hjkhjk yuiyui", "%%%% #### @@@@", "mmmmm hmmm umm",
    "的的的的的的的", "啊啊啊啊啊啊 300x250", "哈哈哈哈哈哈哈哈", "阿斯顿发斯蒂芬 嗯嗯",
    "呃呃 嗯 啊 哦", "咕噜咕噜叽里呱啦", "。。。。。。", "乱码乱码锟斤拷烫烫烫", "嘿嘿嘿嘿 728x90",
    "噼里啪啦哐当哐当", "～～～～～", "123456789 987654321",
]
REFUSE_NO_PRODUCT = [
    "30% off, 300x250", "make it pop, 728x90", "something bold and red please", "BOGO 320x50",
    "need a banner asap", "half price!!! 1080x1080", "free shipping, navy, 160x600",
    "our brand colour is #FF6600, 300x600", "summer sale vibes, 1200x628", "$20 off orders over $100",
    "just make it look nice", "urgent: 300x250 by eod",
    "七折 300x250", "做个好看的横幅", "买一送一 320x50", "全场五折，728x90", "要大气一点，红色",
    "包邮 160x600", "满100减20", "双十一大促 1080x1080", "品牌色#0A2540，300x600", "越快越好，谢谢",
    "随便做一个", "低至四折 1200x628",
]
REFUSE_SIZE = [
    "running shoes 30% off, 999x17", "headphones half price, banner 123x456", "pizza BOGO 50x50",
    "coffee beans free shipping 2000x3000", "laptops 15% off, 640x480", "yoga mats, 468x60",
    "sunglasses up to 60% off, 970x250", "candles, 1x1 pixel",
    "跑鞋七折 999x17", "耳机半价 123x456", "披萨买一送一 50x50", "咖啡豆包邮 2000x3000",
    "笔记本九折 640x480", "瑜伽垫 468x60", "太阳镜低至四折 970x250", "香薰蜡烛 1x1",
]


def refuse() -> list[dict]:
    """Briefs the model must refuse, each with its reason."""
    return ([{"brief": b, "reason": "gibberish"} for b in REFUSE_GIBBERISH]
            + [{"brief": b, "reason": "no_product"} for b in REFUSE_NO_PRODUCT]
            + [{"brief": b, "reason": "unknown_size"} for b in REFUSE_SIZE])


def write(rows: list[dict], path: Path) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


if __name__ == "__main__":
    write(unseen(), HERE / "unseen_briefs.jsonl")
    write(refuse(), HERE / "refuse_briefs.jsonl")
