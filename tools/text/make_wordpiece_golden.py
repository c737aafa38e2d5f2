#!/usr/bin/env python3
"""Generate the data the Java BERT WordPiece tokenizer (org.ovseg.text.WordPieceTokenizer) is
checked against, and the character tables it runs on. No network access is needed.

  --vocab   java/src/test/resources/org/ovseg/text/wordpiece_vocab_{uncased,cased}.txt
            two small WordPiece vocabularies trained here with the `tokenizers` package
            (BertWordPieceTokenizer, lower-cased and cased) on a generated corpus that mixes
            English words, object labels, accented Latin, Greek, CJK, kana, Hangul, digits,
            punctuation and a few emoji.

  --golden  java/src/test/resources/org/ovseg/text/wordpiece_golden.tsv
            a hand-picked set plus 4,000 random strings (uncased) and 1,000 (cased), each
            tokenised by transformers' slow Python tokenizer (BertTokenizerLegacy in
            transformers 5; it is what BertTokenizer was in 4.x) with truncation=True and a
            max_length per row. The fast tokenizer (BertTokenizer / BertTokenizerFast in 5.x,
            backed by `tokenizers`) is run on the same rows; rows where it differs from the slow
            one are counted, printed, and carry its ids in an extra column (the Java side
            follows the slow tokenizer).

  --tables  java/src/main/resources/org/ovseg/text/wordpiece_tables.txt
            the Unicode classes BasicTokenizer consults through unicodedata.category()
            (control = C* except \\t\\n\\r, punctuation = P*, Mn, Zs), from this Python's
            unicodedata, so the Java side does not depend on the JDK's Unicode version.

Golden rows: 'mode<TAB>max_length<TAB>text<TAB>input_ids<TAB>encode ids<TAB>pieces[<TAB>fast input_ids]'
with text and pieces escaped (\\\\, \\uXXXX, \\UXXXXXXXX for everything outside printable ASCII)
and pieces separated by single spaces.

Usage: .venv/bin/python tools/text/make_wordpiece_golden.py [--vocab] [--golden] [--tables]
(default: --golden --tables, which reproduce the committed files byte for byte; --vocab retrains,
and the tokenizers trainer breaks frequency ties in no fixed order, so it writes different
vocabularies each time: the committed ones are the reference, regenerate the golden file after it).
"""
import argparse
import os
import random
import sys
import tempfile
import unicodedata

import tokenizers
import transformers
from tokenizers.implementations import BertWordPieceTokenizer
from transformers.models.bert.tokenization_bert import BertTokenizer as FastBert
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as SlowBert

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TEST_RES = os.path.join(ROOT, "java", "src", "test", "resources", "org", "ovseg", "text")
MAIN_RES = os.path.join(ROOT, "java", "src", "main", "resources", "org", "ovseg", "text")
VOCABS = {"uncased": os.path.join(TEST_RES, "wordpiece_vocab_uncased.txt"),
          "cased": os.path.join(TEST_RES, "wordpiece_vocab_cased.txt")}
GOLDEN = os.path.join(TEST_RES, "wordpiece_golden.tsv")
TABLES = os.path.join(MAIN_RES, "wordpiece_tables.txt")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

ENGLISH = """a the of and to in is on with for at by from photo picture image cat dog car bus
truck person people man woman child bird horse sheep cow elephant bear zebra giraffe backpack
umbrella handbag tie suitcase frisbee skis snowboard ball kite bat glove skateboard surfboard
tennis racket bottle wine glass cup fork knife spoon bowl banana apple sandwich orange broccoli
carrot hot pizza donut cake chair couch potted plant bed dining table toilet tv laptop mouse
remote keyboard cell phone microwave oven toaster sink refrigerator book clock vase scissors
teddy hair drier toothbrush sky tree grass road building wall floor ceiling window door water
sea river mountain sand snow field street sidewalk fence bridge house roof cloud light lamp
red green blue yellow cyan magenta white black small large big little old new running jumping
sitting standing unaffable playing walking flying eating drinking swimming background object
thing stuff area region segment mask label class category unknown tokenizer embedding""".split()
LABELS = ["Bugatti", "Ferrari", "Mercedes-Benz", "Coca-Cola", "McDonald's", "iPhone", "T-shirt",
          "rock'n'roll", "New York", "São Paulo", "Zürich", "Köln", "München", "Ελλάδα"]
ACCENTED = """café naïve résumé crème brûlée façade jalapeño piñata über Straße Mädchen
Schön Ärger Öl François Ångström smörgåsbord fiancée déjà vu coöperate señor niño acción
corazón pão coração Łódź Kraków Dvořák Škoda İstanbul ıslak""".split()
GREEK = """καλημέρα ΟΔΟΣ οδός ΣΟΦΙΑ σοφία φως ΦΩΣ θάλασσα ΘΑΛΑΣΣΑ ήλιος Άγιος αγάπη ΑΓΑΠΗ
λόγος ΛΟΓΟΣ""".split()
CJK = ["東京タワー", "東京", "京都", "中文", "中国", "日本語", "汉字", "漢字", "北京", "上海", "猫",
       "狗", "汽车", "自行车", "天空", "大树", "草地", "建筑", "道路", "水", "山", "人", "朝鮮",
       "한국어", "서울", "고양이", "ねこ", "いぬ", "カメラ", "ラーメン", "すし", "𠀋", "𡈽", "豈", "更"]
EMOJI = ["🐱", "🐶", "🚗", "🍕", "🌳", "😀", "👍", "❤️", "🇯🇵"]
PUNCT = list(".,;:!?'\"()[]{}-_/\\@#$%^&*+=<>|~`") + ["…", "«", "»", "¿", "¡", "“", "”", "—",
                                                      "・", "。", "、", "「", "」"]


def corpus(rng):
    words = ENGLISH * 6 + LABELS * 3 + ACCENTED * 3 + GREEK * 2 + CJK * 3 + EMOJI
    lines = []
    for _ in range(30000):
        parts = []
        for _ in range(rng.randint(3, 14)):
            r = rng.random()
            if r < 0.08:
                parts.append(str(rng.choice([rng.randint(0, 99), rng.randint(100, 99999), 2024, 1984])))
            elif r < 0.14:
                parts.append(rng.choice(PUNCT))
            else:
                w = rng.choice(words)
                parts.append(w.capitalize() if rng.random() < 0.2 else (w.upper() if rng.random() < 0.05 else w))
        lines.append(" ".join(parts))
    return lines


def train_vocabs():
    rng = random.Random(20261206)
    lines = corpus(rng)
    for mode, size in (("uncased", 3000), ("cased", 2500)):
        lower = mode == "uncased"
        tok = BertWordPieceTokenizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                     lowercase=lower)
        tok.train_from_iterator(lines, vocab_size=size, min_frequency=2, limit_alphabet=600,
                                special_tokens=SPECIALS, show_progress=False)
        with tempfile.TemporaryDirectory() as d:
            path = tok.save_model(d)[0]
            with open(path, encoding="utf-8") as f:
                data = f.read()
        with open(VOCABS[mode], "w", encoding="utf-8", newline="\n") as f:
            f.write(data)
        print(f"{VOCABS[mode]}: {data.count(chr(10))} entries")


# ------------------------------------------------------------------------------ golden
def esc(s):
    out = []
    for ch in s:
        cp = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0x20 <= cp <= 0x7E:
            out.append(ch)
        elif cp <= 0xFFFF:
            out.append("\\u%04x" % cp)
        else:
            out.append("\\U%08x" % cp)
    return "".join(out)


FIXED = [
    "", " ", "   \t\n\r  ", "\u3000\u00a0\u2028\u2029", "a photo of a cat.", "Bugatti", "café", "CAFÉ",
    "cafe\u0301", "Cafe\u0301 au lait", "東京タワー", "🐱 cat", "🐱cat🐶", "Hello, World!", "naïve résumé",
    "İstanbul", "ΟΔΟΣ", "ΟΔΟΣ.", "ΣΟΦΙΑ Σ", "ὈΔΥΣΣΕΎΣ", "Straße", "ﬁsh", "Ⅻ", "Å", "\u212b", "Ω\u2126",
    "12345", "3.14159", "1,000,000", "$100", "100%", "2024-12-06", "A1B2C3",
    "unaffable", "UNAFFABLE", "un-affable", "unaffablenaïve",
    "a" * 99, "a" * 100, "a" * 101, "photo" * 20, "photo" * 20 + "p", "é" * 100, "é" * 101,
    "e\u0301" * 60, "🐱" * 100, "🐱" * 101, "東" * 150,
    "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]", "[cls]", "[CLS] a cat [SEP]", "a[SEP]b", "x[CLS]y[PAD]z",
    "[[CLS]]", "[CLS][CLS]", "[ CLS ]", "[CL\u0000S]", "a [C\u200bLS] b", "[MASK]ed", "[UNK]nown",
    "\u0000", "\ufffd", "a\u0000b", "a\ufffdb", "a\u0007b\u007fc", "a\u200bb", "\ufeffhello", "a\u00adb",
    "a\x85b", "a\x1cb", "a\x0bb\x0cc", "\ue000", "a\U000F0000b", "\U0010FFFF",
    "tab\tsep\nline\rend", "a\u2028b\u2029c",
    "中文汉字", "漢字かな交じり文", "한국어 서울", "ラーメン🍜", "𠀋𡈽", "豈更", "\uf900\ufa0e\ufa0f",
    "\u3400\u4dbf\u9fff\U0002a6df\U0002a700\U0002b81f\U0002b820\U0002ceaf\U0002ceb0\U0002f800\U0003134a",
    "\u0301", "\u0301\u0302abc", "a\u0316\u0301", "a\u1ac1\u0316", "\u1e9b\u0323", "ǅ", "ǆ", "Ǆ",
    "¿Qué?", "«bonjour»", "“quoted”", "em—dash", "…", "^$`~", "§¶", "©®™", "€£¥", "°±×÷",
    "ⅰⅱⅲ", "①②③", "½", "x²", "ﾊﾝｶｸ", "ＡＢＣ", "Ｔｏｋｙｏ", "🇯🇵", "❤️", "👍🏽", "👨‍👩‍👧",
    "\U0001fae0", "\U0001f979", "Hello 👋 world", "a    b", " leading", "trailing ",
    "Mercedes-Benz", "McDonald's", "rock'n'roll", "São Paulo", "Łódź", "Dvořák", "Ἀθῆναι",
    "a photo of a {}.", "There is a {} in the scene.", "itap of the {}",
]
# Lone surrogates: valid in a Java String and a Python str; the fast tokenizer cannot take them.
SURROGATES = ["\ud800", "a\udc00b", "\udbff\udfff"[0] + "x"]


def random_text(rng, vocab_words):
    pools = [
        (0.20, lambda: rng.choice(vocab_words)),
        (0.10, lambda: rng.choice(vocab_words).upper()),
        (0.10, lambda: chr(rng.randint(0x21, 0x7E))),
        (0.08, lambda: rng.choice(" \t\n\r\u00a0\u3000\u2028\u2029\x0b\x0c\x1c\x85\u200b\ufeff")),
        (0.06, lambda: chr(rng.randint(0xA0, 0xFF))),
        (0.04, lambda: chr(rng.randint(0x100, 0x17F))),
        (0.06, lambda: chr(rng.randint(0x370, 0x3FF))),
        (0.04, lambda: rng.choice("ΣσςΟΔ")),
        (0.08, lambda: chr(rng.choice([rng.randint(0x4E00, 0x9FFF), rng.randint(0x3400, 0x4DBF),
                                       rng.randint(0xF900, 0xFAFF), rng.randint(0x20000, 0x2A6DF),
                                       rng.randint(0x2F800, 0x2FA1F), rng.randint(0x3040, 0x30FF),
                                       rng.randint(0xAC00, 0xD7A3)]))),
        (0.05, lambda: chr(rng.randint(0x1F300, 0x1FAFF))),
        (0.06, lambda: chr(rng.choice([rng.randint(0x300, 0x36F), rng.randint(0x1AB0, 0x1ACE),
                                       rng.randint(0x20D0, 0x20F0), 0x0345, 0x3099]))),
        (0.05, lambda: chr(rng.choice([rng.randint(0x2000, 0x206F), rng.randint(0x3000, 0x303F),
                                       rng.randint(0xFE30, 0xFE6F), rng.randint(0xFF00, 0xFF65)]))),
        (0.03, lambda: chr(rng.choice([0, 7, 0x7F, 0xFFFD, 0xE000, 0x9F, 0x600, 0x110BD, 0xE0001]))),
        (0.03, lambda: rng.choice(SPECIALS + ["[cls]", "[SEP", "CLS]"])),
        (0.02, lambda: chr(rng.randint(0x0, 0x10FFFF))),
    ]
    total = sum(w for w, _ in pools)
    parts = []
    n = rng.choice([0, 1, 2, 3, 5, 8, 12, 20, 30])
    for _ in range(n):
        r = rng.random() * total
        for w, f in pools:
            r -= w
            if r <= 0:
                parts.append(f())
                break
        if rng.random() < 0.3:
            parts.append(" ")
    text = "".join(parts)
    if rng.random() < 0.02:
        text += rng.choice(vocab_words) * rng.randint(15, 30)  # words around the 100-char rule
    # surrogates only come from chr(randint(0, 0x10FFFF)); keep them out (fast tokenizer rejects them)
    return "".join(c for c in text if not 0xD800 <= ord(c) <= 0xDFFF)


def golden():
    toks = {}
    for mode in ("uncased", "cased"):
        lower = mode == "uncased"
        toks[mode] = (SlowBert(VOCABS[mode], do_lower_case=lower),
                      FastBert(vocab=VOCABS[mode], do_lower_case=lower))
    rows = []
    fast_diffs = []
    rng = random.Random(4000)
    cases = []
    for mode in ("uncased", "cased"):
        for text in FIXED:
            cases.append((mode, 512, text, True))
        for text in SURROGATES:
            cases.append((mode, 512, text, False))
        for text in ["a photo of a cat sitting on a red car", "東京タワー 🐱 cat café " * 4]:
            for max_len in (2, 3, 4, 5, 6, 7, 8, 16):
                cases.append((mode, max_len, text, True))
    vocab_words = [w for w in ENGLISH + LABELS + ACCENTED + GREEK + CJK + EMOJI]
    for mode, count in (("uncased", 4000), ("cased", 1000)):
        for _ in range(count):
            text = random_text(rng, vocab_words)
            max_len = rng.choice([2, 3, 4, 8, 16, 32, 77, 512, 512, 512])
            cases.append((mode, max_len, text, True))
    for mode, max_len, text, check_fast in cases:
        slow, fast = toks[mode]
        ids = slow(text, truncation=True, max_length=max_len)["input_ids"]
        enc = slow.encode(text, add_special_tokens=False)
        pieces = slow.tokenize(text)
        assert slow.convert_tokens_to_ids(pieces) == enc, text
        assert max(enc, default=0) < len(slow.vocab), text
        row = [mode, str(max_len), esc(text), " ".join(map(str, ids)), " ".join(map(str, enc)),
               " ".join(esc(p) for p in pieces)]
        if check_fast:
            fids = fast(text, truncation=True, max_length=max_len)["input_ids"]
            if fids != ids:
                fast_diffs.append((mode, text, pieces, fast.convert_ids_to_tokens(fids)))
                row.append(" ".join(map(str, fids)))
        rows.append("\t".join(row))
    header = [
        f"# Generated by tools/text/make_wordpiece_golden.py with transformers {transformers.__version__},"
        f" tokenizers {tokenizers.__version__}, Python {sys.version.split()[0]}"
        f" (unicodedata {unicodedata.unidata_version}).",
        "# Reference: transformers' slow BertTokenizerLegacy(vocab, do_lower_case=mode=='uncased'),"
        " tok(text, truncation=True, max_length=max_length).",
        "# Columns: mode, max_length, text, input_ids, encode(add_special_tokens=False), tokenize() pieces"
        "[, the fast BertTokenizer's input_ids where they differ].",
        f"# Rows: {len(rows)}; the fast tokenizer differs on {len(fast_diffs)}.",
    ]
    with open(GOLDEN, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(header + rows) + "\n")
    print(f"{GOLDEN}: {len(rows)} rows; fast tokenizer differs on {len(fast_diffs)}")
    for mode, text, p, fp in fast_diffs:
        print(f"  fast differs [{mode}] {esc(text)!r}: slow {p} fast {fp[1:-1]}")


# ------------------------------------------------------------------------------ tables
def ranges(pred):
    out = []
    start = None
    for cp in range(0x110001):
        hit = cp <= 0x10FFFF and pred(cp)
        if hit and start is None:
            start = cp
        elif not hit and start is not None:
            out.append("%x" % start if cp - 1 == start else "%x-%x" % (start, cp - 1))
            start = None
    return out


def tables():
    cat = [unicodedata.category(chr(cp)) for cp in range(0x110000)]
    sections = [
        ("CONTROL", "unicodedata.category(c) starts with 'C' (Cc Cf Cs Co Cn), except \\t \\n \\r",
         ranges(lambda cp: cat[cp][0] == "C" and cp not in (9, 10, 13))),
        ("PUNCTUATION", "category starts with 'P'", ranges(lambda cp: cat[cp][0] == "P")),
        ("MN", "category Mn", ranges(lambda cp: cat[cp] == "Mn")),
        ("ZS", "category Zs", ranges(lambda cp: cat[cp] == "Zs")),
    ]
    lines = [
        "# Unicode classes for org.ovseg.text.WordPieceTokenizer, generated by"
        " tools/text/make_wordpiece_golden.py --tables.",
        f"# Source: Python {sys.version.split()[0]} unicodedata {unicodedata.unidata_version}"
        " (what transformers' BasicTokenizer consults).",
        "# Format: '@SECTION count' then one code point or inclusive range (hex) per line.",
    ]
    for name, what, rs in sections:
        lines.append(f"# {name}: {what}")
        lines.append(f"@{name} {len(rs)}")
        lines.extend(rs)
    with open(TABLES, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{TABLES}: " + ", ".join(f"{n} {len(r)} ranges" for n, _, r in sections))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vocab", action="store_true")
    ap.add_argument("--golden", action="store_true")
    ap.add_argument("--tables", action="store_true")
    a = ap.parse_args()
    if not (a.vocab or a.golden or a.tables):
        a.golden = a.tables = True
    if a.vocab:
        train_vocabs()
    if a.tables:
        tables()
    if a.golden:
        golden()


if __name__ == "__main__":
    main()
