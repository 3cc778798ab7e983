#!/bin/bash
# Train the members of a voting line model side by side on one GPU machine that has PyTorch and no
# TensorFlow (Keras on its PyTorch backend; `line_fit.py --no-export`), then export them here with
# TensorFlow's converter:
#
#   # here: the data and the wheels the GPU machine lacks, in folders git ignores
#   mkdir -p .devdata/data && cp -r ../shared/data/orand_car_a ../shared/data/mnist .devdata/data/
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .whl keras==3.15.1 namex optree
#   # there (its python3 has torch, numpy, opencv, h5py...): OUT=folder TOTAL=seconds
#   bash train/line_members.sh
#   # here: tar xzf OUT/runs.tgz -C runs/gpu1, then
#   python -m digitkiosk.train.line_ensemble runs/gpu1/*/linenet.keras --combine posterior --out runs/members8
#
# A probe epoch of every run, side by side, sets the epoch count that fits TOTAL seconds.
# linenet 1.1.0 was made so (README, "The line model for fields"): 23 epochs, 335 s each.
set -u
T0=$(date +%s)
TOTAL=${TOTAL:-470}
DATA=${DATA:-.devdata/data}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
mkdir -p /tmp/pkg/digitkiosk /tmp/r
for d in device train models; do ln -sfn "$PWD/$d" /tmp/pkg/digitkiosk/$d; done
export PYTHONPATH=/tmp/site:/tmp/pkg KERAS_BACKEND=torch PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
python3 -c "import keras, torch; print('keras', keras.__version__, keras.backend.backend(), 'torch', torch.__version__, 'cuda', torch.cuda.is_available())" || exit 4
FROM="--data $DATA/orand_car_a --mnist-data $DATA/mnist"
COMMON="--synthetic ${SYN:-6000} --real-repeat 2 --mnist 10000 --batch-size 32 --lr 2e-3 --no-export"
# name:widths:seed
RUNS=${RUNS:-"a11:12,24,48,64,96:11 a12:12,24,48,64,96:12 a13:12,24,48,64,96:13 a14:12,24,48,64,96:14 b11:16,32,64,96,128:11 b12:16,32,64,96,128:12 b13:16,32,64,96,128:13 b14:16,32,64,96,128:14"}
launch() {  # epochs budget_s prefix
  for r in $RUNS; do
    IFS=: read -r name widths seed <<<"$r"
    timeout $(($2 + 90)) python3 -m digitkiosk.train.line_fit $FROM $COMMON --widths "$widths" --seed "$seed" \
      --epochs "$1" --budget-s "$2" --out "/tmp/r/$3$name" >"/tmp/r/$3$name.log" 2>&1 &
  done
  wait
}
launch 1 1 probe_
EPOCH_S=$(python3 -c "
import glob, json
print(max(json.load(open(f))['history'][-1]['elapsed_s'] for f in glob.glob('/tmp/r/probe_*/fit.json')))")
LEFT=$((TOTAL - ($(date +%s) - T0)))
EPOCHS=$(python3 -c "print(max(2, int($LEFT / ($EPOCH_S * 1.15))))")
echo "probe epoch ${EPOCH_S}s; ${LEFT}s left; epochs $EPOCHS"
rm -rf /tmp/r/probe_*
launch "$EPOCHS" $((LEFT - 20)) ""
for f in /tmp/r/*.log; do echo "== $f"; grep -E '"epoch"|Error|budget' "$f" | tail -3; done
tar czf "$OUT/runs.tgz" -C /tmp/r . && ls -la "$OUT"
echo "total $(($(date +%s) - T0))s"
