#!/usr/bin/env bash
# The RLHF route on the demo's base model, as README's "The other route: preferences and DPO" and
# "Reward model and PPO" report it: aha prefs -> aha dpo -> aha rm -> aha ppo.
# Usage: dev/runs/rlhf.sh BASE OUT [STAGES]   (BASE: the demo's pretrained base, e.g. runs/demo/pretrain/step-000900 after `aha demo`;
#        OUT: a scratch folder; STAGES: any of prefs,dpo,rm,ppo — default all; later stages read earlier ones' output in OUT)
set -euo pipefail
BASE=${1:?base model folder}; OUT=${2:?output folder}; STAGES=${3:-prefs,dpo,rm,ppo}
AHA=${AHA:-aha}
mkdir -p "$OUT"
common=(--threads 1 --device cpu)
run() { [[ ",$STAGES," == *",$1,"* ]]; }
# Pairs: 512 training prompts × 4 samples at temperature 1, every two labelled by the simulated human.
run prefs && $AHA prefs --model "$BASE" --task addition --prompts 512 --samples 4 --seed 1 --label-noise 0.2 --length-bias 0.5 --out "$OUT/pairs.jsonl" "${common[@]}"
run prefs && $AHA prefs --model "$BASE" --task addition --prompts 512 --samples 4 --seed 1 --label-noise 0.2 --length-bias 0 --out "$OUT/pairs-nolength.jsonl" "${common[@]}"
run prefs && $AHA prefs --model "$BASE" --task addition --prompts 512 --samples 4 --seed 1 --label-noise 0.5 --length-bias 0 --out "$OUT/pairs-random.jsonl" "${common[@]}"
dpo=(--model "$BASE" --task addition --steps 100 --batch-size 8 --eval-every 25 --overwrite "${common[@]}")
run dpo && $AHA dpo "${dpo[@]}" --data "$OUT/pairs.jsonl" --out "$OUT/dpo" --lr 5e-5
run dpo && $AHA dpo "${dpo[@]}" --data "$OUT/pairs.jsonl" --out "$OUT/cdpo" --lr 5e-5 --label-smoothing 0.2
run dpo && $AHA dpo "${dpo[@]}" --data "$OUT/pairs.jsonl" --out "$OUT/ipo" --lr 5e-5 --loss ipo
run dpo && $AHA dpo "${dpo[@]}" --data "$OUT/pairs-nolength.jsonl" --out "$OUT/dpo-nolength" --lr 5e-5
run dpo && $AHA dpo "${dpo[@]}" --data "$OUT/pairs-random.jsonl" --out "$OUT/dpo-random" --lr 5e-5
run dpo && $AHA dpo "${dpo[@]}" --data "$OUT/pairs.jsonl" --out "$OUT/dpo-lr2e-4" --lr 2e-4
run dpo && $AHA dpo "${dpo[@]}" --data "$OUT/pairs.jsonl" --out "$OUT/dpo-lora" --lr 5e-4 --lora-rank 8
# Reward model on the same pairs.jsonl (all 2,750 labels: verifier-, length- and coin-decided alike; the verifier agreement is
# measured on the held-out pairs whose chosen_correct/rejected_correct differ), then PPO against it, full and LoRA.
run rm && $AHA rm --model "$BASE" --data "$OUT/pairs.jsonl" --out "$OUT/rm" --steps 150 --batch-size 16 --eval-every 25 --overwrite "${common[@]}"
run rm && AHA=$AHA python3 "$(dirname "$0")/rm_length.py" "$OUT/pairs.jsonl" "$OUT/rm" | tee "$OUT/rm_length.txt"
ppo=(--model "$BASE" --reward-model "$OUT/rm" --task addition --steps 30 --prompts 32 --overwrite "${common[@]}")
run ppo && $AHA ppo "${ppo[@]}" --out "$OUT/ppo" --lr 1e-4
run ppo && $AHA ppo "${ppo[@]}" --out "$OUT/ppo-lora" --lr 1e-3 --lora-rank 16
true
