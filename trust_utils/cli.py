"""``rlhf-trust``: run profiles, list stages and profiles, show a stage's parameters, clean the caches."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import MISSING
from pathlib import Path

from . import __version__
from .clean import clean, human
from .exercises.grade import grade
from .kernel_modes import KERNEL_MODES
from .params import OVERRIDES, config_fields, load_config_class
from .paths import default_cache_dir, notebooks_dir
from .pipeline import PipelineError, StageFailed, notebook_parameters, run, status
from .profiles import Profile, ProfileError, list_profiles, load_profile
from .site import build_site
from .stages import STAGES, get_stage


def _cmd_run(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile, run_dir=args.run_dir, kernels=args.kernels)
    only = [s.strip() for s in args.stages.split(",") if s.strip()] if args.stages else None
    run(profile, only=only, force=args.force, dry_run=args.dry_run, log_output=args.verbose,
        progress=not args.no_progress)
    return 0


def _cmd_stages(args: argparse.Namespace) -> int:
    print(f"{'stage':<13} {'notebook':<27} {'needs':<24} produces")
    for s in STAGES:
        present = "" if (notebooks_dir() / s.notebook).is_file() else "  [notebook missing]"
        print(f"{s.name:<13} {s.notebook:<27} {','.join(s.needs) or '-':<24} {s.produces}{present}")
    return 0


def _cmd_profiles(args: argparse.Namespace) -> int:
    for name in list_profiles():
        p = load_profile(name)
        print(f"{name:<20} {p.description}")
    return 0


def _cmd_params(args: argparse.Namespace) -> int:

    stage = get_stage(args.stage)
    cell = notebook_parameters(notebooks_dir() / stage.notebook)
    if not stage.config:
        print(f"Parameters of stage '{stage.name}' ({stage.notebook}):")
        for name, spec in cell.items():
            help_ = f"  # {spec['help']}" if spec.get("help") else ""
            print(f"  {name}: {spec.get('inferred_type_name', '')} = {spec.get('default')}{help_}")
        return 0
    cls = load_config_class(stage.config)
    fields = config_fields(cls)
    print(f"Parameters of stage '{stage.name}' ({stage.config}; * = in the parameters cell of {stage.notebook}, "
          f"the others go in its '{OVERRIDES}' dict or the profile):")
    for name, f in fields.items():
        mark = "*" if name in cell else " "
        default = "(required)" if f["default"] is MISSING else repr(f["default"])
        choices = f"  [{', '.join(map(str, f['choices']))}]" if f.get("choices") else ""
        help_ = f"  # {f['help']}" if f["help"] else ""
        print(f" {mark} {name}: {f['type']} = {default}{choices}{help_}")
    extra = [n for n in cell if n not in fields and n != OVERRIDES]
    for name in extra:
        spec = cell[name]
        print(f" * {name}: {spec.get('inferred_type_name', '')} = {spec.get('default')}  # {spec.get('help', '')}"
              + ("" if "notebook only" in (spec.get("help") or "") else " (notebook only, not a config field)"))
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile, run_dir=args.run_dir, kernels=args.kernels)
    print(f"run directory {profile.run_dir}")
    for row in status(profile):
        why = f"  ({row['why']})" if row.get("why") else ""
        print(f"  {row['stage']:<13} {row['status']:<12} {row['finished']} {row['seconds']}{why}")
    return 0


def _cmd_site(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile, run_dir=args.run_dir)
    try:
        index = build_site(profile.run_dir, args.out or profile.run_dir / "site")
    except FileNotFoundError as exc:
        raise PipelineError(str(exc)) from exc
    print(f"site written: {index}")
    return 0


def _profile_caches(profile: Profile) -> tuple[list[Path], list[Path]]:
    """A profile's result caches (``<run_dir>/cache/generations`` and any stage's ``gen_cache_dir``) and model
    caches (its ``cache_dir`` values and the project's cache); a relative path is taken from the stage's directory,
    the notebook's working directory."""
    results, models = [profile.run_dir / "cache" / "generations"], [default_cache_dir()]
    for stage, own in profile.stages.items():
        for key, found in (("gen_cache_dir", results), ("cache_dir", models)):
            value = own.get(key) or (profile.shared.get(key) if key == "cache_dir" else None)
            if value:
                found.append((profile.run_dir / stage / Path(str(value)).expanduser()).resolve())
    return results, models


def _cmd_clean(args: argparse.Namespace) -> int:
    if args.cache_dir:
        dirs = [Path(d).expanduser().resolve() for d in args.cache_dir]
        missing = [str(d) for d in dirs if not d.is_dir()]
        if missing:
            raise PipelineError(f"--cache-dir {', '.join(missing)}: no such directory")
        results, models = dirs, dirs
    else:
        results, models = _profile_caches(load_profile(args.profile, run_dir=args.run_dir))
    if args.older_than is not None and args.older_than < 0:
        raise PipelineError(f"--older-than must be a number of days >= 0, not {args.older_than}")
    freed = clean(results, models, args.older_than, args.dry_run)
    for f in freed:
        print(f.line(args.dry_run))
    total = sum(f.bytes for f in freed)
    print(f"{'would free' if args.dry_run else 'freed'} {human(total)} in all"
          + ("" if freed else f" (no cache found in {', '.join(map(str, dict.fromkeys(results + models)))})"))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    try:
        return grade(args.exercise, args.file)
    except (ValueError, FileNotFoundError) as exc:
        print(f"rlhf-trust: error: {exc}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="rlhf-trust", description=__doc__)
    ap.add_argument("--version", action="version", version=f"rlhf-trust {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a profile's stages in order (skips unchanged stages)")
    r.add_argument("--profile", default="default", help="profile name in configs/ or a YAML path (default: default)")
    r.add_argument("--stages", help="comma-separated subset of the profile's stages to run")
    r.add_argument("--force", action="store_true", help="rerun stages even when unchanged")
    r.add_argument("--dry-run", action="store_true", help="validate parameters and print the plan; run nothing")
    r.add_argument("--run-dir", help="override the profile's run directory")
    r.add_argument("--kernels", choices=sorted(KERNEL_MODES), help="override the profile's CPU kernel mode (native: "
                   "this CPU's fastest; portable: meant to give the same numbers on every AVX2 CPU, Intel or AMD, slower)")
    r.add_argument("--verbose", action="store_true", help="stream the notebooks' cell output")
    r.add_argument("--no-progress", action="store_true", help="hide papermill's per-cell progress bar")
    r.set_defaults(func=_cmd_run)
    s = sub.add_parser("stages", help="list the stages")
    s.set_defaults(func=_cmd_stages)
    p = sub.add_parser("profiles", help="list the profiles in configs/")
    p.set_defaults(func=_cmd_profiles)
    h = sub.add_parser("params", help="list a stage's parameters (its config fields: type, default, help)")
    h.add_argument("stage")
    h.set_defaults(func=_cmd_params)
    st = sub.add_parser("status", help="each stage of a profile: done / stale (and why) / missing")
    st.add_argument("--profile", default="default")
    st.add_argument("--run-dir")
    st.add_argument("--kernels", choices=sorted(KERNEL_MODES), help="the kernel mode the run used, if not the profile's")
    st.set_defaults(func=_cmd_status)
    w = sub.add_parser("site", help="render a run's executed notebooks and a records browser as a static site")
    w.add_argument("--profile", default="default", help="profile name in configs/ or a YAML path (default: default)")
    w.add_argument("--run-dir", help="override the profile's run directory")
    w.add_argument("--out", help="the site's directory (default: <run_dir>/site)")
    w.set_defaults(func=_cmd_site)
    c = sub.add_parser("clean", help="drop cache entries and models no current code uses; print what it freed")
    where = c.add_mutually_exclusive_group()
    where.add_argument("--profile", default="default", help="clean the caches this profile uses (default: default)")
    where.add_argument("--cache-dir", action="append",
                       help="a cache directory (holding cache.sqlite, models/ or notebook-parameters/); repeatable")
    c.add_argument("--run-dir", help="override the profile's run directory")
    c.add_argument("--older-than", type=float, metavar="DAYS", help="also drop cache entries written before then")
    c.add_argument("--dry-run", action="store_true", help="only report what would be freed")
    c.set_defaults(func=_cmd_clean)
    k = sub.add_parser("check", help="grade course exercises from a file in seconds (no training, no notebook)")
    k.add_argument("exercise", help="an exercise (dpo_loss), a notebook (dpo, 13_dpo: all its exercises) or 'all'")
    k.add_argument("--file", help="a .py file defining the exercise's function; without it, print what to implement")
    k.set_defaults(func=_cmd_check)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("papermill").setLevel(logging.WARNING)
    try:
        return args.func(args)
    except StageFailed as exc:  # the command was right; a stage failed: exit 1 (2 is for usage errors)
        print(f"rlhf-trust: error: {exc}", file=sys.stderr)
        return 1
    except (PipelineError, ProfileError, KeyError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) else str(exc)
        print(f"rlhf-trust: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rlhf-trust: interrupted; completed stages are kept, rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
