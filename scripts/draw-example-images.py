#!/usr/bin/env python3
"""Draws the example market's pictures (content/**/*.jpg, sponsors/*.png) with Pillow.

Every image of the example market is produced here, deterministically: simple illustrations
of each product's kind (a candle, a soap, a lamp, a waffle…) on a warm background, a chalet
front for each cover, and flat sponsor logos with transparency. Re-run after adding a product:

    pip install pillow pyyaml && python3 scripts/draw-example-images.py
"""
import math, os, random, re, sys
from PIL import Image, ImageDraw, ImageFilter

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "content")
W, H = 960, 720          # drawing canvas; saved at SCALE times this size
SCALE = 1.5              # 1440 px wide: sharp in a 640 px slot on a 2x phone screen
PALETTES = [((157, 29, 32), (255, 232, 200)), ((31, 77, 58), (238, 246, 236)), ((120, 72, 40), (250, 238, 220)),
            ((40, 60, 110), (232, 238, 250)), ((176, 120, 20), (255, 246, 220)), ((90, 40, 90), (246, 232, 246))]


def backdrop(r, size=(W, H)):
    ink, paper = r.choice(PALETTES)
    img = Image.new("RGB", size, paper)
    d = ImageDraw.Draw(img)
    w, h = size
    d.rectangle([0, int(h * .72), w, h], fill=tuple(max(0, c - 40) for c in paper))  # shelf
    d.rectangle([0, int(h * .70), w, int(h * .74)], fill=(120, 80, 50))
    for _ in range(40):  # bokeh lights
        x, y, s = r.randrange(w), r.randrange(int(h * .6)), r.randrange(6, 26)
        d.ellipse([x, y, x + s, y + s], fill=(255, r.randrange(200, 250), r.randrange(120, 200)))
    return img.filter(ImageFilter.GaussianBlur(3)), ink


def draw_candle(d, r, ink):
    for i, x in enumerate((300, 480, 650)[: r.randint(1, 3)]):
        hgt = r.randint(180, 320)
        top = 518 - hgt
        d.rounded_rectangle([x - 70, top, x + 70, 518], 18, fill=r.choice([(250, 240, 225), ink, (230, 200, 150)]))
        d.line([x, top - 30, x, top], fill=(40, 30, 20), width=4)
        d.ellipse([x - 16, top - 80, x + 16, top - 26], fill=(255, 190, 60))
        d.ellipse([x - 7, top - 60, x + 7, top - 32], fill=(255, 245, 200))


def draw_soap(d, r, ink):
    for x in (250, 480, 700)[: r.randint(2, 3)]:
        c = r.choice([(240, 220, 200), (200, 230, 210), (230, 210, 240), (250, 240, 230)])
        d.rounded_rectangle([x - 100, 400, x + 100, 518], 28, fill=c, outline=ink, width=4)
        for _ in range(6):
            bx, by = x + r.randint(-80, 80), r.randint(330, 390)
            d.ellipse([bx, by, bx + 24, by + 24], outline=(255, 255, 255), width=3)


def draw_lamp(d, r, ink):
    d.polygon([(360, 200), (600, 200), (660, 340), (300, 340)], fill=(245, 235, 210), outline=ink)
    d.rectangle([468, 340, 492, 470], fill=(90, 60, 40))
    d.ellipse([380, 460, 580, 530], fill=ink)
    d.ellipse([430, 330, 530, 370], fill=(255, 230, 150))


def draw_jewel(d, r, ink):
    d.arc([300, 120, 660, 520], 20, 160, fill=(200, 200, 210), width=6)
    for a in range(30, 160, 12):
        x = 480 + 180 * math.cos(math.radians(a))
        y = 320 + 200 * math.sin(math.radians(a))
        d.ellipse([x - 12, y - 12, x + 12, y + 12], fill=(230, 230, 235), outline=(150, 150, 160))
    d.polygon([(480, 520), (440, 470), (480, 430), (520, 470)], fill=ink)


def draw_puppet(d, r, ink):
    d.line([480, 40, 480, 220], fill=(60, 60, 60), width=6)
    d.ellipse([420, 200, 540, 320], fill=(240, 200, 170))
    d.pieslice([410, 170, 550, 280], 180, 360, fill=(40, 50, 90))
    d.rectangle([430, 320, 530, 470], fill=(20, 40, 100))
    d.polygon([(450, 320), (510, 320), (480, 370)], fill=(200, 30, 30))
    d.rectangle([440, 470, 470, 518], fill=(60, 40, 30)); d.rectangle([490, 470, 520, 518], fill=(60, 40, 30))


def draw_bauble(d, r, ink):
    for x, c in ((320, ink), (520, (200, 160, 40)), (700, (40, 110, 70))):
        d.line([x, 60, x, 260], fill=(120, 120, 120), width=3)
        d.rectangle([x - 14, 250, x + 14, 272], fill=(200, 180, 90))
        d.ellipse([x - 90, 268, x + 90, 448], fill=c)
        d.ellipse([x - 50, 300, x - 20, 330], fill=(255, 255, 255))


def draw_waffle(d, r, ink):
    for x in (330, 620):
        d.rounded_rectangle([x - 130, 330, x + 130, 500], 30, fill=(214, 160, 80))
        for i in range(-100, 120, 45):
            for j in range(350, 490, 40):
                d.rounded_rectangle([x + i, j, x + i + 30, j + 26], 6, fill=(180, 120, 50))
        for _ in range(12):
            sx, sy = x + r.randint(-120, 110), r.randint(330, 490)
            d.ellipse([sx, sy, sx + 9, sy + 9], fill=(255, 250, 240))


def draw_jar(d, r, ink):
    for x in (300, 500, 700)[: r.randint(2, 3)]:
        c = r.choice([(110, 50, 30), (230, 170, 40), (170, 40, 60), (240, 220, 150)])
        d.rounded_rectangle([x - 80, 300, x + 80, 518], 24, fill=c)
        d.rectangle([x - 86, 270, x + 86, 305], fill=r.choice([(200, 40, 40), (240, 240, 240)]))
        d.rectangle([x - 60, 380, x + 60, 450], fill=(250, 245, 230))


def draw_bottle(d, r, ink):
    for x in (360, 600):
        d.rounded_rectangle([x - 70, 260, x + 70, 518], 30, fill=(230, 240, 245), outline=(160, 180, 190), width=3)
        d.rectangle([x - 22, 160, x + 22, 270], fill=(230, 240, 245), outline=(160, 180, 190), width=3)
        d.rectangle([x - 24, 140, x + 24, 170], fill=ink)
        d.rectangle([x - 55, 340, x + 55, 430], fill=r.choice([(200, 40, 40), (40, 90, 60), (220, 170, 60)]))


def draw_chocolate(d, r, ink):
    for i in range(9):
        x, y = 300 + (i % 3) * 150, 250 + (i // 3) * 90
        d.ellipse([x - 55, y - 35, x + 55, y + 35], fill=r.choice([(70, 40, 25), (110, 65, 35), (225, 200, 170)]))
        d.arc([x - 35, y - 20, x + 35, y + 10], 200, 340, fill=(200, 160, 110), width=3)


def draw_voucher(d, r, ink):
    d.rounded_rectangle([190, 170, 770, 500], 26, fill=(255, 255, 250), outline=ink, width=8)
    d.rectangle([190, 260, 770, 300], fill=ink)
    d.ellipse([560, 330, 720, 470], outline=ink, width=6)
    for y in (350, 390, 430):
        d.line([240, y, 500, y], fill=(180, 170, 160), width=8)
    d.polygon([(640, 330), (655, 380), (705, 380), (665, 410), (680, 460), (640, 430), (600, 460), (615, 410), (575, 380), (625, 380)], fill=(220, 170, 40))


MOTIFS = {"candle": draw_candle, "soap": draw_soap, "lamp": draw_lamp, "jewel": draw_jewel, "puppet": draw_puppet,
          "bauble": draw_bauble, "waffle": draw_waffle, "jar": draw_jar, "bottle": draw_bottle,
          "chocolate": draw_chocolate, "voucher": draw_voucher}
# Which motif each chalet's products get: a word in the chalet's slug or category.
BY_CATEGORY = {"bougies": "candle", "savons": "soap", "luminaires": "lamp", "bijoux": "jewel", "restaurants": "voucher"}
BY_SLUG = {"marionnettes": "puppet", "verre": "bauble", "gaufres": "waffle", "ferme": "jar", "peket": "bottle",
           "chocolaterie": "chocolate"}


def motif_of(slug, category):
    for word, m in BY_SLUG.items():
        if word in slug:
            return m
    return BY_CATEGORY.get(category, "bauble")


def chalet_front(r, size=(1200, 600)):
    """A wooden chalet with a snowy roof, garland lights and an awning: the cover of a chalet."""
    w, h = size
    img = Image.new("RGB", size, (20, 34, 60))
    d = ImageDraw.Draw(img)
    for _ in range(140):
        x, y = r.randrange(w), r.randrange(h)
        d.ellipse([x, y, x + 4, y + 4], fill=(255, 255, 255))
    d.rectangle([0, int(h * .85), w, h], fill=(235, 240, 248))
    wood = r.choice([(140, 90, 50), (120, 75, 40), (160, 105, 60)])
    d.rectangle([250, 230, 950, 520], fill=wood)
    for x in range(250, 950, 35):
        d.line([x, 230, x, 520], fill=tuple(c - 25 for c in wood), width=3)
    d.polygon([(200, 240), (600, 60), (1000, 240)], fill=(90, 50, 30))
    d.polygon([(190, 245), (600, 55), (1010, 245), (1000, 215), (600, 35), (200, 215)], fill=(250, 250, 255))
    stripes = r.choice([(157, 29, 32), (31, 77, 58), (176, 120, 20)])
    for i, x in enumerate(range(300, 900, 60)):
        d.polygon([(x, 300), (x + 60, 300), (x + 60, 350), (x + 30, 370), (x, 350)], fill=stripes if i % 2 == 0 else (250, 245, 235))
    d.rectangle([330, 380, 870, 500], fill=(255, 214, 140))
    d.rectangle([420, 250, 780, 292], fill=(250, 240, 220), outline=(60, 40, 20), width=4)
    for i in range(0, 21):
        x = 220 + i * 38
        y = 245 + int(12 * math.sin(i))
        d.ellipse([x - 7, y - 7, x + 7, y + 7], fill=r.choice([(255, 80, 80), (255, 220, 80), (120, 220, 255), (140, 255, 140)]))
    return img


def logo(r, size=(400, 160)):
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    c = r.choice([(157, 29, 32, 255), (31, 77, 58, 255), (40, 60, 110, 255)])
    d.ellipse([10, 10, 150, 150], fill=c)
    d.polygon([(80, 30), (110, 110), (50, 110)], fill=(255, 255, 255, 255))
    for i, y in enumerate((50, 80, 110)):
        d.rounded_rectangle([175, y, 390 - i * 50, y + 18], 9, fill=c)
    return img


def save(img, path):
    w, h = img.size
    big = img.resize((int(w * SCALE), int(h * SCALE)), Image.LANCZOS)
    big.save(path, quality=80, optimize=True, progressive=True)


def main():
    made = 0
    categories = {}
    for chalet in sorted(os.listdir(os.path.join(ROOT, "chalets"))):
        base = os.path.join(ROOT, "chalets", chalet)
        text = open(os.path.join(base, "chalet.yaml"), encoding="utf-8").read()
        m = re.search(r"^category:\s*(\S+)", text, re.M)
        category = m.group(1) if m else ""
        r = random.Random(chalet)
        save(chalet_front(r), os.path.join(base, "cover.jpg"))
        made += 1
        about = open(os.path.join(base, "about.md"), encoding="utf-8").read()
        for ref in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", about):
            img, ink = backdrop(random.Random(chalet + ref))
            MOTIFS[motif_of(chalet, category)](ImageDraw.Draw(img), random.Random(ref), ink)
            save(img, os.path.join(base, ref))
            made += 1
        pdir = os.path.join(base, "products")
        for f in sorted(os.listdir(pdir)):
            if not f.endswith(".md"):
                continue
            for ref in re.findall(r"src:\s*(\S+\.jpg)", open(os.path.join(pdir, f), encoding="utf-8").read()):
                rr = random.Random(chalet + "/" + ref)
                img, ink = backdrop(rr)
                MOTIFS[motif_of(chalet, category)](ImageDraw.Draw(img), rr, ink)
                save(img, os.path.join(pdir, ref))
                made += 1
    sdir = os.path.join(ROOT, "sponsors")
    os.makedirs(sdir, exist_ok=True)
    for name in ("commerces", "banque", "radio"):
        logo(random.Random(name)).save(os.path.join(sdir, name + ".png"), optimize=True)
        made += 1
    print(f"drew {made} images under {os.path.normpath(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
