#!/usr/bin/env bash
# Constitutional AI on the demo's base model, as README's "Constitutional AI: `aha cai`" reports it:
# teach the byte model to judge and critique (continued pretraining on --corpus cai), measure its AI labels against the
# verifier, then RL-CAI (AI labels -> reward model -> PPO) and SL-CAI (critique -> revision -> SFT).
# Usage: dev/runs/cai.sh BASE OUT [STAGES]   (BASE: the demo's pretrained base, e.g. runs/demo/pretrain/step-000900;
#        OUT: a scratch folder; STAGES: any of judge,labels,rl,sl — default all; later stages read earlier ones' output in OUT)
set -euo pipefail
BASE=${1:?base model folder}; OUT=${2:?output folder}; STAGES=${3:-judge,labels,rl,sl}
AHA=${AHA:-aha}
mkdir -p "$OUT"
common=(--threads 1 --device cpu)
run() { [[ ",$STAGES," == *",$1,"* ]]; }
# The toy judge: the base, pretrained further on the demo's corpus mixed with judgements and critiques (30% each).
run judge && $AHA pretrain --model "$BASE" --corpus cai --out "$OUT/judge" --steps 400 --batch-size 16 --seq-len 256 --lr 1e-3 --warmup 20 --eval-every 0 --save-every 0 --overwrite "${common[@]}"
JUDGE=$(ls -d "$OUT"/judge/step-* | tail -1)
# AI-label quality alone: the same completions labelled by the untaught base (self) and by the taught judge.
run labels && $AHA cai rl --model "$BASE" --judge self --labels-only --prompts 256 --samples 4 --out "$OUT/labels-self" --overwrite "${common[@]}"
# (The taught judge's soft labels are measured by the rl stage, which labels the same completions first.)
run labels && $AHA cai rl --model "$BASE" --judge "$JUDGE" --judge-mode hard --labels-only --prompts 128 --samples 4 --out "$OUT/labels-judge-hard" --overwrite "${common[@]}"
# RL-CAI: the base as the policy, the taught judge as the feedback model; RM on the soft labels, PPO against it.
run rl && $AHA cai rl --model "$BASE" --judge "$JUDGE" --prompts 256 --samples 4 --rm-steps 100 --steps 30 --rl-prompts 32 --lr 1e-4 --out "$OUT/rl" --overwrite "${common[@]}"
# The same labels and reward model, GRPO instead of PPO (and what its policy writes).
run rl && $AHA cai rl --model "$BASE" --judge "$JUDGE" --prompts 256 --samples 4 --rm-steps 100 --algorithm grpo --steps 20 --rl-prompts 8 --lr 1e-4 --out "$OUT/rl-grpo" --overwrite "${common[@]}"
run rl && $AHA eval --model "$OUT/rl-grpo/grpo/step-000020" --task addition --n 200 --max-tokens 64 --out "$OUT/rl-grpo-eval"
# SL-CAI: the taught model critiques and revises its own samples, then is fine-tuned on the revisions.
run sl && $AHA cai sl --model "$JUDGE" --prompts 256 --rounds 1 --steps 100 --batch-size 16 --lr 1e-4 --out "$OUT/sl" --overwrite "${common[@]}"
true
