#!/usr/bin/env python3
"""Reference linear models for the sentiment sets that `sentiment-eval` scores, to tell how far
a linear model over these features can go without the size limit of the shipped table.

Same rows as `sentiment-eval`: every set deduplicated (Chinese texts found in both files
dropped), split by row parity; even rows train, odd rows are only scored.

  python3 nlp/scripts/sentiment-reference.py DATA_DIR cv        # 4-fold CV inside the training halves
  python3 nlp/scripts/sentiment-reference.py DATA_DIR curve     # Chinese learning curve (4-fold CV)
  python3 nlp/scripts/sentiment-reference.py DATA_DIR heldout   # the CV-chosen model, scored once

Needs numpy, scipy and scikit-learn. Models: NB-LR (Wang & Manning 2012: binary n-gram features
scaled by their naive-Bayes log-count ratio, then L2 logistic regression).
"""
import json, os, re, sys
import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression


def load_en(d, s):
    out, seen = [], set()
    for r in json.load(open(f"{d}/en/{s}.json", encoding="utf-8")):
        if r["text"] in seen:
            continue
        seen.add(r["text"])
        if r["class"] is None and not r["text"].strip():
            continue
        out.append((r["text"], r["class"] == 1, "en"))
    return out


def load_zh(d):
    files = [open(f"{d}/zh/{f}", encoding="utf-8").read() for f in ("pos.txt", "neg.txt")]
    lines = [[l.strip() for l in f.split("\n")] for f in files]
    sets = [set(l) for l in lines]
    train, test = [], []
    for k, pos in ((0, True), (1, False)):
        seen, i = set(), 0
        for t in lines[k]:
            if not t or t in sets[1 - k] or t in seen:
                continue
            seen.add(t)
            (train if i % 2 == 0 else test).append((t, pos, "zh"))
            i += 1
    return train, test


def split(d):
    train, test = [], []
    for s in ("amazon", "imdb", "yelp"):
        rows = load_en(d, s)
        train += rows[0::2]
        test += rows[1::2]
    zt, zv = load_zh(d)
    return train + zt, test + zv


def tokens(t):
    # Latin words, single CJK characters and other symbols.
    return re.findall(r"[a-z0-9']+|[\u4e00-\u9fff]|[^\sa-z0-9\u4e00-\u9fff]", t.lower())


def vectorizers(kind):
    vs = []
    for part in kind.split("+"):
        if part.startswith("c"):  # c14 = character 1-4-grams
            vs.append(CountVectorizer(analyzer="char", ngram_range=(int(part[1]), int(part[2])), binary=True))
        elif part.startswith("b"):  # b25 = character 2-5-grams inside word boundaries
            vs.append(CountVectorizer(analyzer="char_wb", ngram_range=(int(part[1]), int(part[2])), binary=True))
        elif part.startswith("w"):  # w12 = word / CJK character 1-2-grams
            vs.append(CountVectorizer(tokenizer=tokens, token_pattern=None, lowercase=False,
                                      ngram_range=(int(part[1]), int(part[2])), binary=True))
    return vs


def nblr(kind, c, fit, score):
    vs = vectorizers(kind)
    x = hstack([v.fit_transform([t for t, _, _ in fit]) for v in vs]).tocsr()
    z = hstack([v.transform([t for t, _, _ in score]) for v in vs]).tocsr()
    y = np.array([l for _, l, _ in fit])
    p, q = 1 + x[y].sum(0), 1 + x[~y].sum(0)
    r = np.asarray(np.log((p / p.sum()) / (q / q.sum()))).ravel()
    m = LogisticRegression(C=c, max_iter=5000).fit(x.multiply(r).tocsr(), y)
    return m.predict(z.multiply(r).tocsr()) == np.array([l for _, l, _ in score])


def line(ok, lang):
    return " ".join(f"{n} {ok[lang == n].mean() * 100:.2f}%" for n in ("zh", "en")) + f"  all {ok.mean() * 100:.2f}%"


def main():
    d, mode = sys.argv[1], sys.argv[2]
    train, test = split(os.path.expanduser(d))
    folds = np.empty(len(train), int)
    folds[np.random.RandomState(0).permutation(len(train))] = np.arange(len(train)) % 4
    if mode == "cv":
        for kind, c in [("c14", 0.1), ("c14", 0.05), ("c15", 0.1), ("c14+w12", 0.1),
                        ("c14+w12", 0.05), ("c13+w13", 0.1), ("c14+b25", 0.05)]:
            ok = np.empty(len(train), bool)
            for k in range(4):
                fit = [r for r, f in zip(train, folds) if f != k]
                held = [r for r, f in zip(train, folds) if f == k]
                ok[folds == k] = nblr(kind, c, fit, held)
            lang = np.array([l for _, _, l in train])
            print(f"{kind:8s} C={c:<5} 4-fold: {line(ok, lang)}", flush=True)
    elif mode == "curve":
        zh = [r for r in train if r[2] == "zh"]
        zf = np.array([f for r, f in zip(train, folds) if r[2] == "zh"])
        for frac in (0.25, 0.5, 1.0):
            accs = []
            for k in range(4):
                fit = [r for r, f in zip(zh, zf) if f != k]
                fit = [fit[i] for i in np.random.RandomState(k).permutation(len(fit))[: int(len(fit) * frac)]]
                accs.append(nblr("c14", 0.1, fit, [r for r, f in zip(zh, zf) if f == k]).mean())
            print(f"zh, {len(fit)} training texts: {np.mean(accs) * 100:.2f}%", flush=True)
    elif mode == "heldout":
        ok = nblr("c14+w12", 0.1, train, test)
        print(f"c14+w12 C=0.1 held-out ({len(test)} rows): {line(ok, np.array([l for _, _, l in test]))}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
