"""Plan explorer: every parallelism plan of a model on a server type and device count that fits in
memory, ranked by predicted step time.

    python -m sim.app.explore scenario=llama_405b [model=...] [hardware=...] [cluster.servers=N]

Prints the fastest plans and writes all that fit to ``plans.csv`` in Hydra's output directory.
The scenario supplies the model, server type, device count, workload and the framework settings
(ZeRO stage, overlaps, interleaving) that the plans share.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import hydra
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from sim.app.cli import launch
from sim.app.help import EXPLORE
from sim.app.loading import to_config
from sim.app.validation import validate
from sim.app.validation.checks import divisors
from sim.config import CONF_DIR, Config
from sim.errors import ConfigError
from sim.perf.memory import layer_slots, memory_per_device
from sim.perf.model import RECOMPUTE_MODES
from sim.perf.throughput import throughput

MICRO_BATCHES = (1, 2, 4)
ZERO_STAGES = (0, 1, 2, 3)
SHOWN = 20


def candidate_plans(config: Config) -> Iterator[Config]:
    """Every combination of TP (inside a server), CP, PP, DP, EP (for a mixture of experts: the
    divisors of the expert count that divide DP), micro-batch, recomputation, ZeRO stage and
    interleaving whose degrees multiply to the device count; validity and memory are checked by
    the caller."""
    model, hw, base = config.model, config.hardware, config.parallelism
    devices = config.cluster.servers * hw.devices_per_server
    for tp in divisors(hw.devices_per_server):
        for cp in (c for c in (1, 2, 4, 8, 16, 32) if config.workload.seq_len % c == 0):
            for pp in divisors(devices // tp // cp) if devices % (tp * cp) == 0 else []:
                fewer = _fewer_layers(model.layers, pp, base.fewer_layers_first_last)
                if fewer is None:
                    continue
                dp = devices // (tp * cp * pp)
                slots = layer_slots(model.layers, pp, fewer)
                eps = [e for e in divisors(model.experts) if dp % e == 0] or [1]
                for virtual, mbs, recompute, zero, ep in itertools.product(
                    divisors(slots) if pp > 1 else [1], MICRO_BATCHES, RECOMPUTE_MODES,
                    ZERO_STAGES, eps,
                ):  # fmt: skip
                    plan = dataclasses.replace(
                        base, tp=tp, cp=cp, pp=pp, dp=dp, micro_batch_size=mbs,
                        recompute=recompute, fewer_layers_first_last=fewer,
                        virtual_stages=virtual, zero_stage=zero, ep=ep,
                    )  # fmt: skip
                    yield dataclasses.replace(config, parallelism=plan)


def _fewer_layers(layers: int, pp: int, allowed: int) -> int | None:
    """Even stages if the layers allow it, else the configured trimming of the end stages."""
    if layers % pp == 0:
        return 0
    if pp > 1 and allowed and (layers + 2 * allowed) % pp == 0:
        return allowed
    return None


def explore(config: Config) -> pd.DataFrame:
    """All plans that fit, fastest first."""
    rows = []
    for plan in candidate_plans(config):
        try:
            validate(plan)
        except ConfigError:
            continue
        speed, memory, par = throughput(plan), memory_per_device(plan), plan.parallelism
        rows.append(
            {
                "tp": par.tp,
                "pp": par.pp,
                "dp": par.dp,
                "cp": par.cp,
                "micro_batch_size": par.micro_batch_size,
                "recompute": par.recompute,
                "virtual_stages": par.virtual_stages,
                "zero_stage": par.zero_stage,
                "ep": par.ep,
                "step_time_s": speed.step_time_s,
                "tflops_per_device": speed.tflops_per_device,
                "mfu": speed.mfu,
                "memory_per_device_gib": memory.total_gib,
                "memory_capacity_gib": memory.capacity_gib,
                "bubble_s": speed.bubble_s,
                "tp_comm_s": speed.tp_comm_s,
                "ep_comm_s": speed.ep_comm_s,
                "cp_comm_s": speed.cp_comm_s,
                "dp_comm_s": speed.dp_comm_s,
            }
        )
    frame = pd.DataFrame(rows)
    return frame.sort_values("step_time_s", ignore_index=True) if rows else frame


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def app(cfg: DictConfig) -> None:
    config = to_config(cfg)
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    plans = explore(config)
    devices = config.cluster.servers * config.hardware.devices_per_server
    what = f"{config.model.name} on {devices:,} x {config.hardware.device}"
    if plans.empty:
        print(f"error: no plan of {what} fits in memory", file=sys.stderr)
        sys.exit(2)
    out_dir.mkdir(parents=True, exist_ok=True)
    plans.to_csv(out_dir / "plans.csv", index=False)
    shown = plans.head(SHOWN)[
        ["tp", "pp", "dp", "cp", "ep", "micro_batch_size", "recompute", "virtual_stages",
         "zero_stage", "step_time_s",
         "tflops_per_device", "mfu", "memory_per_device_gib"]
    ]  # fmt: skip
    print(f"{len(plans)} plans of {what} fit in memory; the {len(shown)} fastest:")
    print(shown.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    print(f"all {len(plans)} in {out_dir / 'plans.csv'}")


def main() -> None:
    # the configured plan need not fit: others may
    launch(app, check=lambda config: None, program=EXPLORE)


if __name__ == "__main__":
    main()
