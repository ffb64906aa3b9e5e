#!/usr/bin/env python3
"""Builds the screens' fonts from WenQuanYi Micro Hei and Noto Sans Arabic (run from this folder).

Each family covers every script the screens show, so no text ever falls back to the fonts installed on
the board, whatever the language:
  Hallq Sans              WenQuanYi Micro Hei (Chinese, Latin) + the Arabic glyphs of Noto Sans Arabic;
                          line box and weight of WenQuanYi. Used for Chinese and English screens.
  Hallq Sans Arabic       Noto Sans Arabic (Regular, Bold) + the Chinese and Latin glyphs of WenQuanYi;
                          line box, digits and punctuation of Noto. Used for Uyghur and Kazakh screens.
The names are new so that a copy of either source font installed on the board can never stand in.

Needs fontTools (pip install fonttools). Inputs: wqy-microhei.ttc (face 0) and NotoSansArabic-*.ttf here.
"""
import os
import tempfile

from fontTools.merge import Merger, Options
from fontTools.ttLib import TTCollection, TTFont
from fontTools.ttLib.scaleUpem import scale_upem

UNITS_PER_EM = 2048  # WenQuanYi's; Noto Sans Arabic (1000) is scaled up to it.


def merge(first, second, out, family, style):
    base = TTFont(first)
    merged = Merger(options=Options(drop_tables=["vhea", "vmtx", "VORG", "DSIG"])).merge([first, second])
    # The merge takes the larger ascent and descent of the two; keep the first font's line box and weight
    # so each family lays out as its main face always did.
    for key in ("ascent", "descent", "lineGap"):
        setattr(merged["hhea"], key, getattr(base["hhea"], key))
    for key in ("sTypoAscender", "sTypoDescender", "sTypoLineGap", "usWinAscent", "usWinDescent",
                "usWeightClass", "fsSelection"):
        setattr(merged["OS/2"], key, getattr(base["OS/2"], key))
    merged["head"].macStyle = base["head"].macStyle
    names = merged["name"]
    for record in list(names.names):
        if record.nameID in (1, 2, 3, 4, 6, 16, 17, 21, 22):
            names.removeNames(nameID=record.nameID)
    postscript = family.replace(" ", "") + "-" + style
    full = family if style == "Regular" else f"{family} {style}"
    for name_id, text in ((1, family), (2, style), (3, postscript), (4, full), (6, postscript)):
        names.setName(text, name_id, 3, 1, 0x409)
    merged.save(out)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        wqy = os.path.join(tmp, "wqy.ttf")
        TTCollection("wqy-microhei.ttc").fonts[0].save(wqy)
        arabic = {}
        for style in ("Regular", "Bold"):
            font = TTFont(f"NotoSansArabic-{style}.ttf")
            scale_upem(font, UNITS_PER_EM)
            arabic[style] = os.path.join(tmp, f"arabic-{style}.ttf")
            font.save(arabic[style])
        merge(wqy, arabic["Regular"], "HallqSans-Regular.ttf", "Hallq Sans", "Regular")
        for style in ("Regular", "Bold"):
            merge(arabic[style], wqy, f"HallqSansArabic-{style}.ttf", "Hallq Sans Arabic", style)


if __name__ == "__main__":
    main()
