#!/usr/bin/env bash
# The preference route on the demo's base model, as README's "The other route: preferences and DPO" reports it.
# Usage: dev/runs/prefs-dpo.sh BASE OUT   (BASE: the demo's pretrained base, e.g. runs/demo/pretrain; OUT: a scratch folder)
set -euo pipefail
BASE=${1:?base model folder}; OUT=${2:?output folder}
AHA=${AHA:-aha}
mkdir -p "$OUT"
common=(--threads 1 --device cpu)
# Pairs: 512 training prompts × 4 samples at temperature 1, every two labelled by the simulated human.
$AHA prefs --model "$BASE" --task addition --prompts 512 --samples 4 --seed 1 --label-noise 0.2 --length-bias 0.5 --out "$OUT/pairs.jsonl" "${common[@]}"
$AHA prefs --model "$BASE" --task addition --prompts 512 --samples 4 --seed 1 --label-noise 0.2 --length-bias 0 --out "$OUT/pairs-nolength.jsonl" "${common[@]}"
$AHA prefs --model "$BASE" --task addition --prompts 512 --samples 4 --seed 1 --label-noise 0.5 --length-bias 0 --out "$OUT/pairs-random.jsonl" "${common[@]}"
dpo=(--model "$BASE" --task addition --steps 100 --batch-size 8 --eval-every 25 --overwrite "${common[@]}")
$AHA dpo "${dpo[@]}" --data "$OUT/pairs.jsonl" --out "$OUT/dpo" --lr 5e-5
$AHA dpo "${dpo[@]}" --data "$OUT/pairs.jsonl" --out "$OUT/cdpo" --lr 5e-5 --label-smoothing 0.2
$AHA dpo "${dpo[@]}" --data "$OUT/pairs.jsonl" --out "$OUT/ipo" --lr 5e-5 --loss ipo
$AHA dpo "${dpo[@]}" --data "$OUT/pairs-nolength.jsonl" --out "$OUT/dpo-nolength" --lr 5e-5
$AHA dpo "${dpo[@]}" --data "$OUT/pairs-random.jsonl" --out "$OUT/dpo-random" --lr 5e-5
$AHA dpo "${dpo[@]}" --data "$OUT/pairs.jsonl" --out "$OUT/dpo-lr2e-4" --lr 2e-4
$AHA dpo "${dpo[@]}" --data "$OUT/pairs.jsonl" --out "$OUT/dpo-lora" --lr 5e-4 --lora-rank 8
