"""Issue 12 experiment driver: train many lifter arms in one process (the clips are read and harmonised once).

    PYTHONPATH=src python tools/scale12_runs.py capacity RUN_DIR [--folds cmu] [--seeds 0 1 2]
        [--arms 512x3 1024x2] [--steps 3000]
    PYTHONPATH=src python tools/scale12_runs.py table4 RUN_DIR [--seeds 0 1 2] [--steps 1500]

``capacity`` writes ``RUN_DIR/loso_<fold>[_h<hidden>b<blocks>]_s<seed>.pt`` (``python -m benchmarks motion`` reads them;
512 wide x 3 blocks is the shipped size and carries no size tag).  ``table4`` trains TP-Net (contexts 4 / 10 / 20, online and bidirectional), the LSTM (N = 20) and the Bi-LSTM
(4 / 10 / 20) on the harmonised motion of every family (:mod:`structpose.train.tpnet_scale`), tests each on
every family's test clips, and appends one JSON line per (model, seed) to ``RUN_DIR/table4.jsonl`` (a model
and seed already there is skipped: the run can be restarted).  One torch thread; run it under ``nice``.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["capacity", "table4", "table4-summary"])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--folds", nargs="+", default=["cmu"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--arms", nargs="+", default=["512x3", "1024x2"])
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--pose-balance", type=float, default=0.0, help="MotionLifterConfig.pose_balance")
    a = ap.parse_args()
    import torch
    if a.what == "table4-summary":
        return table4_summary(a.run_dir)
    if a.what == "table4":
        return table4(a.run_dir, a.seeds, a.steps or 300)

    from structpose.train.motion_lifter import FAMILIES, MotionLifterConfig, load_family_clips, train
    torch.set_num_threads(1)
    a.run_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    by_family = load_family_clips(list(FAMILIES), True, print)
    print(f"clips read and harmonised in {time.time() - t0:.0f} s", flush=True)
    for seed in a.seeds:
        for fold in a.folds:
            for arm in a.arms:
                hidden, blocks = (int(v) for v in arm.split("x"))
                tag = "" if (hidden, blocks) == (512, 3) else f"_h{hidden}b{blocks}"
                tag += f"_pb{a.pose_balance:g}" if a.pose_balance else ""
                out = a.run_dir / f"loso_{fold}{tag}_s{seed}.pt"
                if out.exists():
                    print(f"{out} exists, skipped", flush=True)
                    continue
                cfg = MotionLifterConfig(seed=seed, held_out=fold, steps=a.steps or 3000, pose_balance=a.pose_balance,
                                         model={"hidden": hidden, "blocks": blocks, "dropout": 0.1})
                s = train(cfg, out, log=lambda m, t=f"[{fold} {arm} s{seed}]": print(t, m, flush=True),
                          by_family={f: c for f, c in by_family.items() if f != fold})
                print(f"wrote {out} in {s['wall_seconds']:.0f} s", flush=True)


TABLE4 = [("TP-Net", {"kind": "tpnet", "hidden": [1024], "representation": "relative"}, "online", (4, 10, 20)),
          ("Bi-TP-Net", {"kind": "tpnet", "hidden": [1024], "representation": "relative"}, "bidirectional", (4, 10, 20)),
          ("LSTM", {"kind": "lstm", "hidden": 128, "layers": 1}, "online", (20,)),
          ("Bi-LSTM", {"kind": "lstm", "hidden": 128, "layers": 1}, "bidirectional", (4, 10, 20))]


def table4(run_dir: Path, seeds: list[int], steps: int, batch: int = 128) -> None:
    import json

    import torch

    from structpose.models.tpnet import save_model
    from structpose.train.tpnet_scale import (
        FamilyWindows,
        ScaleTPNetConfig,
        evaluate,
        family_clips,
        test_set,
        train,
    )
    torch.set_num_threads(1)
    run_dir.mkdir(parents=True, exist_ok=True)
    out = run_dir / "table4.jsonl"
    done = set()
    if out.exists():
        done = {(r["name"], r["window"], r["seed"]) for r in map(json.loads, out.read_text().splitlines())}
    t0 = time.time()
    data = FamilyWindows(family_clips("train"))
    tests = test_set(family_clips("test"))
    print(f"data ready in {time.time() - t0:.0f} s: train frames "
          + ", ".join(f"{f} {len(x)}" for f, x in zip(data.families, data.frames))
          + "; test sequences " + ", ".join(f"{f} {len(r)}" for f, r in tests.items()), flush=True)
    if ("input", 0, 0) not in done:
        with out.open("a") as fh:
            fh.write(json.dumps({"name": "input", "window": 0, "seed": 0, "test": evaluate(None, tests)}) + "\n")
    # the paper's rows first (every TP-Net, LSTM and Bi-LSTM at N = 20) for every seed, then Bi-LSTM at 4 and 10
    plan = [(seed, name, model, mode, n) for phase in (0, 1) for seed in seeds for name, model, mode, windows in TABLE4
            for n in windows if (name != "Bi-LSTM" or n == 20) == (phase == 0)]
    for seed, name, model, mode, n in plan:
        if (name, n, seed) in done:
            continue
        cfg = ScaleTPNetConfig(model={**model, "window": n, "mode": mode}, steps=steps, batch_size=batch,
                               seed=seed)
        net, wall = train(cfg, data, log=lambda m, t=f"[{name} N={n} s{seed}]": print(t, m, flush=True))
        res = evaluate(net, tests)
        save_model(net, run_dir / f"table4_{name}_{n}_s{seed}.pt", half=False)
        print(f"[{name} N={n} s{seed}] test mean MPJPE {res['mean']['mpjpe']:.1f} "
              f"MPJVE {res['mean']['mpjve']:.2f} ({wall:.0f} s)", flush=True)
        with out.open("a") as fh:
            fh.write(json.dumps({"name": name, "window": n, "seed": seed, "steps": steps, "batch": batch,
                                 "wall_s": round(wall, 1), "test": res}) + "\n")


def table4_summary(run_dir: Path) -> None:
    """Markdown: mean +- std over seeds of MPJPE / MPJVE (mean over families), and per family MPJPE."""
    import json

    import numpy as np
    rows = [json.loads(x) for x in (run_dir / "table4.jsonl").read_text().splitlines()]
    fams = [f for f in rows[0]["test"] if f != "mean"]
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["name"], r["window"]), []).append(r)
    print("| model | N | seeds | MPJPE mm (mean of families) | MPJVE mm/frame | " + " | ".join(fams) + " |")
    print("|---|---|---|---|---|" + "---|" * len(fams))
    order = ["input", "LSTM", "Bi-LSTM", "TP-Net", "Bi-TP-Net"]
    for (name, n), rs in sorted(groups.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])):
        cell = lambda vals: f"{np.mean(vals):.1f} ± {np.std(vals):.1f}" if len(vals) > 1 else f"{vals[0]:.1f}"
        print(f"| {name} | {n or '-'} | {len(rs)} | {cell([r['test']['mean']['mpjpe'] for r in rs])} | "
              f"{cell([r['test']['mean']['mpjve'] for r in rs])} | "
              + " | ".join(cell([r['test'][f]['mpjpe'] for r in rs]) for f in fams) + " |")


if __name__ == "__main__":
    main()
