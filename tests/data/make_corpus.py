#!/usr/bin/env python3
"""Derives the training corpus from the hand-written sources.

This is an authoring tool, not part of the build: its output is committed.
  corpus/situations/<category>.txt   situation_id|style|priority|text (corpus/GUIDE.md)
  corpus/situations/typical_<category>.txt   the everyday reports of each category, same format
  corpus/situations/more_<category>.txt      a second round of situations for the categories most confused
  corpus/situations/en_<category>.txt        English reports (the style cross-validation found weakest)
  corpus/situations/p1_<category>.txt        emergencies told calmly, each beside a near case that is not one
  corpus/situations/r4{vi,en,sms,p1}_<category>.txt  the fourth round: every priority of every category in
                                             Vietnamese, English and hand-typed shorthand, and calm emergencies
  corpus/situations/r7p1_<category>.txt      calm emergencies of the body and of a weapon waited for, beside
                                             near cases (after the seventh held-out round); read last, so the
                                             derived styles of every earlier line stay as they were
  corpus/source-vi.txt, source-en.txt  the first, smaller corpus (category|priority|text)
Writes train.tsv: category<TAB>priority<TAB>situation<TAB>style<TAB>text.
Every `vi` line (Vietnamese with diacritics) appears in three styles: as
written, without diacritics (`plain`), and in SMS shorthand (`sms`:
diacritics dropped, common abbreviations substituted at random, punctuation
mostly gone); the three share the situation, so grouped cross-validation
keeps them in one fold. Lines written by hand in plain, sms, en or mixed
style are taken as they are.

The final held-out sets (final/*.tsv) are not made here: they were written
separately, after the model was frozen, and never trained on.
"""
import os
import random
import re
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))

SHORTHAND = [
    (r"\bkhông\b", ["ko", "k", "hok", "kh", "khong"]),
    (r"\bđược\b", ["dc", "đc", "duoc"]),
    (r"\bbị\b", ["bj", "bi", "bi"]),
    (r"\bngười\b", ["ng", "nguoi"]),
    (r"\bem\b", ["e"]),
    (r"\banh\b", ["a", "anh"]),
    (r"\bgì\b", ["j", "gi"]),
    (r"\brồi\b", ["r", "roi"]),
    (r"\bvới\b", ["vs", "voi"]),
    (r"\bquá\b", ["wa", "qua"]),
    (r"\bnhiều\b", ["nhiu", "nhieu"]),
    (r"\bbiết\b", ["bik", "bit", "biet"]),
    (r"\bchồng\b", ["ck", "chong"]),
    (r"\bvợ\b", ["vk", "vo"]),
    (r"\bcũng\b", ["cx", "cung"]),
    (r"\bmọi người\b", ["mn", "moi ng"]),
    (r"\bcông an\b", ["ca", "CA", "cong an"]),
    (r"\bđiện thoại\b", ["dt", "đt", "dien thoai"]),
    (r"\btrước\b", ["trc", "truoc"]),
    (r"\bthanh niên\b", ["tn", "thanh nien"]),
    (r"\btôi\b", ["t", "tui", "toi", "mik"]),
    (r"\bđường\b", ["đg", "dg", "duong"]),
    (r"\bkhu phố\b", ["kp"]),
    (r"\bphường\b", ["p", "phuong"]),
    (r"\bvừa\b", ["vua", "vùa", "vưa"]),
    (r"\bđang\b", ["dang", "đg"]),
    (r"\bgiúp\b", ["giup", "jup"]),
    (r"\bnhanh\b", ["nhanh", "nhanh nhanh"]),
    (r"\btrộm\b", ["trom", "chom"]),
    (r"\bxe máy\b", ["xe may", "xm"]),
]


def strip_marks(s):
    s = s.replace("đ", "d").replace("Đ", "D")
    d = unicodedata.normalize("NFD", s)
    return unicodedata.normalize("NFC", "".join(c for c in d if unicodedata.category(c) != "Mn"))


def plain(s):
    return strip_marks(s)


def shorthand(s, rng):
    s = s.lower()
    for pat, outs in SHORTHAND:
        s = re.sub(pat, lambda m: rng.choice(outs) if rng.random() < 0.8 else m.group(0), s)
    s = strip_marks(s)
    s = re.sub(r"[.,;:!?]", lambda m: "" if rng.random() < 0.7 else m.group(0), s)
    s = re.sub(r"\s+", " ", s).strip()
    return s



CATEGORIES = ["theft", "robbery", "assault", "domestic_violence", "drugs", "gambling", "fraud", "cybercrime",
              "loan_sharking", "fire", "traffic", "public_order", "dispute", "suspicious", "weapons", "other"]
STYLES = {"vi", "plain", "sms", "en", "mixed"}


def read_situations(cat):
    rows = []
    for name in (cat, "typical_" + cat, "more_" + cat, "en_" + cat, "p1_" + cat,
                 "r4vi_" + cat, "r4en_" + cat, "r4sms_" + cat, "r4p1_" + cat):
        rows += read_situation_file(os.path.join(HERE, "corpus", "situations", name + ".txt"), cat)
    return rows


def read_situation_file(path, cat):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("|")
            if len(parts) != 4:
                raise SystemExit(f"{path}:{n}: expected situation|style|priority|text")
            sit, style, prio, text = (p.strip() for p in parts)
            if style not in STYLES or prio not in ("P1", "P2", "P3", "P4") or not sit.startswith(cat + "."):
                raise SystemExit(f"{path}:{n}: bad style, priority or situation id")
            if "\t" in text:
                raise SystemExit(f"{path}:{n}: a tab in the text")
            rows.append((cat, prio, sit, style, text))
    return rows


def read_legacy(name, lang):
    rows = []
    with open(os.path.join(HERE, "corpus", name), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cat, prio, text = line.split("|", 2)
            rows.append((cat, prio, f"{cat}.legacy_{lang}_{n}", "vi" if lang == "vi" else "en", text))
    return rows


def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        f.write("# generated by tests/data/make_corpus.py; category<TAB>priority<TAB>situation<TAB>style<TAB>text\n")
        for row in rows:
            f.write("\t".join(row) + "\n")


def main():
    rng = random.Random(20261201)
    src = []
    for cat in CATEGORIES:
        src += read_situations(cat)
    src += read_legacy("source-vi.txt", "vi") + read_legacy("source-en.txt", "en")
    for cat in CATEGORIES:
        src += read_situation_file(os.path.join(HERE, "corpus", "situations", "r7p1_" + cat + ".txt"), cat)
    train = []
    for cat, prio, sit, style, text in src:
        train.append((cat, prio, sit, style, text))
        if style == "vi":
            train.append((cat, prio, sit, "plain", plain(text)))
            train.append((cat, prio, sit, "sms", shorthand(text, rng)))
    write(os.path.join(HERE, "train.tsv"), train)
    by_cat = {}
    for r in train:
        by_cat[r[0]] = by_cat.get(r[0], 0) + 1
    p1 = sum(1 for r in train if r[1] == "P1")
    print(f"train {len(train)} rows from {len(src)} written reports in {len(set(r[2] for r in src))} situations; "
          f"P1 {100.0 * p1 / len(train):.1f}%")
    print("  " + ", ".join(f"{c} {by_cat.get(c, 0)}" for c in CATEGORIES))


if __name__ == "__main__":
    main()
