"""`flask import-commitments FILE` and `flask import-mailbox PATH`, for staff at a terminal.

They run the same functions as the import pages: a spreadsheet gets a dry run unless
`--commit` is given, and rows that need a person to choose are listed, not guessed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import click

from campaign.extensions import db


def _actor(email: str | None):
    from campaign.accounts.operations import find_user_by_email
    from campaign.accounts.roles import is_staff

    if not email:
        return None
    user = find_user_by_email(email)
    if user is None or not is_staff(user):
        raise click.UsageError(f"--by {email}: no staff account has this email.")
    return user


@click.command("import-commitments")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--map",
    "overrides",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Use COLUMN for FIELD (e.g. --map email='E-mail address'); repeatable.",
)
@click.option("--commit", is_flag=True, help="Write the rows (without it: a dry run).")
@click.option("--by", "by_email", help="The staff member doing the import (for the audit trail).")
@click.option("--verbose", is_flag=True, help="List every row, not only the ones not imported.")
@click.option(
    "--undated",
    type=click.Choice(["skip", "estimate"]),
    help="Rows with no date: skip them, or record them with today's date marked estimated.",
)
def import_commitments_command(
    file: Path,
    overrides: tuple[str, ...],
    commit: bool,
    by_email: str | None,
    verbose: bool,
    undated: str | None,
) -> None:
    """Import a CSV or XLSX of past commitments (dry run unless --commit)."""
    from campaign.imports.models import ImportBatch, ImportKind, ImportStatus
    from campaign.imports.sheets import (
        Action,
        ImportRefused,
        apply_plan,
        check_mapping,
        plan_rows,
        remember_mapping,
        saved_mapping,
        store_sheet,
    )
    from campaign.imports.spreadsheet import (
        FIELD_NAMES,
        SpreadsheetError,
        guess_mapping,
        read_sheet,
    )

    actor = _actor(by_email)
    if commit and actor is None:
        raise click.UsageError("--commit needs --by STAFF_EMAIL, for the audit trail.")
    data = file.read_bytes()
    try:
        sheet = read_sheet(data, file.name)
    except SpreadsheetError as error:
        raise click.ClickException(str(error)) from error
    mapping = saved_mapping(sheet.headers) or guess_mapping(sheet.headers)
    for override in overrides:
        field, _, column = override.partition("=")
        if field not in FIELD_NAMES:
            raise click.UsageError(f"--map {override}: fields are {', '.join(FIELD_NAMES)}.")
        mapping[field] = column or None
    click.echo("Columns:")
    for field in FIELD_NAMES:
        click.echo(f"  {field:14} ← {mapping.get(field) or '(none)'}")
    problems = check_mapping(mapping, sheet.headers)
    if problems:
        raise click.ClickException(" ".join(problems) + " Use --map FIELD=COLUMN.")
    choices = {"undated": undated} if undated else {}
    plan = plan_rows(sheet, mapping, choices)
    for row in plan.rows:
        if verbose or row.action in (Action.FAIL, Action.CHOOSE):
            click.echo(f"  row {row.number}: {row.action.label}: {row.reason}")
    counts = plan.counts
    click.echo(
        "Dry run: " if not commit else "Plan: ",
        nl=False,
    )
    click.echo(", ".join(f"{n} {a.label.lower()}" for a, n in counts.items()))
    if not commit:
        click.echo("Nothing was written. Run again with --commit --by STAFF_EMAIL to import.")
        return
    batch = ImportBatch(
        kind=ImportKind.SPREADSHEET,
        status=ImportStatus.PENDING,
        filename=file.name[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        uploaded_by=actor,
        mapping_json=json.dumps(mapping),
        choices_json=json.dumps(choices),
    )
    store_sheet(batch, sheet)
    db.session.add(batch)
    remember_mapping(sheet.headers, mapping)
    db.session.flush()
    try:
        applied = apply_plan(batch, actor)
    except ImportRefused as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    done = applied.counts
    click.echo(
        f"Imported (batch {batch.id}): {done[Action.CREATE]} created, {done[Action.UPDATE]} "
        f"updated, {done[Action.SKIP]} already present, "
        f"{done[Action.CHOOSE] + done[Action.FAIL]} not imported."
    )


@click.command("import-mailbox")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--by", "by_email", help="The staff member doing the import (for the audit trail).")
def import_mailbox_command(path: Path, by_email: str | None) -> None:
    """Add the messages of an mbox file, .eml folder or .zip to the triage queue."""
    from campaign.imports.triage import import_mailbox

    batch, report = import_mailbox(path, _actor(by_email))
    db.session.commit()
    for source, reason in report.rejected:
        click.echo(f"  not read: {source}: {reason}")
    for source, problems in report.with_problems:
        click.echo(f"  imported with problems: {source}: {'; '.join(problems)}")
    click.echo(
        f"Mailbox (batch {batch.id}): {report.added} new messages to triage, "
        f"{report.already_imported} already imported, {len(report.rejected)} not readable."
    )
