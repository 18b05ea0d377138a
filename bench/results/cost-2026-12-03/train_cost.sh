#!/bin/bash
# CPU seconds of training one variant of each grid in each dtype, one thread, sequentially.
cd /work/main
for grid in quick paper; do
  if [ $grid = quick ]; then cfg="runs/quick/seed=1/config.yaml"; else cfg="runs/paper/seed=1/config.yaml"; fi
  for d in fp32 bf16 fp16; do
    rm -rf /tmp/cost/$grid-$d
    /usr/bin/time -f "$grid $d user %U sys %S wall %e maxrss_kb %M" build/cli/nurture train "$cfg" precision.dtype=$d $( [ $d = fp16 ] && echo precision.loss_scale=dynamic ) \
      output.dir=/tmp/cost/$grid-$d train.threads=1 > /tmp/cost/$grid-$d.log 2>>/tmp/cost/times.txt
  done
done
