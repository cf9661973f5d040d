"""`flask import-layer FILE`: a published list as a layer snapshot, from cron or a terminal.

It runs the same functions as /staff/layers/: a dry run unless `--commit`, which prints the
column mapping, the counts and every row that cannot be placed with its reason. Rows that
need a person to choose are listed, never guessed; with `--commit` they are stored unplaced,
and staff can place them from the browser later.
"""

from __future__ import annotations

from pathlib import Path

import click

from campaign.extensions import db


@click.command("import-layer")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--layer", "layer_name", required=True, help="The layer's name (made on first use).")
@click.option("--policy", "policy_slug", required=True, help="The slug of the policy it concerns.")
@click.option(
    "--as-of",
    "as_of",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The date the list was published (YYYY-MM-DD).",
)
@click.option(
    "--status",
    type=click.Choice(["participating", "pending"]),
    default="participating",
    show_default=True,
    help="Which list this is.",
)
@click.option("--commit", is_flag=True, help="Write the snapshot (without it: a dry run).")
@click.option("--by", "by_email", help="The staff member doing the import (for the audit trail).")
def import_layer_command(
    file: Path,
    layer_name: str,
    policy_slug: str,
    as_of,
    status: str,
    commit: bool,
    by_email: str | None,
) -> None:
    """Import a published list (CSV or XLSX) as a dated snapshot of a layer."""
    from sqlalchemy import select

    from campaign.catalog.models import Policy
    from campaign.imports.commands import _actor
    from campaign.imports.spreadsheet import SpreadsheetError, read_sheet
    from campaign.layers.models import LayerStatus
    from campaign.layers.snapshots import (
        FIELDS,
        LayerImportRefused,
        apply_snapshot,
        check_layer_mapping,
        get_or_create_layer,
        guess_layer_mapping,
        plan_snapshot,
        remember_layer_mapping,
        saved_layer_mapping,
    )

    if commit and not by_email:
        raise click.UsageError("--commit needs --by STAFF_EMAIL (for the audit trail).")
    actor = _actor(by_email)
    policy = db.session.scalar(select(Policy).where(Policy.slug == policy_slug))
    if policy is None:
        raise click.UsageError(f"--policy {policy_slug}: no policy has this slug.")
    try:
        sheet = read_sheet(file.read_bytes(), file.name)
    except SpreadsheetError as error:
        raise click.ClickException(str(error)) from error
    mapping = saved_layer_mapping(sheet.headers) or guess_layer_mapping(sheet.headers)
    click.echo("Columns:")
    for f in FIELDS:
        click.echo(f"  {f.name:<14} ← {mapping.get(f.name) or '(not in this file)'}")
    problems = check_layer_mapping(mapping, sheet.headers)
    if problems:
        raise click.ClickException(" ".join(problems))
    list_status = LayerStatus(status)
    on = as_of.date()
    try:
        layer = get_or_create_layer(layer_name, policy)
        if commit:
            remember_layer_mapping(sheet.headers, mapping)
            applied = apply_snapshot(
                layer, list_status, on, sheet, mapping, None, actor, filename=file.name
            )
            plan = applied.plan
        else:
            plan = plan_snapshot(layer, list_status, on, sheet, mapping)
    except LayerImportRefused as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    _print_plan(plan, layer.name, list_status.label.lower(), on)
    if commit:
        db.session.commit()
        if applied.changed_nothing:
            click.echo("Imported: nothing changed (this list was already imported).")
        else:
            click.echo(
                f"Imported: {applied.created} new agreements, {applied.ended} no longer "
                f"listed, {applied.relisted} listed again, {applied.replaced} placed anew."
            )
    else:
        db.session.rollback()
        click.echo("Dry run: nothing was written. Add --commit --by STAFF_EMAIL to import.")


def _print_plan(plan, layer_name: str, status: str, on) -> None:
    from campaign.layers.placement import Placement
    from campaign.layers.snapshots import Change

    counts = plan.placement_counts
    changes = plan.change_counts
    click.echo(f"{layer_name}, {status} list as of {on.isoformat()}: {len(plan.rows)} rows.")
    click.echo(
        f"  {counts[Placement.PLACED]} placed, {counts[Placement.CHOOSE]} need a choice, "
        f"{counts[Placement.UNPLACED]} cannot be placed; placed share "
        f"{plan.placed_share:.1%}."
    )
    click.echo(
        f"  {changes[Change.NEW]} new, {changes[Change.LISTED]} still listed, "
        f"{changes[Change.RELISTED]} listed again, {changes[Change.PRESENT]} already imported, "
        f"{len(plan.ended)} no longer listed, {changes[Change.DUPLICATE]} duplicate rows, "
        f"{changes[Change.FAIL]} cannot be imported."
    )
    for row in plan.failed:
        click.echo(f"  row {row.number}: Cannot be imported: {row.reason}")
    for row in plan.of(Placement.CHOOSE):
        options = "; ".join(m.jurisdiction.label for m in row.candidates[:3]) or "none"
        click.echo(
            f"  row {row.number}: Needs a choice: {row.agency} ({row.state}): {row.reason} "
            f"Candidates: {options}."
        )
    for row in plan.of(Placement.UNPLACED):
        click.echo(
            f"  row {row.number}: Cannot be placed: {row.agency} ({row.state}): {row.reason}"
        )
    for agreement in plan.ended:
        click.echo(
            f"  No longer listed: {agreement.agency} ({agreement.state}), "
            f"{agreement.support_type or 'no support type'}"
        )
