#!/usr/bin/env python3
"""Measurement-only stand-in for `aha prefs`: preference pairs from `aha eval --samples K` output, labelled by the
task's verifier (the `correct` field), with a share of labels flipped as a noisy human would.

    /usr/bin/python3 dev/rlhf/pairs_from_samples.py SAMPLES.jsonl OUT.jsonl [--noise 0.2] [--pairs-per-problem 2] [--seed 1]

Each problem with at least one correct and one wrong sample gives up to N (correct, wrong) pairs; the label prefers the
correct one, except a --noise share of pairs, which are flipped. Rows are TRL standard JSONL plus chosen_correct /
rejected_correct (the truth, for the reward model's agreement with the verifier). `aha prefs` replaces this script.
"""
import argparse
import json
import random
from collections import defaultdict

p = argparse.ArgumentParser()
p.add_argument("samples")
p.add_argument("out")
p.add_argument("--noise", type=float, default=0.2)
p.add_argument("--pairs-per-problem", type=int, default=2)
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()
rng = random.Random(a.seed)
by_problem = defaultdict(list)
for line in open(a.samples):
    row = json.loads(line)
    by_problem[row["id"]].append(row)
written = flipped = 0
with open(a.out, "w") as out:
    for pid, rows in by_problem.items():
        good = [r for r in rows if r["correct"]]
        bad = [r for r in rows if not r["correct"]]
        rng.shuffle(good)
        rng.shuffle(bad)
        for i in range(min(a.pairs_per_problem, max(len(good), len(bad)) if good and bad else 0)):
            c, w = good[i % len(good)], bad[i % len(bad)]
            flip = rng.random() < a.noise
            chosen, rejected = (w, c) if flip else (c, w)
            flipped += flip
            written += 1
            out.write(json.dumps({"prompt": c["prompt"], "chosen": chosen["completion"], "rejected": rejected["completion"],
                                  "chosen_correct": chosen["correct"], "rejected_correct": rejected["correct"]}) + "\n")
print(json.dumps({"pairs": written, "flipped": flipped, "problems": len(by_problem), "noise": a.noise}))
