#!/usr/bin/env python3
"""Independent PyTorch reference for Aha's DeepSeek-V3 variant: MLA, DeepSeekMoE with bias-corrected routing, the
sequence-wise balance loss and one multi-token-prediction module.

Written from the DeepSeek-V3 paper's equations in the plainest form, deliberately unlike the C# code: attention scores
as the sum of a no-position and a RoPE part with per-head keys spelled out, routing token by token in a Python loop.
Weights follow llama_reference.py's formula (parameter k of the ordinally sorted names = sin(arange(n)·0.37 + k)·0.1,
+1 for norms); the router biases (buffers, not parameters) are sin(arange(E)·1.7 + layer)·0.05.

Writes tests/Aha.Tests/Model/golden/deepseek_v3.safetensors: input_ids, targets, logits, loss (next-token CE), mtp_loss,
balance_loss, buffer.<bias name> and grad.<name> of loss + 0.3·mtp_loss + 0.01·balance_loss for every parameter.

    /usr/bin/python3 tests/reference/deepseek_v3_reference.py
CI never runs this; it only reads the committed file.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

from llama_reference import BASE, OUT, rms_norm, rotate, save_safetensors

CONFIG = dict(BASE, kv_lora_rank=12, q_lora_rank=20, qk_rope_head_dim=4, qk_nope_head_dim=8, v_head_dim=6,
              n_routed_experts=4, num_experts_per_tok=2, moe_intermediate_size=16, n_shared_experts=1,
              first_k_dense_replace=1, routed_scaling_factor=1.5, norm_topk_prob=True, num_nextn_predict_layers=1)
MTP_WEIGHT, BALANCE_WEIGHT = 0.3, 0.01


def is_moe(c, layer):
    return layer >= c["first_k_dense_replace"]


def shapes(c):
    h, v, nh = c["hidden_size"], c["vocab_size"], c["num_attention_heads"]
    dn, dr, dv, rank, qr = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"], c["kv_lora_rank"], c["q_lora_rank"]
    out = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,), "lm_head.weight": (v, h)}

    def mlp(prefix, width):
        out[prefix + "gate_proj.weight"] = (width, h)
        out[prefix + "up_proj.weight"] = (width, h)
        out[prefix + "down_proj.weight"] = (h, width)

    for l in range(c["num_hidden_layers"] + c["num_nextn_predict_layers"]):
        p = f"model.layers.{l}."
        out[p + "self_attn.q_a_proj.weight"] = (qr, h)
        out[p + "self_attn.q_a_layernorm.weight"] = (qr,)
        out[p + "self_attn.q_b_proj.weight"] = (nh * (dn + dr), qr)
        out[p + "self_attn.kv_a_proj_with_mqa.weight"] = (rank + dr, h)
        out[p + "self_attn.kv_a_layernorm.weight"] = (rank,)
        out[p + "self_attn.kv_b_proj.weight"] = (nh * (dn + dv), rank)
        out[p + "self_attn.o_proj.weight"] = (h, nh * dv)
        if is_moe(c, l):
            for j in range(c["n_routed_experts"]):
                mlp(p + f"mlp.experts.{j}.", c["moe_intermediate_size"])
            mlp(p + "mlp.shared_experts.", c["moe_intermediate_size"] * c["n_shared_experts"])
            out[p + "mlp.gate.weight"] = (c["n_routed_experts"], h)
        else:
            mlp(p + "mlp.", c["intermediate_size"])
        out[p + "input_layernorm.weight"] = (h,)
        out[p + "post_attention_layernorm.weight"] = (h,)
        if l >= c["num_hidden_layers"]:
            out[p + "enorm.weight"] = (h,)
            out[p + "hnorm.weight"] = (h,)
            out[p + "eh_proj.weight"] = (h, 2 * h)
            out[p + "shared_head.norm.weight"] = (h,)
    return out


def formula_weights(c):
    params = {}
    table = shapes(c)
    for k, name in enumerate(sorted(table)):
        n = int(np.prod(table[name]))
        w = np.sin(np.arange(n, dtype=np.float64) * 0.37 + k) * 0.1
        if name.endswith("norm.weight"):
            w = w + 1.0
        params[name] = torch.tensor(w.astype(np.float32).reshape(table[name]), requires_grad=True)
    return params


def router_biases(c):
    e = c["n_routed_experts"]
    return {f"model.layers.{l}.mlp.gate.e_score_correction_bias":
            torch.tensor((np.sin(np.arange(e) * 1.7 + l) * 0.05).astype(np.float32))
            for l in range(c["num_hidden_layers"] + c["num_nextn_predict_layers"]) if is_moe(c, l)}


def mla(c, p, pre, x, pos, allowed):
    b, t, _ = x.shape
    nh, dn, dr, dv, rank = c["num_attention_heads"], c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"], c["kv_lora_rank"]
    eps = c["rms_norm_eps"]
    cq = rms_norm(F.linear(x, p[pre + "q_a_proj.weight"]), p[pre + "q_a_layernorm.weight"], eps)
    q = F.linear(cq, p[pre + "q_b_proj.weight"]).view(b, t, nh, dn + dr).transpose(1, 2)   # (B, H, T, dn + dR)
    q_nope, q_rope = q[..., :dn], rotate(q[..., dn:], pos, c["rope_theta"])
    kv = F.linear(x, p[pre + "kv_a_proj_with_mqa.weight"])                                  # (B, T, d_c + dR)
    latent = rms_norm(kv[..., :rank], p[pre + "kv_a_layernorm.weight"], eps)                # (B, T, d_c)
    k_rope = rotate(kv[..., rank:][:, None], pos, c["rope_theta"])                          # (B, 1, T, dR) one key for all heads
    up = F.linear(latent, p[pre + "kv_b_proj.weight"]).view(b, t, nh, dn + dv).transpose(1, 2)
    k_nope, v = up[..., :dn], up[..., dn:]
    scores = (q_nope @ k_nope.transpose(-1, -2) + q_rope @ k_rope.transpose(-1, -2)) / math.sqrt(dn + dr)
    scores = scores.masked_fill(~allowed, float("-inf"))
    y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, nh * dv)
    return F.linear(y, p[pre + "o_proj.weight"])


def swiglu(p, pre, x):
    return F.linear(F.silu(F.linear(x, p[pre + "gate_proj.weight"])) * F.linear(x, p[pre + "up_proj.weight"]), p[pre + "down_proj.weight"])


def moe(c, p, bias, pre, x, balance):
    b, t, h = x.shape
    e, k = c["n_routed_experts"], c["num_experts_per_tok"]
    scores = torch.sigmoid(F.linear(x, p[pre + "gate.weight"]))  # (B, T, E)
    rows, chosen = [], torch.zeros(b, t, e)
    for i in range(b):
        for j in range(t):
            top = torch.topk(scores[i, j].detach() + bias, k).indices
            gates = scores[i, j, top] / scores[i, j, top].sum() * c["routed_scaling_factor"]
            rows.append(sum(gates[n] * swiglu(p, pre + f"experts.{int(top[n])}.", x[i, j]) for n in range(k)))
            chosen[i, j, top] = 1
    routed = torch.stack(rows).view(b, t, h)
    f = chosen.sum(1) * e / (k * t)                                    # (B, E)
    prob = (scores / scores.sum(-1, keepdim=True)).mean(1)            # (B, E)
    balance.append((f * prob).sum(-1).mean())
    return routed + swiglu(p, pre + "shared_experts.", x)


def block(c, p, biases, layer, x, pos, allowed, balance):
    pre = f"model.layers.{layer}."
    eps = c["rms_norm_eps"]
    x = x + mla(c, p, pre + "self_attn.", rms_norm(x, p[pre + "input_layernorm.weight"], eps), pos, allowed)
    h = rms_norm(x, p[pre + "post_attention_layernorm.weight"], eps)
    if is_moe(c, layer):
        return x + moe(c, p, biases[pre + "mlp.gate.e_score_correction_bias"], pre + "mlp.", h, balance)
    return x + swiglu(p, pre + "mlp.", h)


def forward(c, p, biases, ids, targets):
    b, t = ids.shape
    eps, pad, L = c["rms_norm_eps"], c["pad_token_id"], c["num_hidden_layers"]
    pos = torch.arange(t)[None].expand(b, t)
    allowed = torch.ones(t, t, dtype=torch.bool).tril()[None, None]
    balance = []
    x = F.embedding(ids, p["model.embed_tokens.weight"], padding_idx=pad)
    for l in range(L):
        x = block(c, p, biases, l, x, pos, allowed, balance)
    h0 = rms_norm(x, p["model.norm.weight"], eps)
    logits = F.linear(h0, p["lm_head.weight"])
    # MTP module 1 at position i: h0_i and the embedding of token i+1 (targets[:, i]) predict token i+2 (targets[:, i+1]).
    n = t - 1
    ahead = targets[:, :n].clone()
    ahead[ahead == -100] = pad
    pre = f"model.layers.{L}."
    e = rms_norm(F.embedding(ahead, p["model.embed_tokens.weight"], padding_idx=pad), p[pre + "enorm.weight"], eps)
    m = F.linear(torch.cat([e, rms_norm(h0[:, :n], p[pre + "hnorm.weight"], eps)], -1), p[pre + "eh_proj.weight"])
    m = block(c, p, biases, L, m, pos[:, :n], allowed[..., :n, :n], balance)
    mtp_logits = F.linear(rms_norm(m, p[pre + "shared_head.norm.weight"], eps), p["lm_head.weight"])
    mtp_loss = F.cross_entropy(mtp_logits.reshape(-1, c["vocab_size"]), targets[:, 1:].reshape(-1), ignore_index=-100)
    return logits, mtp_loss, sum(balance)


if __name__ == "__main__":
    torch.set_num_threads(1)
    c = CONFIG
    b, t = 2, 10
    ids = torch.tensor([[(i * 7 + r * 13 + 3) % c["vocab_size"] for i in range(t)] for r in range(b)], dtype=torch.int64)
    targets = torch.cat([ids[:, 1:], torch.full((b, 1), -100, dtype=torch.int64)], 1)
    p, biases = formula_weights(c), router_biases(c)
    logits, mtp_loss, balance_loss = forward(c, p, biases, ids, targets)
    loss = F.cross_entropy(logits.reshape(-1, c["vocab_size"]), targets.reshape(-1), ignore_index=-100)
    (loss + MTP_WEIGHT * mtp_loss + BALANCE_WEIGHT * balance_loss).backward()
    out = {"input_ids": ids, "targets": targets, "logits": logits, "loss": loss.reshape(1),
           "mtp_loss": mtp_loss.reshape(1), "balance_loss": balance_loss.reshape(1)}
    for name, value in biases.items():
        out["buffer." + name] = value
    for name in sorted(p):
        out["grad." + name] = p[name].grad if p[name].grad is not None else torch.zeros_like(p[name])
    meta = {"config": json.dumps(c), "mtp_weight": str(MTP_WEIGHT), "balance_weight": str(BALANCE_WEIGHT)}
    save_safetensors(os.path.join(OUT, "deepseek_v3.safetensors"), out, meta)
    print(f"deepseek_v3: loss {loss.item():.6f}, mtp {mtp_loss.item():.6f}, balance {balance_loss.item():.6f}, {len(p)} parameters")
