"""Command line: ``explorer validate | effects | pool | timecourse | cite | dictionary | template | add | diff``.

A thin layer over the data and analysis layers. Exit codes: 0 success, 1 invalid data or a
failed command, 2 usage error. Problems are printed one per line as ``FILE:ROW:COLUMN: message``;
no traceback ever reaches the user.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors: message and exit 2, as argparse does
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _cmd_validate(args: argparse.Namespace) -> int:
    from explorer.data.validate import collect
    from explorer.paths import data_dir

    path = data_dir(args.data_dir or args.data)
    problems, rows, version = collect(path)
    if args.format == "json":
        report = {
            "valid": not problems,
            "data_dir": str(path),
            "version": version,
            "rows": {name: len(table) for name, table in rows.items()},
            "problems": [p.to_dict() for p in problems],
        }
        json.dump(report, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return EXIT_INVALID if problems else EXIT_OK
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) found in {path}", file=sys.stderr)
        return EXIT_INVALID
    counts = ", ".join(f"{len(v)} {k}" for k, v in rows.items())
    print(f"{path}: valid ({counts})", file=sys.stderr)
    return EXIT_OK


def _load(args: argparse.Namespace):
    from explorer.data import DataError, load

    try:
        return load(args.data)
    except DataError as exc:
        for p in exc.problems:
            print(p)
        print(f"{len(exc.problems)} problem(s): run 'explorer validate' for details", file=sys.stderr)
        return None


def _write(df, fmt: str) -> None:
    if fmt == "csv":
        df.to_csv(sys.stdout, index=False, float_format="%.10g")
    elif fmt == "json":
        sys.stdout.write(df.to_json(orient="records", double_precision=15))
        sys.stdout.write("\n")
    else:
        with_pd_options = df.to_string(index=False, float_format=lambda x: f"{x:.4g}")
        print(with_pd_options)


def _cmd_effects(args: argparse.Namespace) -> int:
    from explorer.analysis.effects import effects

    ev = _load(args)
    if ev is None:
        return EXIT_INVALID
    try:
        eff = effects(ev, outcome=args.outcome, measure=args.measure, comparators=args.comparators)
    except ValueError as exc:
        print(f"explorer effects: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _write(eff, args.format)
    return EXIT_OK


def _cmd_pool(args: argparse.Namespace) -> int:
    from explorer.analysis.effects import effects, explain, pool

    ev = _load(args)
    if ev is None:
        return EXIT_INVALID
    by = [c.strip() for c in args.by.split(",") if c.strip()]
    rules = dict(
        include_approximate=args.include_approximate,
        inferred_scales=args.inferred_scales,
        imputed_sd=not args.no_imputed_sd,
        derived_events=not args.no_derived_events,
    )
    try:
        eff = effects(ev, outcome=args.outcome, measure=args.measure, comparators=args.comparators)
        if args.explain:
            result = explain(eff, by=by, **rules)
        else:
            result = pool(eff, by=by, method=args.method, test="knha" if args.knha else args.test, **rules)
    except ValueError as exc:
        print(f"explorer pool: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _write(result, args.format)
    return EXIT_OK


def _markdown(df) -> str:
    """A GitHub-flavoured Markdown table (numbers to 4 significant digits; NaN left empty)."""

    def cell(x) -> str:
        if isinstance(x, float):
            return "" if x != x else f"{x:.4g}"
        return str(x).replace("|", "\\|")

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(x) for x in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body]) + "\n"


def _cmd_timecourse(args: argparse.Namespace) -> int:
    from explorer.analysis.effects import effects
    from explorer.analysis.timecourse import timecourse

    try:
        by = [c.strip() for c in args.by.split(",") if c.strip()]
        at = None if args.at is None else [float(w) for w in args.at.split(",") if w.strip()]
    except ValueError as exc:
        print(f"explorer timecourse: --at takes weeks separated by commas ({exc})", file=sys.stderr)
        return EXIT_USAGE
    ev = _load(args)
    if ev is None:
        return EXIT_INVALID
    eff = effects(ev, outcome=args.outcome, measure=args.measure)
    try:
        res = timecourse(eff, by=by, at=at, rho=args.rho)
    except ValueError as exc:
        print(f"explorer timecourse: {exc}", file=sys.stderr)
        return EXIT_USAGE
    tables = {
        "curve": res.curve,
        "coefficients": res.coefficients,
        "variance": res.variance,
        "skipped": res.skipped,
    }
    if args.format == "markdown":
        for name, df in tables.items():
            sys.stdout.write(f"## {name}\n\n")
            sys.stdout.write(_markdown(df) if len(df) else "(none)\n")
            sys.stdout.write("\n")
    else:
        _write(tables[args.table], args.format)
        for row in res.skipped.itertuples(index=False):
            label = ", ".join(str(getattr(row, c)) for c in res.by)
            print(f"no curve for {label}: {row.reason}", file=sys.stderr)
    return EXIT_OK


def _cmd_dictionary(args: argparse.Namespace) -> int:
    from explorer.analysis.comparability import rules_markdown
    from explorer.data.dictionary import render

    text = render() + "\n" + rules_markdown()
    if args.output:
        from explorer.data.atomic import write_text_atomic

        write_text_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _cmd_cite(args: argparse.Namespace) -> int:
    from explorer.data.cite import bibtex, ris

    ev = _load(args)
    if ev is None:
        return EXIT_INVALID
    studies = ev.studies
    for column, values in (
        ("study_id", args.study),
        ("design", args.design),
        ("indication", args.indication),
    ):
        if values:
            wanted = {v.strip() for v in values.split(",") if v.strip()}
            studies = studies[studies[column].isin(wanted)]
    if args.therapy:
        wanted = {v.strip() for v in args.therapy.split(",")}
        ids = set(ev.arms.loc[ev.arms["therapy"].isin(wanted), "study_id"])
        studies = studies[studies["study_id"].isin(ids)]
    sys.stdout.write(bibtex(studies) if args.format == "bibtex" else ris(studies))
    return EXIT_OK


def _cmd_coverage(args: argparse.Namespace) -> int:
    from explorer.analysis.coverage import report, to_markdown
    from explorer.data.export import safe_csv

    ev = _load(args)
    if ev is None:
        return EXIT_INVALID
    if args.sources:
        from pathlib import Path

        from explorer.analysis.coverage import replace_sources_block, sources_block
        from explorer.data.atomic import write_text_atomic

        path = Path(args.sources)
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        write_text_atomic(path, replace_sources_block(text, sources_block(ev)))
        return EXIT_OK
    tables = report(ev)
    if args.format == "markdown":
        sys.stdout.write(to_markdown(tables, ev.version))
    else:
        for name, df in tables.items():
            sys.stdout.write(f"# {name}\n")
            sys.stdout.write(safe_csv(df))
    return EXIT_OK


def _cmd_reviews(args: argparse.Namespace) -> int:
    """The harmonised published pooled estimates (explorer.reviews), or their overlap."""
    from explorer.analysis.reviews import overlap, reviews

    ev = _load(args)
    if ev is None:
        return EXIT_INVALID
    if args.overlap:
        _write(overlap(ev), args.format)
        return EXIT_OK
    df = reviews(
        ev, therapy=args.therapy, comparison_class=args.comparison, outcome=args.outcome,
        window=args.window, design_basis=args.design,
    )  # fmt: skip
    df = df.assign(windows=df["windows"].map(lambda w: ";".join(w)))
    if args.format == "table":
        df = df[["review", "therapy", "comparison_class", "domain", "timing", "text"]]
    _write(df, args.format)
    return EXIT_OK


def _cmd_template(args: argparse.Namespace) -> int:
    from explorer.data.entry import template

    sys.stdout.write(template())
    return EXIT_OK


def _cmd_add(args: argparse.Namespace) -> int:
    from explorer.data.entry import EntryError, add_entry, check_entry, read_entry
    from explorer.data.store import LockTimeout
    from explorer.paths import data_dir

    path = data_dir(args.data)
    if not path.is_dir():
        print(f"{path}: data directory not found", file=sys.stderr)
        return EXIT_INVALID
    if args.interactive == bool(args.entry):
        print("explorer add: give an ENTRY file or --interactive (not both)", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.interactive:
            from explorer.interactive import Cancelled, interview

            try:
                entry = interview()
            except Cancelled:
                print("\ncancelled: nothing was written", file=sys.stderr)
                return EXIT_INVALID
        else:
            entry = read_entry(args.entry)
        result = check_entry(entry, path) if args.dry_run else add_entry(entry, path)
    except EntryError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    except LockTimeout as exc:
        print(f"explorer add: {exc}; nothing was written", file=sys.stderr)
        return EXIT_INVALID
    if not result.ok:
        for line in result.problems:
            print(line)
        print(f"{len(result.problems)} problem(s): nothing was written", file=sys.stderr)
        return EXIT_INVALID
    counts = ", ".join(f"{len(v)} {k}" for k, v in result.rows.items() if v)
    verb = "would add" if args.dry_run else "added"
    print(f"{verb} {entry['study'].get('study_id')}: {counts}", file=sys.stderr)
    return EXIT_OK


def _cmd_diff(args: argparse.Namespace) -> int:
    from explorer.diff import DiffError, compare, render
    from explorer.paths import data_dir

    try:
        d = compare(data_dir(args.data), args.rev)
    except DiffError as exc:
        print(f"explorer diff: {exc}", file=sys.stderr)
        return EXIT_INVALID
    sys.stdout.write(render(d, markdown=args.format == "markdown"))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from explorer.analysis.effects import ALL_OUTCOMES

    parser = _Parser(prog="explorer", description="Evidence explorer for injection therapies for back pain.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("serve", help="serve the dashboard with Voila (see 'explorer serve --help')")

    v = sub.add_parser("validate", help="check a data directory against the schema")
    v.add_argument("data_dir", nargs="?", help="data directory (default: $EXPLORER_DATA or the bundled data)")
    v.add_argument("--data", help=argparse.SUPPRESS)
    v.add_argument(
        "--format",
        default="text",
        choices=["text", "json"],
        help="text: one FILE:ROW:COLUMN: problem per line; json: a report with each problem's code",
    )
    v.set_defaults(func=_cmd_validate)

    d = sub.add_parser("dictionary", help="print the data dictionary generated from the schema (Markdown)")
    d.add_argument("--output", help="write to this file instead of standard output (atomically)")
    d.set_defaults(func=_cmd_dictionary)

    c = sub.add_parser("cite", help="citations of all (or the filtered) studies as BibTeX or RIS")
    c.add_argument("--data", help="data directory (default: $EXPLORER_DATA or the bundled data)")
    c.add_argument("--format", default="bibtex", choices=["bibtex", "ris"])
    c.add_argument("--study", help="study ids, comma separated")
    c.add_argument("--therapy", help="therapy codes, comma separated (studies with an arm of that therapy)")
    c.add_argument("--design", help="designs, comma separated")
    c.add_argument("--indication", help="indications, comma separated")
    c.set_defaults(func=_cmd_cite)

    cv = sub.add_parser("coverage", help="counts per therapy family, design, outcome domain and window")
    cv.add_argument("--data", help="data directory (default: $EXPLORER_DATA or the bundled data)")
    cv.add_argument("--format", choices=["markdown", "csv"], default="markdown")
    cv.add_argument("--sources", help="update the generated counts and search flow in this file (docs/sources.md)")
    cv.set_defaults(func=_cmd_coverage)

    rv = sub.add_parser("reviews", help="published pooled estimates, harmonised (sign, scale, window)")
    rv.add_argument("--data", help="data directory (default: $EXPLORER_DATA or the bundled data)")
    rv.add_argument("--therapy", help="therapy code (e.g. epidural_steroid)")
    rv.add_argument("--comparison", help="comparison class (e.g. placebo_sham, approach)")
    rv.add_argument("--outcome", help="outcome (pain, leg_pain, back_pain, function, responders, surgery)")
    rv.add_argument("--window", choices=["immediate", "short", "intermediate", "long"], help="follow-up window")
    rv.add_argument("--design", choices=["comparative", "single_arm"], help="comparative or single-arm poolings")
    rv.add_argument("--overlap", action="store_true", help="per comparison: the reviews' shared trials (CCA)")
    rv.add_argument("--format", default="table", choices=["csv", "json", "table"], help="output format")
    rv.set_defaults(func=_cmd_reviews)

    t = sub.add_parser("template", help="print a YAML template of one publication to add")
    t.set_defaults(func=_cmd_template)

    a = sub.add_parser("add", help="validate and add one publication (YAML entry or --interactive)")
    a.add_argument("entry", nargs="?", help="entry file (YAML), as printed by 'explorer template'")
    a.add_argument("--interactive", action="store_true", help="ask field by field instead of reading a file")
    a.add_argument("--dry-run", action="store_true", help="check only; write nothing")
    a.add_argument("--data", help="data directory (default: $EXPLORER_DATA or the bundled data)")
    a.set_defaults(func=_cmd_add)

    df = sub.add_parser("diff", help="what changed in the data since a git revision, and how the pools moved")
    df.add_argument("rev", nargs="?", default="HEAD", help="git revision to compare with (default: HEAD)")
    df.add_argument("--data", help="data directory (default: $EXPLORER_DATA or the bundled data)")
    df.add_argument("--format", default="text", choices=["text", "markdown"])
    df.set_defaults(func=_cmd_diff)

    base = _Parser(add_help=False)
    base.add_argument("--data", help="data directory (default: $EXPLORER_DATA or the bundled data)")
    base.add_argument(
        "--outcome", default="pain", choices=list(ALL_OUTCOMES), help="outcome group (default: pain)"
    )
    base.add_argument(
        "--comparators",
        default="cochrane",
        choices=["cochrane", "strict"],
        help="comparator classes: cochrane (local anaesthetic alone is placebo/sham) or strict (inert only)",
    )
    base.add_argument(
        "--measure",
        default="MD",
        choices=["MD", "SMD", "RR", "OR", "RD"],
        help="effect measure (default: MD on the common scale; RR, OR, RD for binary outcomes)",
    )
    common = _Parser(add_help=False, parents=[base])
    common.add_argument("--format", default="csv", choices=["csv", "json", "table"], help="output format")

    e = sub.add_parser("effects", parents=[common], help="print effect sizes (yi, vi) per study contrast")
    e.set_defaults(func=_cmd_effects)

    p = sub.add_parser("pool", parents=[common], help="random-effects pooling per group")
    p.add_argument("--by", default="therapy,window", help="grouping columns, comma separated")
    p.add_argument("--method", default="REML", choices=["REML", "DL", "PM", "FE"], help="tau² estimator")
    p.add_argument(
        "--test",
        default="adhoc",
        choices=["adhoc", "knha", "z"],
        help="intervals: HKSJ with the ad hoc correction (default), plain HKSJ, or normal",
    )
    p.add_argument("--knha", action="store_true", help="same as --test knha (older spelling)")
    p.add_argument("--inferred-scales", action="store_true", help="pool rows whose scale range was inferred")
    p.add_argument("--no-imputed-sd", action="store_true", help="leave out rows whose SD was imputed")
    p.add_argument(
        "--no-derived-events", action="store_true", help="leave out counts derived from printed percentages"
    )
    p.add_argument("--include-approximate", action="store_true", help="let medians stand in for means")
    p.add_argument(
        "--explain", action="store_true", help="print every effect with whether it pooled and why not"
    )
    p.set_defaults(func=_cmd_pool)

    tc = sub.add_parser(
        "timecourse", parents=[base], help="the effect as a curve over follow-up time (multilevel meta-regression)"
    )
    tc.add_argument("--by", default="therapy,comparator_kind", help="grouping columns, comma separated")
    tc.add_argument(
        "--at", help="weeks to report, comma separated (default: 1,2,4,...,104 and each group's first and last)"
    )
    tc.add_argument("--rho", type=float, default=0.5, help="working correlation of a study's time points")
    tc.add_argument("--format", default="csv", choices=["csv", "markdown", "json", "table"], help="output format")
    tc.add_argument(
        "--table",
        default="curve",
        choices=["curve", "coefficients", "variance", "skipped"],
        help="which table to print as csv/json/table (markdown prints all four)",
    )
    tc.set_defaults(func=_cmd_timecourse)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:  # options belong to the server; see explorer/serving/run.py
        from explorer.serving.run import main as serve

        return serve(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # never show a traceback to a user
        print(f"explorer {args.command}: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
