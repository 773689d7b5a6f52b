#!/usr/bin/env python3
"""Independent PyTorch reference for Aha's LlamaModel (Hugging Face LlamaForCausalLM semantics).

Written from the Llama math, not from transformers, so a shared bug cannot hide in a shared import. Weights come from a
formula, not an RNG, so C# rebuilds them bit for bit:
    parameter k (index in the ordinally sorted state-dict names) = sin(arange(n) * 0.37 + k) * 0.1, reshaped,
    plus 1 for norm weights; computed in float64, stored as float32.

Writes one safetensors file per case into tests/Aha.Tests/Model/golden/: input_ids, attention_mask, logits, loss
(mean next-token cross-entropy over pairs whose query and target are both real tokens) and grad.<name> for every
parameter; the config (Hugging Face config.json fields) rides in the metadata.

    /usr/bin/python3 tests/reference/llama_reference.py     # needs only torch (1.13 or newer) and numpy
CI never runs this; it only reads the committed files.
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Aha.Tests", "Model", "golden")

BASE = dict(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=64, rope_theta=10000.0, rms_norm_eps=1e-5,
            bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False, attention_bias=False)


def shapes(c):
    h, i, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    d = h // c["num_attention_heads"]
    kv = c["num_key_value_heads"] * d
    out = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,)}
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        out[p + "self_attn.q_proj.weight"] = (h, h)
        out[p + "self_attn.k_proj.weight"] = (kv, h)
        out[p + "self_attn.v_proj.weight"] = (kv, h)
        out[p + "self_attn.o_proj.weight"] = (h, h)
        if c["attention_bias"]:
            out[p + "self_attn.q_proj.bias"] = (h,)
            out[p + "self_attn.k_proj.bias"] = (kv,)
            out[p + "self_attn.v_proj.bias"] = (kv,)
            out[p + "self_attn.o_proj.bias"] = (h,)  # LlamaAttention: attention_bias puts a bias on all four
        out[p + "mlp.gate_proj.weight"] = (i, h)
        out[p + "mlp.up_proj.weight"] = (i, h)
        out[p + "mlp.down_proj.weight"] = (h, i)
        out[p + "input_layernorm.weight"] = (h,)
        out[p + "post_attention_layernorm.weight"] = (h,)
    if not c["tie_word_embeddings"]:
        out["lm_head.weight"] = (v, h)
    return out


def formula_weights(c):
    params = {}
    for k, name in enumerate(sorted(shapes(c))):
        shape = shapes(c)[name]
        n = int(np.prod(shape))
        w = np.sin(np.arange(n, dtype=np.float64) * 0.37 + k) * 0.1
        if name.endswith("norm.weight"):
            w = w + 1.0
        params[name] = torch.tensor(w.astype(np.float32).reshape(shape), requires_grad=True)
    return params


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate(x, pos, theta):
    d = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))  # (D/2)
    freqs = pos[..., None].float() * inv_freq                                             # (B, T, D/2)
    emb = torch.cat([freqs, freqs], -1)[:, None]                                          # (B, 1, T, D)
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return x * emb.cos() + torch.cat([-x2, x1], -1) * emb.sin()


def forward(c, p, ids, mask):
    b, t = ids.shape
    nh, nkv = c["num_attention_heads"], c["num_key_value_heads"]
    d = c["hidden_size"] // nh
    eps = c["rms_norm_eps"]
    pos = (mask.cumsum(-1) - 1).clamp(min=0)                                # (B, T)
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    allowed = causal & (mask.bool()[:, None, :] | torch.eye(t, dtype=torch.bool))  # (B, T, T); pad queries see themselves
    x = F.embedding(ids, p["model.embed_tokens.weight"], padding_idx=c["pad_token_id"])
    for l in range(c["num_hidden_layers"]):
        pre = f"model.layers.{l}."
        h = rms_norm(x, p[pre + "input_layernorm.weight"], eps)

        def proj(name, heads):
            w = p[pre + f"self_attn.{name}.weight"]
            bias = p.get(pre + f"self_attn.{name}.bias")
            return F.linear(h, w, bias).view(b, t, heads, d).transpose(1, 2)

        q, k, v = proj("q_proj", nh), proj("k_proj", nkv), proj("v_proj", nkv)
        q, k = rotate(q, pos, c["rope_theta"]), rotate(k, pos, c["rope_theta"])
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d)
        scores = scores.masked_fill(~allowed[:, None], float("-inf"))
        y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, nh * d)
        x = x + F.linear(y, p[pre + "self_attn.o_proj.weight"], p.get(pre + "self_attn.o_proj.bias"))
        h = rms_norm(x, p[pre + "post_attention_layernorm.weight"], eps)
        gate = F.linear(h, p[pre + "mlp.gate_proj.weight"])
        up = F.linear(h, p[pre + "mlp.up_proj.weight"])
        x = x + F.linear(F.silu(gate) * up, p[pre + "mlp.down_proj.weight"])
    x = rms_norm(x, p["model.norm.weight"], eps)
    head = p["model.embed_tokens.weight"] if c["tie_word_embeddings"] else p["lm_head.weight"]
    return F.linear(x, head)


def next_token_loss(logits, ids, mask):
    pairs = (mask[:, :-1] * mask[:, 1:]).bool()  # query and target both real
    ce = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none")
    return (ce * pairs.reshape(-1)).sum() / pairs.sum()


def save_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        a = t.detach().contiguous().numpy()
        dtype = {np.float32: "F32", np.int64: "I64"}[a.dtype.type]
        raw = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def run(name, overrides, left_pad):
    c = dict(BASE, **overrides)
    b, t = 2, 12
    ids = torch.tensor([[(i * 7 + r * 13 + 3) % c["vocab_size"] for i in range(t)] for r in range(b)], dtype=torch.int64)
    ids[0, 5] = c["pad_token_id"]  # a pad id inside real text: its embedding row must get no gradient from the lookup
    mask = torch.ones(b, t, dtype=torch.int64)
    if left_pad:
        mask[1, :left_pad] = 0
        ids[1, :left_pad] = c["pad_token_id"]
    p = formula_weights(c)
    logits = forward(c, p, ids, mask)
    loss = next_token_loss(logits, ids, mask)
    loss.backward()
    out = {"input_ids": ids, "attention_mask": mask, "logits": logits * mask[..., None], "loss": loss.reshape(1)}
    for n in sorted(p):
        out["grad." + n] = p[n].grad
    save_safetensors(os.path.join(OUT, f"{name}.safetensors"), out, {"config": json.dumps(c)})
    print(f"{name}: loss {loss.item():.6f}, {len(p)} parameters")


if __name__ == "__main__":
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    run("untied_bias", dict(attention_bias=True), left_pad=0)
    run("tied", dict(tie_word_embeddings=True), left_pad=0)
    run("tied_left_padded", dict(tie_word_embeddings=True), left_pad=4)
