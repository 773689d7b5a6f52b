#!/usr/bin/env bash
# DeepSeek-R1's distillation comparison at toy scale (issue 17): a GRPO-trained teacher (the demo's model: d 128,
# 4 layers, 0.8M parameters, 900 pretraining steps + 60 GRPO steps) and a smaller student (preset tiny: d 64, 2 layers,
# 0.1M parameters, pretrained on the same built-in corpus with the demo's recipe); then the student
# (a) with GRPO alone, (b) fine-tuned on the teacher's verified traces, (c) fine-tuned then GRPO, at matched student FLOPs.
# Stages: teacher, student, experiment (default all). Usage: dev/runs/distill.sh [stage...]
set -euo pipefail
cd "$(dirname "$0")/../.."
AHA=${AHA:-"dotnet run --project src/Aha.Cli -c Release --"}
OUT=${OUT:-runs/distill-exp}
stages=${*:-teacher student experiment}
mkdir -p "$OUT"

for stage in $stages; do
  case $stage in
    teacher)    # aha demo's whole recipe: its pretrain/ is the demo's base, its grpo/ the teacher
      $AHA demo --out "$OUT/teacher" --seed 42 ;;   # aha demo never overwrites: a second run writes teacher-2
    student)    # the demo's pretraining recipe (corpus, steps, batch, length, lr) on the smaller preset
      $AHA pretrain --model-size tiny --corpus reasoning --steps 900 --batch-size 32 --seq-len 128 --lr 3e-3 --warmup 30 \
        --eval-every 0 --save-every 0 --seed 42 --out "$OUT/student-base" ;;
    experiment) # 512 training problems x 4 traces at T 0.6; budget = 40 GRPO steps of 16 x 8 on the student
      $AHA distill --experiment --teacher "$OUT/teacher/grpo" --student "$OUT/student-base" --task addition \
        --prompts 512 --samples 4 --grpo-steps 40 --eval-problems 200 --out "$OUT/compare" ;;
    *) echo "unknown stage '$stage' (teacher, student, experiment)" >&2; exit 2 ;;
  esac
done
