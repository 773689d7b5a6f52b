#!/usr/bin/env python3
"""Loads an Aha checkpoint folder the way a Hugging Face user would see it, with no Aha code, and decodes greedily.

Reads config.json (LlamaConfig names), model.safetensors (parsed here from the format's spec: 8-byte header length,
JSON header, raw little-endian tensors) and tokenizer.json (byte-level BPE: checks it maps the GPT-2 byte alphabet
to ids 0..255), then runs the independent Llama forward of llama_reference.py and prints the greedy completion.
Compare with `aha generate --model DIR --prompt TEXT --temperature 0`:

    /usr/bin/python3 tests/reference/greedy_from_checkpoint.py runs/demo/grpo "User: What is 38+28?
    Assistant:" 64
Not run in CI (Python is not needed there).
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_reference import forward  # noqa: E402

DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[base + a:base + b], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.tensor(arr.copy())
    return out, header.get("__metadata__", {})


def resolve(path):
    latest = os.path.join(path, "latest")
    return os.path.join(path, open(latest).read().strip()) if os.path.exists(latest) else path


def main():
    folder = resolve(sys.argv[1])
    prompt = sys.argv[2]
    max_new = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    c = json.load(open(os.path.join(folder, "config.json")))
    assert c["model_type"] == "llama" and c["architectures"] == ["LlamaForCausalLM"], c
    tok = json.load(open(os.path.join(folder, "tokenizer.json")))
    vocab = tok["model"]["vocab"]
    assert vocab["Ġ"] == 0x20 and vocab["!"] == 0x21 and len(vocab) == 256, "not a byte-level vocabulary"
    specials = {t["content"]: t["id"] for t in tok["added_tokens"]}
    params, meta = load_safetensors(os.path.join(folder, "model.safetensors"))
    assert meta.get("format") == "pt", meta
    if c.get("tie_word_embeddings"):
        params.pop("lm_head.weight", None)
    c.setdefault("attention_bias", False)
    ids = [specials["<|bos|>"]] + list(prompt.encode("utf-8"))
    stops = {specials["<|eos|>"], specials["<|end|>"]}
    out = []
    with torch.no_grad():
        for _ in range(max_new):
            x = torch.tensor([ids])
            nxt = int(forward(c, params, x, torch.ones_like(x))[0, -1].argmax())
            out.append(nxt)
            if nxt in stops:
                break
            ids.append(nxt)
            if bytes(i for i in out if i < 256).endswith(b"</answer>"):
                break
    print(bytes(i for i in out if i < 256).decode("utf-8", errors="replace"))


if __name__ == "__main__":
    main()
