#!/usr/bin/env python3
"""Regenerates bytes_to_unicode.json: GPT-2's byte-to-unicode table (openai/gpt-2 encoder.py), as
Hugging Face's ByteLevel pre-tokenizer uses it. Written independently of the C# code it checks.
Run: python3 make_golden.py  (standard library only)."""
import json


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


table = bytes_to_unicode()
with open("bytes_to_unicode.json", "w", encoding="utf-8") as f:
    json.dump([table[b] for b in range(256)], f, ensure_ascii=False, indent=0)
    f.write("\n")
