"""Flask commands: each parses its options, calls one feature function and commits once."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask

from campaign.extensions import db
from campaign.imports.commands import import_commitments_command, import_mailbox_command
from campaign.layers.commands import import_layer_command


def register(app: Flask) -> None:
    app.cli.add_command(seed_command)
    app.cli.add_command(demo_data_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(send_reminders_command)
    app.cli.add_command(import_commitments_command)
    app.cli.add_command(import_mailbox_command)
    app.cli.add_command(import_layer_command)
    app.cli.add_command(rate_limits_command)
    app.cli.add_command(purge_sessions_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("seed")
@click.option("--skip-gazetteer", is_flag=True, help="Load only the policy catalog.")
def seed_command(skip_gazetteer: bool) -> None:
    """Load the policy catalog and the jurisdiction gazetteer (safe to run again)."""
    from campaign.catalog.operations import seed_catalog
    from campaign.places.gazetteer import load_gazetteer

    catalog = seed_catalog()
    click.echo(
        f"Catalog: {catalog['priorities']} priorities, {catalog['policies']} policies added."
    )
    if not skip_gazetteer:
        places = load_gazetteer()
        click.echo(
            f"Gazetteer: {places['added']} jurisdictions added, {places['updated']} updated."
        )
    db.session.commit()


@click.command("demo-data")
@click.option("--jurisdictions", default=200, show_default=True, help="Jurisdictions to involve.")
@click.option("--commitments", default=500, show_default=True, help="Commitments to create.")
@click.option("--seed", "random_seed", default=2026, show_default=True, help="Random seed.")
@click.option("--if-empty", is_flag=True, help="Do nothing if commitments already exist.")
def demo_data_command(
    jurisdictions: int, commitments: int, random_seed: int, if_empty: bool
) -> None:
    """Fill a realistic synthetic campaign for demos and benchmarks."""
    from campaign.demo import DemoError, generate_demo_campaign, has_commitments

    if if_empty and has_commitments():
        click.echo("Demo data: commitments already exist, nothing added.")
        return
    try:
        made = generate_demo_campaign(
            jurisdictions=jurisdictions, commitments=commitments, seed=random_seed
        )
    except DemoError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(
        f"Demo data: {made['officials']} officials in {made['jurisdictions']} jurisdictions, "
        f"{made['commitments']} commitments, {made['timeline_entries']} timeline entries."
    )


@click.command("create-user")
@click.argument("email")
@click.option("--name", required=True, help="The person's full name.")
@click.option(
    "--role",
    type=click.Choice(["official", "organizer", "staff", "admin"]),
    default="official",
    show_default=True,
)
@click.option("--office", "office_title", default=None, help="Office title, for officials.")
def create_user_command(email: str, name: str, role: str, office_title: str | None) -> None:
    """Create any user; the password comes from CAMPAIGN_PASSWORD or a prompt."""
    from campaign.accounts.operations import AccountError, create_user
    from campaign.accounts.roles import Role

    password = os.environ.get("CAMPAIGN_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    try:
        user = create_user(
            email=email, name=name, password=password, role=Role(role), office_title=office_title
        )
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.email}.")


@click.command("send-reminders")
@click.option(
    "--date",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Act as if today were this date (YYYY-MM-DD); default: today.",
)
def send_reminders_command(on) -> None:
    """Email officials with quiet commitments and staff their queue (meant for cron)."""
    from flask import current_app

    from campaign.followup.reminders import send_reminders
    from campaign.timeutil import today

    # Links in the emails point at PUBLIC_URL.
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
        run = send_reminders(on.date() if on else today(), save=db.session.commit)
    click.echo(
        f"Reminders: {len(run.officials)} officials, {len(run.staff)} staff digests sent; "
        f"{run.skipped} skipped (already reminded recently); {len(run.failed)} failed."
    )
    if run.failed:
        raise SystemExit(1)


@click.command("purge-sessions")
def purge_sessions_command() -> None:
    """Delete expired sign-in sessions (meant for cron; they no longer work anyway)."""
    from campaign.accounts.sessions import purge_expired_sessions

    removed = purge_expired_sessions()
    db.session.commit()
    click.echo(f"Sessions: {removed} expired session{'' if removed == 1 else 's'} deleted.")


@click.command("rate-limits")
def rate_limits_command() -> None:
    """Say where rate-limit counts live and the limits in force."""
    from flask import current_app

    from campaign.accounts.throttles import THROTTLES
    from campaign.web.throttle import storage_status

    status = storage_status(current_app)
    if not status["enabled"]:
        click.echo("Rate limits: off (RATELIMIT_ENABLED=0).")
        return
    if status["storage"] == "memory":
        click.echo(
            "Rate limits: WARNING: counted in each process's memory, not shared between "
            "workers. Set RATELIMIT_STORAGE_URI=redis://host:6379/0 to share them."
        )
    elif status["reachable"]:
        click.echo(f"Rate limits: shared in {status['storage']} (reachable).")
    else:
        click.echo(
            f"Rate limits: WARNING: {status['storage']} is unreachable; each process counts "
            "in its own memory until it answers."
        )
    for setting in dict.fromkeys(t.setting for t in THROTTLES):
        click.echo(f"  {setting} = {current_app.config[setting] or 'off'}")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def backup_command(path: Path) -> None:
    """Write a consistent snapshot of the database to PATH while the app keeps serving."""
    from campaign.database.backup import BackupError, backup_database, describe

    try:
        backup_database(db.engine, path)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"Backup of {describe(db.engine.url)} written to {path} ({path.stat().st_size:,} bytes)."
    )


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Confirm that the database's data is to be replaced.")
def restore_command(path: Path, yes: bool) -> None:
    """Replace all data in the database with the snapshot in PATH (made by `backup`)."""
    from campaign.database.backup import BackupError, describe, restore_database

    target = describe(db.engine.url)
    if not yes:
        raise click.ClickException(
            f"restore replaces every record in {target} with the backup's, and cannot be "
            "undone. Take a backup of the current data first if you may want it, then run "
            "again with --yes."
        )
    db.session.remove()  # this command's own transaction must not hold what restore replaces
    try:
        schema = restore_database(db.engine, path)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Restored {path} into {target} (schema revision {schema}).")
