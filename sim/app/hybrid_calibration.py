"""Calibration of the hybrid replica's host engine on published runs, in the open.

A hybrid replica's GPU runs attention, the dense layers and the shared experts; its host CPU runs
the routed experts from host memory (``config.host``, ``config.host_engine``). The rows of
``sim/data/hybrid_serving.csv`` are KTransformers v0.2.1's published prefill and decode speeds of
DeepSeek-V3 on an RTX 4090 and two Xeon Gold 6454S sockets: the host engine's constants are fitted
on the rows where each token goes to 6 of its experts, and the rows with all 8 (the model as
trained) are the validation, never fitted. ``python -m sim.calibrate`` prints both.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from sim.app.loading import data_rows, load_config
from sim.app.serving_calibration import ServingRun, engine_profile, fit, leave_one_out

DATA = files("sim") / "data" / "hybrid_serving.csv"
ENGINE = "ktransformers"
SOURCES = {"ktransformers_v021": "KTransformers DeepSeek-V3 tutorial, V0.2.1 table"}
MODELS = {"DeepSeek-V3": "deepseek_v3"}
# The host runs only the routed experts: the efficiency of their GEMMs (prefill) and the bandwidth
# of their reads (decode). Serial work per MoE layer or per expert run, fitted as well, came out
# at zero on these rows, so it is not fitted.
KEYS = ("matrix_efficiency", "bandwidth_efficiency")


@cache
def hybrid_runs() -> tuple[ServingRun, ...]:
    """Every row with the configuration that serves it (``split`` in ``label``'s order)."""
    runs = []
    for row in data_rows(DATA):
        prompt, output = int(row["input_tokens"]), int(row["output_tokens"])
        overrides = [
            "serving=single_stream", "sim.progress=false", "failures=cpu_host",
            f"hardware={row['gpu']}", f"+hardware@host={row['cpu']}",
            f"+engine@host_engine={ENGINE}", f"model={MODELS[row['model']]}",
            f"model.experts_per_token={row['experts_per_token']}", "serving.tp=1",
            f"serving.weights={row['weights']}", "serving.kv_cache=bf16",
            f"serving.prompt_tokens.mean={prompt}", f"serving.prompt_tokens.max={prompt}",
            f"serving.output_tokens.mean={output}", f"serving.output_tokens.max={output}",
        ]  # fmt: skip
        label = (f"{row['model']} {row['weights']}, {row['experts_per_token']} experts, "
                 f"{row['gpu']} + {row['cpu']}, {prompt} in ({row['split']})")  # fmt: skip
        runs.append(ServingRun(
            label=label, source=row["source"], engine=ENGINE,
            config=load_config("mlperf_llama2_70b", overrides),
            ttft_s=prompt / float(row["prefill_tok_s"]), tpot_s=1.0 / float(row["decode_tok_s"]),
            slot="host_engine",
        ))  # fmt: skip
    return tuple(runs)


def split(name: str) -> list[ServingRun]:
    return [run for run in hybrid_runs() if run.label.endswith(f"({name})")]


def report() -> None:
    """Print the host engine's fit, its YAML, the calibration rows with their leave-one-out
    errors and the validation rows."""
    runs, in_yaml = split("calibration"), engine_profile(ENGINE)
    fitted = fit(runs, in_yaml, KEYS)
    print(f"host engine {ENGINE} ({in_yaml.software}): fitted on {len(runs)} rows of {DATA.name}")
    print("  fitted  " + ", ".join(f"{k}: {getattr(fitted, k):.4g}" for k in KEYS))
    print("  in YAML " + ", ".join(f"{k}: {getattr(in_yaml, k):.4g}" for k in KEYS))
    for run, (loo_ttft, loo_tpot) in zip(runs, leave_one_out(runs, in_yaml, KEYS), strict=True):
        print("  " + _line(run, in_yaml) + f"  loo TTFT {loo_ttft:+6.1%} TPOT {loo_tpot:+6.1%}")
    for run in split("validation"):
        print("  held out: " + _line(run, in_yaml))


def _line(run: ServingRun, engine: object) -> str:
    ttft, tpot = run.predicted(engine)  # type: ignore[arg-type]
    assert run.ttft_s is not None
    return (
        f"{run.label[:64]:64s} TTFT {run.ttft_s:7.2f} s {ttft:7.2f} {ttft / run.ttft_s - 1:+6.1%}"
        f"  TPOT {run.tpot_s * 1e3:6.1f} ms {tpot * 1e3:6.1f} {tpot / run.tpot_s - 1:+6.1%}"
    )
