#!/usr/bin/env python3
"""Generate the data the Java CLIP tokenizer (org.ovseg.text.ClipTokenizer) is checked against.

Two outputs, both written inside the repository (no network access is needed):

  --golden  java/src/test/resources/org/ovseg/text/clip_tokenizer_golden.tsv
            text (escaped) <TAB> space-separated ids, as produced by the reference
            algorithm of OpenAI CLIP's clip/simple_tokenizer.py (re-implemented below,
            same steps: ftfy.fix_text, html.unescape x2, strip, \\s+ collapse, lower,
            regex pre-tokenisation, byte-level BPE; then <|startoftext|> ... <|endoftext|>
            with truncation to 77 keeping the end token).

  --tables  java/src/main/resources/org/ovseg/text/clip_text_tables.txt
            the character tables the Java side needs to reproduce Python exactly, taken
            from the Python runtime that defines the reference behaviour: the `regex`
            module's \\p{L} / \\p{N} / \\s classes (with IGNORECASE, as CLIP compiles them),
            str.isspace, str.lower, the final-sigma context classes of str.lower, and
            ftfy's / html's tables (HTML5 entities, width map, ligatures, control chars,
            sloppy windows-1252 for C1 controls). This makes the Java tokenizer
            independent of the JDK's Unicode version.

Requirements: Python 3.11, `ftfy` and `regex` (pip install ftfy regex from the local index).
Usage: python3 tools/text/make_tokenizer_golden.py [--golden] [--tables]   (default: both)
"""
import argparse
import gzip
import html
import html.entities
import os
import sys
import unicodedata

import ftfy
import ftfy.chardata
import regex

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RES = os.path.join(ROOT, "java", "src", "main", "resources", "org", "ovseg", "text")
VOCAB = os.path.join(RES, "bpe_simple_vocab_16e6.txt.gz")
GOLDEN = os.path.join(ROOT, "java", "src", "test", "resources", "org", "ovseg", "text",
                      "clip_tokenizer_golden.tsv")
TABLES = os.path.join(RES, "clip_text_tables.txt")
SOT, EOT, CONTEXT = 49406, 49407, 77


# ---------------------------------------------------------------- reference tokenizer
def byte_unicode_table():
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1))
                 + list(range(ord("\u00ae"), ord("\u00ff") + 1)))
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class Reference:
    """Same algorithm as clip/simple_tokenizer.py (openai/CLIP), written independently."""

    def _init(self, path):
        self.byte_map = byte_unicode_table()
        lines = gzip.open(path).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
        merges = [tuple(l.split()) for l in lines]
        # vocabulary order follows the insertion order of the byte table
        base = list(self.byte_map.values())
        vocab = base + [s + "</w>" for s in base] + ["".join(m) for m in merges]
        vocab += ["<|startoftext|>", "<|endoftext|>"]
        self.vocab = vocab
        self.ids = {s: i for i, s in enumerate(vocab)}
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.special = {"<|startoftext|>", "<|endoftext|>"}
        self.pattern = regex.compile(
            r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE)

    def bpe(self, token):
        if token in self.special:
            return [token]
        word = list(token[:-1]) + [token[-1] + "</w>"]
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            out, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == best[0] and word[i + 1] == best[1]:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = out
        return word

    def __init__(self, path, fix_encoding=True):
        self._init(path)
        self.fix_encoding = fix_encoding

    def clean(self, text):
        # fix_encoding=False: the documented behaviour of the Java port (no mojibake repair)
        text = ftfy.fix_text(text) if self.fix_encoding else ftfy.fix_text(text, fix_encoding=False)
        text = html.unescape(html.unescape(text))
        text = text.strip()
        text = regex.sub(r"\s+", " ", text).strip()
        return text.lower()

    def encode(self, text):
        ids = []
        for tok in self.pattern.findall(self.clean(text)):
            mapped = "".join(self.byte_map[b] for b in tok.encode("utf-8"))
            ids.extend(self.ids[s] for s in self.bpe(mapped))
        return ids

    def decode(self, ids):
        inverse = {v: k for k, v in self.byte_map.items()}
        text = "".join(self.vocab[i] for i in ids)
        return bytearray(inverse[c] for c in text).decode("utf-8", errors="replace").replace("</w>", " ")

    def tokenize(self, text):
        ids = [SOT] + self.encode(text) + [EOT]
        if len(ids) > CONTEXT:
            ids = ids[:CONTEXT]
            ids[-1] = EOT
        return ids


def escape(text):
    out = []
    for ch in text:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7F or 0x80 <= o <= 0x9F or 0xD800 <= o <= 0xDFFF or o in (0x2028, 0x2029, 0x85):
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    return "".join(out)


CASES = [
    "a photo of a cat.",
    "",
    "   ",
    "A Photo Of A CAT!",
    "a photo of a {}.",
    "there is a dog in the scene.",
    "I'LL be there, you'RE late, it's fine, we've won, I'm here, he'd go, don't.",
    "it\u2019s a caf\u00e9 \u2018quoted\u2019 \u201cdouble\u201d",
    "the year 2024 and 3.14159 and 1,000,000",
    "\u00bd \u2153 \u00b2 \u0663\u0664 \u2167 \u2460",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 cre\u0300me bru\u0302le\u0301e",  # decomposed accents -> NFC
    "\u00c5ngstr\u00f6m \u00d8resund stra\u00dfe \u1e9e",
    "\u0130stanbul \u0049\u0307 \u0130I\u0131i",
    "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3 \u03a3\u03b1 \u03b1\u03a3. \u03b1\u03a3'\u03b2 A\u03a3\u0301",
    "\u732b\u306e\u5199\u771f \u4e00\u5339\u72d7 \u30ab\u30bf\u30ab\u30ca \ud55c\uad6d\uc5b4",
    "\u0627\u0644\u0642\u0637 \u05d7\u05ea\u05d5\u05dc \u0915\u093f\u0924\u093e\u092c \u0e41\u0e21\u0e27",
    "emoji \U0001F431\U0001F436 \U0001F468\u200d\U0001F469\u200d\U0001F467 \U0001F1EB\U0001F1F7 \u2764\ufe0f \U0001F44D\U0001F3FD",
    "multiple    spaces\tand\ttabs\nand\nnewlines\r\n\r\nend   ",
    "\u00a0nbsp\u2003em\u3000ideographic\u2028ls\u2029ps\u0085nel\x1cfs\x1fus\x0bvt\x0cff",
    "Tom &amp; Jerry &lt;3 &gt; &quot;hi&quot; &#39;x&#39; &#x263A; &eacute;t&eacute;",
    "&amp;amp; &amp;lt; &amp;amp;amp;amp; &EACUTE;T&EACUTE; &NTILDE; &nTILDE; &notit &amp",
    "a < b &amp;amp; c",
    "line one &amp;amp;amp;\nline two < &amp;amp;amp;\nline three &amp;amp;amp;",
    "&#0; &#128; &#x80; &#xD800; &#1114112; &#65535; &#x1F600; &#99999999999999999999; &#; &#x;",
    "wait... what?!?! (yes) [no] {maybe} -- ok; @user #tag $5 100% a+b=c ~/~",
    "\"quoted\" 'single' `back` ''''s '''t",
    "snake_case kebab-case camelCase ALLCAPS x86_64 C++ C# .NET",
    "http://example.com/path?q=1&lang=en www.test.org user@mail.com",
    "\ufb01ne \ufb02ower \ufb03 \u0133 \u01c4 \ufb05 \u017ftart 's 'S '\u017f",
    "\uff21\uff22\uff23 \uff11\uff12\uff13 \uff01 \uff8a\uff9d\uff76\uff78",
    "\x1b[31mred\x1b[0m plain \x00nul\x07bell\x7fdel\ufeffbom\u206a\ufffc",
    "\x80\x85\x91\x92\x93\x94\x99 c1 controls",
    "lone \ud800 surrogate \udc00 here",
    "combining ypogegrammeni \u03b1\u0345 x\u0345y \u0345",
    "<|startoftext|> inside <|endoftext|> text <|STARTOFTEXT|> <|\u017ftartoftext|>",
    "Vithkuqi \U00010570\U00010571 Glagolitic \u2c2f new letters \U0001E290\U0001E291 \u0870\u0871",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "mojibake sample: caf\u00c3\u00a9 \u00e2\u20ac\u0153quoted\u00e2\u20ac\u009d",
    "\u00c3\u00a9t\u00c3\u00a9 na\u00c3\u00afve",
    "a photo of a " + "very " * 80 + "long caption.",
    " ".join(str(i) for i in range(60)),
    "x" * 300,
    "\U0001F600" * 40,
    "one.two,three;four:five!six?seven",
    "tab\there",
    "\t\n \r",
]


def write_golden(ref, ref_no_enc):
    os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
    with open(GOLDEN, "w", encoding="utf-8", newline="\n") as f:
        f.write("# Generated by tools/text/make_tokenizer_golden.py with ftfy %s, regex %s, Python %s "
                "(unicodedata %s). Columns: escaped text (\\\\ \\t \\n \\r \\uXXXX), tokenize() ids "
                "(context 77), encode() ids, decode(encode()).\n"
                "# Rows: 'tok<TAB>text<TAB>tokenize<TAB>encode<TAB>decode', 'dec<TAB>ids<TAB>decode(ids)', and for text that "
                "ftfy's fix_encoding (mojibake repair, not ported) changes: 'tok-no-fix-encoding<TAB>text<TAB>"
                "tokenize<TAB>encode<TAB>decode<TAB>full-reference tokenize', the first three computed with "
                "fix_text(fix_encoding=False).\n" % (ftfy.__version__, regex.__version__,
                                                   sys.version.split()[0], unicodedata.unidata_version))
        for text in CASES:
            enc = ref.encode(text)
            tok = ref.tokenize(text)
            if ref_no_enc.tokenize(text) != tok:
                # ftfy's mojibake repair changed the text: the Java port does not replicate it, so
                # the row holds the ids without fix_encoding, plus the full reference ids.
                enc2 = ref_no_enc.encode(text)
                f.write("tok-no-fix-encoding\t%s\t%s\t%s\t%s\t%s\n" % (
                    escape(text), " ".join(map(str, ref_no_enc.tokenize(text))), " ".join(map(str, enc2)),
                    escape(ref_no_enc.decode(enc2)), " ".join(map(str, tok))))
                continue
            f.write("tok\t%s\t%s\t%s\t%s\n" % (escape(text), " ".join(map(str, tok)), " ".join(map(str, enc)),
                                              escape(ref.decode(enc))))
        byte_id = {b: ref.ids[ref.byte_map[b]] for b in range(256)}
        decode_cases = [
            [SOT, 320, 1125, 539, 320, 2368, 269, EOT],
            [byte_id[0xF0], byte_id[0x9F]],                      # truncated 4-byte sequence
            [byte_id[0xF0], byte_id[0x9F], 320, byte_id[0x80]],  # truncated then stray continuation
            [byte_id[0xC3], 256 + byte_id[0xA9]],                # valid 2-byte sequence split over tokens
            [byte_id[0xED], byte_id[0xA0], byte_id[0x80]],       # encoded surrogate (invalid in UTF-8)
            [byte_id[0xE2], byte_id[0x82], byte_id[0xFF], byte_id[0xC0], byte_id[0xAF]],
            list(range(0, 600, 7)),
            [49405, 49404, 40000, 12345, 256, 511],
        ]
        for ids in decode_cases:
            f.write("dec\t%s\t%s\n" % (" ".join(map(str, ids)), escape(ref.decode(ids))))
    print("wrote %d cases to %s" % (len(CASES), GOLDEN))


# ---------------------------------------------------------------- tables
def ranges(cps):
    out = []
    for c in sorted(cps):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def fmt_ranges(cps):
    return ["%x-%x" % (a, b) if a != b else "%x" % a for a, b in ranges(cps)]


def hexseq(s):
    return " ".join("%x" % ord(c) for c in s)


def write_tables():
    ic = regex.IGNORECASE
    p_l = regex.compile(r"[\p{L}]", ic)
    p_n = regex.compile(r"[\p{N}]", ic)
    p_o = regex.compile(r"[^\s\p{L}\p{N}]", ic)
    p_s = regex.compile(r"\s")
    letters, numbers, spaces, pyspace, others, lower = [], [], [], [], [], []
    ignorable, cased = [], []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        if p_l.fullmatch(c):
            letters.append(cp)
        if p_n.fullmatch(c):
            numbers.append(cp)
        if p_s.fullmatch(c):
            spaces.append(cp)
        if p_o.fullmatch(c):
            others.append(cp)
        if c.isspace():
            pyspace.append(cp)
        if cp != 0x3A3 and c.lower() != c:
            lower.append("%x %s" % (cp, hexseq(c.lower())))
        # final-sigma context classes of str.lower(), probed through str.lower() itself
        a = ("a\u03a3" + c + "a").lower()[1] == "\u03c2"
        b = ("a\u03a3" + c).lower()[1] == "\u03c2"
        if not a and b:
            ignorable.append(cp)
        elif not a and not b:
            cased.append(cp)
    # code points that match no alternative of the pre-tokenisation pattern
    lset, nset, sset, oset = set(letters), set(numbers), set(spaces), set(others)
    nothing = [cp for cp in range(0x110000) if not (0xD800 <= cp <= 0xDFFF)
               and cp not in lset and cp not in nset and cp not in sset and cp not in oset]
    assert not (lset & nset) and not (oset & (lset | nset | sset))

    sections = {
        "LETTER": fmt_ranges(letters),
        "NUMBER": fmt_ranges(numbers),
        "REGEX_SPACE": fmt_ranges(spaces),
        "PY_SPACE": fmt_ranges(pyspace),
        "NO_MATCH": fmt_ranges(nothing),
        "CASE_IGNORABLE": fmt_ranges(ignorable),
        "CASED": fmt_ranges(cased),
        "LOWER": lower,
    }
    # ftfy tables (ftfy.chardata) and html.unescape tables
    sections["FTFY_ENTITY"] = ["%s %s" % (name, hexseq(val))
                               for name, val in sorted(ftfy.chardata.HTML_ENTITIES.items())]
    sections["HTML5_ENTITY"] = ["%s %s" % (name, hexseq(val))
                                for name, val in sorted(html.entities.html5.items())]
    import html as html_mod
    sections["HTML_INVALID_CHARREF"] = ["%x %s" % (k, hexseq(v))
                                        for k, v in sorted(html_mod._invalid_charrefs.items())]
    sections["HTML_INVALID_CODEPOINT"] = fmt_ranges(html_mod._invalid_codepoints)
    sections["FTFY_WIDTH"] = ["%x %s" % (k, hexseq(v)) for k, v in sorted(ftfy.chardata.WIDTH_MAP.items())]
    sections["FTFY_LIGATURE"] = ["%x %s" % (k, hexseq(v)) for k, v in sorted(ftfy.chardata.LIGATURES.items())]
    sections["FTFY_CONTROL"] = fmt_ranges(ftfy.chardata.CONTROL_CHARS.keys())
    sections["FTFY_C1"] = ["%x %s" % (b, hexseq(bytes([b]).decode("sloppy-windows-1252")))
                           for b in range(0x80, 0xA0)]
    with open(TABLES, "w", encoding="ascii", newline="\n") as f:
        f.write("# Character tables for org.ovseg.text.ClipTokenizer, generated by "
                "tools/text/make_tokenizer_golden.py --tables.\n")
        f.write("# Source runtime: Python %s (unicodedata %s), regex %s, ftfy %s. Entity names come from "
                "Python's html.entities.html5 (WHATWG HTML named character references).\n"
                % (sys.version.split()[0], unicodedata.unidata_version, regex.__version__, ftfy.__version__))
        f.write("# Format: '@SECTION count' then one entry per line; code points in hex; ranges as a-b.\n")
        for name, entries in sections.items():
            f.write("@%s %d\n" % (name, len(entries)))
            for e in entries:
                f.write(e + "\n")
    print("wrote tables to %s" % TABLES)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden", action="store_true")
    ap.add_argument("--tables", action="store_true")
    args = ap.parse_args()
    both = not args.golden and not args.tables
    if args.tables or both:
        write_tables()
    if args.golden or both:
        ref = Reference(VOCAB)
        assert ref.tokenize("a photo of a cat.") == [49406, 320, 1125, 539, 320, 2368, 269, 49407]
        write_golden(ref, Reference(VOCAB, fix_encoding=False))


if __name__ == "__main__":
    main()
