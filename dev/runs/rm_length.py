#!/usr/bin/env python3
"""How much of a reward model's preference is length: on the held-out pairs `aha rm` used (its --eval-fraction split,
reproduced here from TrainValidationSplit: FNV-1a of the prompt, xor seed, one SplitMix64 step), score both completions
with `aha rm score`, then on pairs where the verifier does not decide (both right or both wrong) and the lengths differ,
count how often the RM scores the longer one higher, beside how often the label chose it. Also prints the label accuracy
and verifier agreement from these scores, which must equal the run's summary.json (a check that the split is right).
Usage: dev/runs/rm_length.py PAIRS.jsonl RM_FOLDER [--fraction 0.1] [--seed 1]   (AHA=path-to-aha to override)"""
import argparse, json, os, subprocess, tempfile

M = (1 << 64) - 1

def is_validation(doc, fraction, seed):
    h = 14695981039346656037
    for b in doc.encode("utf-8"):
        h = ((h ^ b) * 1099511628211) & M
    z = (((h ^ (seed & M)) & M) + 0x9E3779B97F4A7C15) & M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    z ^= z >> 31
    return (z >> 11) * (1.0 / (1 << 53)) < fraction

def win(a, b):
    return 1 if a > b else 0.5 if a == b else 0

ap = argparse.ArgumentParser()
ap.add_argument("pairs"); ap.add_argument("rm")
ap.add_argument("--fraction", type=float, default=0.1); ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()
held = [r for r in map(json.loads, open(a.pairs)) if is_validation(r["prompt"], a.fraction, a.seed)]
with tempfile.TemporaryDirectory() as tmp:
    src, out = os.path.join(tmp, "in.jsonl"), os.path.join(tmp, "scored.jsonl")
    with open(src, "w") as f:
        for r in held:
            for k in ("chosen", "rejected"):
                f.write(json.dumps({"prompt": r["prompt"], "completion": r[k]}) + "\n")
    subprocess.run([os.environ.get("AHA", "aha"), "rm", "score", "--model", a.rm, "--in", src, "--out", out, "--threads", "1"], check=True, stdout=subprocess.DEVNULL)
    scores = [json.loads(l)["score"] for l in open(out)]
acc = agree = decisive = 0
groups = {}
for i, r in enumerate(held):
    c, w = scores[2 * i], scores[2 * i + 1]
    acc += win(c, w)
    if r["chosen_correct"] != r["rejected_correct"]:
        agree += win(c, w) if r["chosen_correct"] else win(w, c)
        decisive += 1
        continue
    lc, lr = r["chosen_tokens"], r["rejected_tokens"]
    if lc == lr:
        continue
    longer, shorter = (c, w) if lc > lr else (w, c)
    long_text, short_text = (r["chosen"], r["rejected"]) if lc > lr else (r["rejected"], r["chosen"])
    g = groups.setdefault("both right" if r["chosen_correct"] else "both wrong", [0, 0, 0, 0])
    g[0] += 1; g[1] += win(longer, shorter); g[2] += lc > lr
    g[3] += "<think>" in long_text and "<think>" not in short_text  # the worked format against a bare answer
print(f"held-out pairs {len(held)}: label accuracy {acc / len(held):.3f}, verifier agreement {agree / decisive:.3f} ({decisive} decisive)")
for k, (n, rm_longer, label_longer, think) in groups.items():
    print(f"{k}, lengths differ: {n} pairs ({think} where only the longer has <think>); RM scores the longer higher {rm_longer / n:.3f}; "
          f"the label chose the longer {label_longer / n:.3f}")
