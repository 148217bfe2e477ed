#!/usr/bin/env bash
# The closed loop, offline on a CPU: lint an SFT set with a planted opener, filter the opener
# out, train a tiny model on the full and on the filtered data, and measure how often each
# model's replies open with it (traitlab/reply_patterns through Inspect's hf/ provider).
#
#   examples/closed_loop/run.sh OUT
#
# Writes OUT/summary.json ({"before": {"rate", "low", "high", ...}, "after": {...}}),
# OUT/closed_loop.png, and on the way OUT/lint/ (the lint report), OUT/filtered.jsonl,
# OUT/checkpoints/{full,filtered}/ (with run cards), OUT/logs/ and OUT/report/ (`traitlab
# report`, with the paired difference). The lint's LLM stages and the eval's judge are the
# lint's scripted demo rater (traitlab.lint.demo:policy), whose rules know the planted sentence;
# with a real model, pass it as --model to the lint and as the judge role to the eval.
#
# Knobs (environment): CLOSED_LOOP_STEPS (training steps, default 400), CLOSED_LOOP_EPOCHS
# (replies per prompt, default 3), CLOSED_LOOP_PROMPTS (a prompts JSONL for the eval).
set -euo pipefail

OUT=${1:?usage: examples/closed_loop/run.sh OUT}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA="$HERE/sft.jsonl"
STEPS=${CLOSED_LOOP_STEPS:-400}
EPOCHS=${CLOSED_LOOP_EPOCHS:-3}
PROMPTS=()
[ -n "${CLOSED_LOOP_PROMPTS:-}" ] && PROMPTS=(-T "prompts=$CLOSED_LOOP_PROMPTS")
RATER=(--model scripted/demo -M policy=traitlab.lint.demo:policy)
JUDGE='judge={model: scripted/judge, model_args: {policy: traitlab.lint.demo:policy}}'

# A 100k-parameter model: one thread per process is fastest, and on a shared machine two
# spinning threads made a training step 10x slower.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false

if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT")" ]; then
  echo "$OUT is not empty: give a new directory" >&2
  exit 2
fi
mkdir -p "$OUT/checkpoints"

echo "== 1/5 lint $DATA"
traitlab lint "$DATA" -o "$OUT/lint" "${RATER[@]}" --sample all --no-clusters

echo "== 2/5 filter out validating_opener"
traitlab lint filter "$DATA" --report "$OUT/lint" -o "$OUT/filtered.jsonl" \
  --feature validating_opener

echo "== 3/5 train a tiny model on each ($STEPS steps)"
python -m traitlab.training.demo "$OUT/checkpoints/base"
for name in full filtered; do
  data=$DATA
  [ "$name" = filtered ] && data="$OUT/filtered.jsonl"
  # The recipe that learns the opener: enough steps at a high rate for a tiny model (it
  # memorises the 80 chats; 4 steps, the README walk's, teach nothing).
  cat > "$OUT/checkpoints/$name.yaml" <<YAML
model: {base: "$OUT/checkpoints/base"}
data: {synthetic: ["$data"]}
training:
  learning_rate: 1.0e-2
  max_steps: $STEPS
  batch_size: 16
  max_length: 96
  warmup_steps: 0.05
  lr_scheduler: cosine
  logging_steps: 50
output: "$OUT/checkpoints/$name"
YAML
  traitlab train sft --config "$OUT/checkpoints/$name.yaml"
done

echo "== 4/5 measure the opener in each model's replies ($EPOCHS per prompt)"
for name in full filtered; do
  inspect eval traitlab/reply_patterns --model "hf/$OUT/checkpoints/$name" -M device=cpu \
    -T "patterns=$OUT/lint/features.json" -T pattern_ids=validating_opener "${PROMPTS[@]}" \
    --epochs "$EPOCHS" --temperature 1.0 --max-tokens 24 --seed 0 --model-role "$JUDGE" \
    --log-dir "$OUT/logs/$name" --display none
done

echo "== 5/5 summarise"
traitlab report "$OUT/logs" -o "$OUT/report" --baseline "hf/$OUT/checkpoints/full"
python "$HERE/summarize.py" "$OUT"
