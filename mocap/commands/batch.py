"""`mocap batch INPUT... -o DIR`: convert a folder of videos, locally or on a Dask cluster."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from mocap.commands.options import add_convert_options, add_engine_options
from mocap.commands.quality import count, print_warnings, strict_status


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch", help="convert many videos (process pool or Dask), resumable",
        description="Convert every input video as `mocap convert` does, each into "
        "DIR/<name>/ (<name>: the file's stem, made a safe folder name and unique; the "
        "summary and batch.json say when it is not the stem). DIR/batch.json records every "
        "video's status (pending, running, done, failed, interrupted), timings, error and "
        "warnings. Progress lines (frames done) are printed while videos convert, each "
        "video's warnings when it is done, and a table at the end. One failing video never "
        "stops the others; the exit status is 1 if any failed (with --strict also if any "
        "has warnings). A batch that was interrupted (even killed) is finished with "
        "--resume, which skips videos whose outputs are complete and valid and were made "
        "with the same settings from the same video (the others are converted again). "
        "Inputs that are outputs of mocap (inside DIR, or listed in a report.json) are "
        "left out. A job folder that is a symbolic link, or holds outputs this batch did "
        "not write, stops the batch before any work (--force replaces such outputs).",
        epilog="examples:\n  mocap batch clips/ -o out/ --jobs 2\n"
        "  mocap batch 'takes/**/*.mp4' -o out/ --resume\n"
        "  mocap batch clips/ -o /shared/out --scheduler tcp://10.0.0.5:8786\n"
        "  mocap batch clips/ -o /shared/out --scheduler tls://dask.lan:8786 \\\n"
        "      --tls-ca-file ca.pem --tls-cert client.pem --tls-key client-key.pem\n\n"
        "security: a plain tcp:// scheduler is neither encrypted nor authenticated; anyone "
        "who can\nreach it can run code on its workers (as their user). Use tcp:// on "
        "trusted networks\nonly; elsewhere use tls:// with certificates.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="video files, folders (their videos) or glob patterns (quote them)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="batch directory")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="videos converted at once, each in its own process with cores/N "
                   "threads (default: 1)")
    p.add_argument("--resume", action="store_true",
                   help="continue a batch in DIR: skip videos whose outputs are complete "
                   "and made with these settings from the same video; redo the rest")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask cluster at tcp://HOST:PORT or tls://HOST:PORT (start "
                   "it with `dask scheduler` and `dask worker ADDRESS`; needs "
                   "mocap[distributed]); every worker must see the input and output paths. "
                   "Plain tcp:// lets anyone who can reach the scheduler run code on the "
                   "workers: trusted networks only")
    g = p.add_argument_group("TLS (with a tls:// --scheduler)")
    g.add_argument("--tls-ca-file", metavar="PEM",
                   help="the CA certificate(s) that signed the cluster's certificates")
    g.add_argument("--tls-cert", metavar="PEM", help="this client's certificate")
    g.add_argument("--tls-key", metavar="PEM",
                   help="this client's private key (omit if --tls-cert holds it)")
    add_convert_options(p)
    add_engine_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mocap.app.batch import BatchConfig, run_batch
    from mocap.commands.options import convert_config, engine_options
    from mocap.export.character import load_target

    cfg = convert_config(args)  # validates rig name, formats, fov before any work
    load_target(cfg.rig, cfg.blender, cfg.bone_map)  # and the rig, character or bone map
    # --threads is per job here (BatchConfig.threads), not the models' own setting
    engine = replace(engine_options(args), threads=None)
    batch_cfg = BatchConfig(jobs=args.jobs, resume=args.resume, force=args.force,
                            scheduler=args.scheduler, threads=args.threads,
                            tls_ca_file=args.tls_ca_file, tls_cert=args.tls_cert,
                            tls_key=args.tls_key)
    def on_event(event: str, name: str, rec) -> None:
        # a video's warnings are printed once, when it is done (or skipped as done before),
        # even with --quiet; so are failures and inputs left out
        if not args.quiet or event in ("failed", "exclude"):
            print(_event_line(event, name, rec), file=sys.stderr)
        if event in ("done", "skip"):
            print_warnings(rec.warnings, where=name)

    manifest = run_batch(args.inputs, args.output, cfg, engine, batch_cfg, on_event)
    jobs = manifest.jobs
    width = max(len(n) for n in jobs)
    print(f"{'video':<{width}}  status   people  frames  seconds  warnings  error")
    for name, rec in jobs.items():
        warned = len(rec.warnings) if rec.status == "done" else None
        print(f"{name:<{width}}  {rec.status:<7}  {_fmt(rec.people):>6}  {_fmt(rec.frames):>6}"
              f"  {_fmt(rec.seconds):>7}  {_fmt(warned):>8}  {rec.error or ''}")
    renamed = {name: rec for name, rec in jobs.items() if rec.renamed}
    for name, rec in renamed.items():
        print(f"renamed {Path(rec.input).name!r} -> {name}: {rec.renamed}")
    failed = sum(r.status != "done" for r in jobs.values())
    warnings = sum(len(r.warnings) for r in jobs.values())
    warned = sum(bool(r.warnings) for r in jobs.values())
    in_videos = f" in {count(warned, 'video')}" if warnings else ""
    extra = f", {len(renamed)} renamed" if renamed else ""
    if manifest.excluded:
        extra += f", {count(len(manifest.excluded), 'input')} left out (outputs of mocap)"
    print(f"{len(jobs) - failed} done, {failed} failed{extra}, "
          f"{count(warnings, 'warning')}{in_videos}; manifest {manifest.path}")
    strict = strict_status(warnings, args.strict, in_videos)
    return 1 if failed or strict else 0


def _event_line(event: str, name: str, rec) -> str:
    """One progress line of the batch (stderr)."""
    if event == "exclude":
        return f"exclude {name}: {rec.reason}; not converted"
    if event == "skip":
        return f"skip    {name}: already complete{_warned(rec)}"
    if event == "redo":
        return f"redo    {name}: {rec.redo}; converting it again"
    if event == "start":
        return f"start   {name}"
    if event == "progress":
        p = rec.progress
        done = (f"{p.done}/{p.total} {p.unit} ({100 * p.done / p.total:.0f} %)"
                if p.total > 0 else f"{p.done} {p.unit}")
        return f"running {name}: {p.stage} {done}"
    if event == "done":
        return (f"done    {name}: {count(rec.people, 'person', 'people')}, "
                f"{count(rec.frames, 'frame')}, {rec.seconds:.1f} s{_warned(rec)}")
    return f"{event:<7} {name}: {rec.error}"


def _warned(rec) -> str:
    return f", {count(len(rec.warnings), 'warning')}" if rec.warnings else ""


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if isinstance(value, float) else str(value)
