"""Train the learned 3D stage (:mod:`mocap.lift`) on CMU mocap, reproducibly, on the CPU.

Data: the CMU takes in ``../shared/data/bvh`` (``cmu_iclone/``: 61 takes of subjects 1-7;
``cmu_salsa/``: 26 takes of subjects 60-61; the top-level ``cmu_01_01`` and ``cmu_131_01``;
``cmu_walk_delfem2.bvh`` is left out: its subject is not recorded and could be the held-out
one). Subject 2 (``cmu_iclone/002_*``: walk, run, jump, punch, swordplay, wash) is held out
for validation. The data is read in place; nothing of it is written into the repository.

Pairs: :func:`mocap.lift.data.make_batch` (landmarks from the rig joints, random cameras,
detector-like 2D noise, BlazePose-like 3D noise, mirror/speed/bone-length augmentation).

Writes the weights (``--out``, default ``mocap/lift/lifter.pt``) and a JSON of the recipe
and the measured numbers beside it (``lifter.json``); prints train loss and held-out MPJPE
per epoch. Seeded; one torch thread by default (``--threads``).

Usage::

    .venv/bin/python training/train_lifter.py                # the committed weights
    .venv/bin/python training/train_lifter.py --steps 200 --out /tmp/l.pt   # a quick try
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mocap.io.bvh import read_bvh  # noqa: E402
from mocap.lift import data as D  # noqa: E402
from mocap.lift.model import Lifter, LifterConfig, save  # noqa: E402
from mocap.retarget.bvh_source import bvh_animation  # noqa: E402

BVH = ROOT.parent / "shared" / "data" / "bvh"
HELD_OUT_SUBJECT = 2


def load_takes(root: Path = BVH) -> tuple[list[D.Take], list[D.Take]]:
    """(train, validation) takes: every CMU file named in the module docstring, as
    landmarks; validation = the held-out subject."""
    files = (sorted((root / "cmu_iclone").glob("*.bvh")) + sorted((root / "cmu_salsa").glob(
        "*.bvh")) + [root / "cmu_01_01_jump_fairmotion.bvh", root / "cmu_131_01_bvh11.bvh"])
    train, val = [], []
    for path in files:
        anim = bvh_animation(read_bvh(path))
        if path.parent.name == "cmu_iclone":
            anim = anim[1:]  # the iClone takes start with a T-pose frame
        take = D.Take(D.landmarks_from_points(anim.points()), anim.fps, path.name)
        is_val = path.parent.name == "cmu_iclone" and int(path.stem[:3]) == HELD_OUT_SUBJECT
        (val if is_val else train).append(take)
    return train, val


def mpjpe(pred: np.ndarray, true: np.ndarray, joints=None) -> float:
    """Mean per-joint position error, mm."""
    if joints is not None:
        pred, true = pred[..., joints, :], true[..., joints, :]
    return float(np.linalg.norm(pred - true, axis=-1).mean() * 1000)


def pa_mpjpe(pred: np.ndarray, true: np.ndarray, joints) -> float:
    """Procrustes-aligned MPJPE per frame over ``joints``, mm (mocap.geometry.metrics)."""
    from mocap.geometry.metrics import pa_mpjpe as pa

    p = pred[..., joints, :].reshape(-1, len(joints), 3)
    t = true[..., joints, :].reshape(-1, len(joints), 3)
    return float(pa(p, t) * 1000)


def predict(model: Lifter, inputs: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model(torch.from_numpy(inputs)).numpy()


def evaluate(model: Lifter, val: D.Batch) -> dict:
    out = predict(model.eval(), val.inputs)
    body = list(D.BODY_JOINTS)
    res = {"input_mpjpe_body_mm": mpjpe(val.noisy, val.target, body),
           "mpjpe_body_mm": mpjpe(out, val.target, body),
           "input_mpjpe_all_mm": mpjpe(val.noisy, val.target),
           "mpjpe_all_mm": mpjpe(out, val.target)}
    try:
        res["input_pa_mpjpe_body_mm"] = pa_mpjpe(val.noisy, val.target, body)
        res["pa_mpjpe_body_mm"] = pa_mpjpe(out, val.target, body)
    except ImportError:  # the shared metrics module not there yet
        pass
    # depth (camera z) vs across the image (x, y), body joints
    err = np.abs(out - val.target)[..., body, :] * 1000
    res["depth_mm"] = float(err[..., 2].mean())
    res["across_mm"] = float(err[..., :2].mean())
    err_in = np.abs(val.noisy - val.target)[..., body, :] * 1000
    res["input_depth_mm"] = float(err_in[..., 2].mean())
    res["input_across_mm"] = float(err_in[..., :2].mean())
    return res


def loss_fn(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    err = torch.linalg.vector_norm(pred - target, dim=-1)  # (B, L, 33)
    body = err[..., list(D.BODY_JOINTS)].mean()
    vel = torch.linalg.vector_norm((pred[:, 1:] - pred[:, :-1])
                                   - (target[:, 1:] - target[:, :-1]), dim=-1).mean()
    return err.mean() + body + 2.0 * vel


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--length", type=int, default=64, help="frames per training window")
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--channels", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: on a 2-core machine shared with other work, 2 "
                         "spinning OpenMP threads made a step 4-10x slower)")
    ap.add_argument("--epoch", type=int, default=300, help="steps between validations")
    ap.add_argument("--max-minutes", type=float, default=50.0,
                    help="stop early (and say so) past this wall time")
    ap.add_argument("--out", type=Path, default=ROOT / "mocap" / "lift" / "lifter.pt")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t_start = time.perf_counter()
    train, val_takes = load_takes()
    n_train = sum(len(t.landmarks) / t.fps for t in train)
    n_val = sum(len(t.landmarks) / t.fps for t in val_takes)
    print(f"takes: {len(train)} train ({n_train / 60:.1f} min), {len(val_takes)} held out "
          f"(subject {HELD_OUT_SUBJECT}, {n_val / 60:.1f} min); loaded in "
          f"{time.perf_counter() - t_start:.0f} s", flush=True)
    # a fixed validation set: its own seed, long windows like a whole track
    val = D.make_batch(np.random.default_rng(12345), val_takes, 128, 161, augment=False)

    config = LifterConfig(channels=args.channels)
    model = Lifter(config)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params / 1e6:.2f} M parameters, receptive field "
          f"{config.receptive_field} frames at {D.MODEL_FPS:.0f} fps", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    warm = 100

    def lr_at(step: int) -> float:
        if step < warm:
            return args.lr * (step + 1) / warm
        return args.lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / (args.steps - warm)))

    history = []
    running, t_train = 0.0, time.perf_counter()
    stopped_early = False
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        batch = D.make_batch(rng, train, args.batch, args.length)
        model.train()
        pred = model(torch.from_numpy(batch.inputs))
        loss = loss_fn(pred, torch.from_numpy(batch.target))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running += loss.item()
        last = step == args.steps - 1
        over = (time.perf_counter() - t_start) / 60 > args.max_minutes
        if (step + 1) % args.epoch == 0 or last or over:
            res = evaluate(model, val)
            n = (step % args.epoch) + 1
            res.update(step=step + 1, train_loss=running / n,
                       minutes=(time.perf_counter() - t_train) / 60)
            history.append(res)
            pa = (f" PA {res['input_pa_mpjpe_body_mm']:.1f} -> {res['pa_mpjpe_body_mm']:.1f}"
                  if "pa_mpjpe_body_mm" in res else "")
            print(f"step {step + 1:5d}  {res['minutes']:5.1f} min  train loss "
                  f"{res['train_loss'] * 1000:6.1f}  val MPJPE body "
                  f"{res['input_mpjpe_body_mm']:.1f}"
                  f" -> {res['mpjpe_body_mm']:.1f} mm, all 33 {res['input_mpjpe_all_mm']:.1f} -> "
                  f"{res['mpjpe_all_mm']:.1f}{pa}; depth {res['input_depth_mm']:.1f} -> "
                  f"{res['depth_mm']:.1f}, across {res['input_across_mm']:.1f} -> "
                  f"{res['across_mm']:.1f}", flush=True)
            running = 0.0
        if over:
            stopped_early = True
            print(f"stopped at step {step + 1}: past --max-minutes {args.max_minutes}",
                  flush=True)
            break
    minutes = (time.perf_counter() - t_start) / 60
    recipe = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "config": config.to_dict(), "parameters": n_params,
              "train_takes": [t.name for t in train], "val_takes": [t.name for t in val_takes],
              "held_out_subject": HELD_OUT_SUBJECT, "val_windows": [128, 161],
              "minutes": minutes, "stopped_early": stopped_early, "final": history[-1],
              "history": history, "torch": torch.__version__}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save(model, args.out, {"final": history[-1], "steps": history[-1]["step"]})
    args.out.with_suffix(".json").write_text(json.dumps(recipe, indent=1) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) in {minutes:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
