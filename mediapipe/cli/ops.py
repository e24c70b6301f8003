"""``mediapipe doctor | worker | config show | config sample``: running mediapipe itself.

Owns: these commands' options and output. ``doctor`` prints the report ``cli.doctor`` gathers (when
a check fails: ``ok`` false and the failed checks' shared exit code, else ``MediaError``'s);
``worker`` checks its options with click types (known queues, a positive concurrency, a port) and
hands them, with the config (``--broker`` in place of ``brokerUrl`` when given), to
``workers.start.run_worker``; ``config`` prints the effective settings (the broker's password
masked: the config's one rule, ``config.shown``, which ``doctor`` uses too) or a commented sample.
Does not own: how a worker starts (its environment, metrics, default concurrency, NVENC sessions:
``workers.start``) or the settings' names and defaults (``config``).
"""

from __future__ import annotations

import click

from mediapipe.cli.context import (
    COUNT,
    AppContext,
    BrokerUrl,
    QueueList,
    emit_json,
    json_option,
    media_root_option,
    pass_app,
)
from mediapipe.cli.metrics import metrics_options
from mediapipe.pipeline.steps import PIPELINE

__all__ = ["config_group", "doctor", "worker"]


@click.command()
@media_root_option
@click.option("--broker", default=None, help="Broker URL to check (default: the config's).")
@json_option
@pass_app
def doctor(app: AppContext, media_root: str | None, broker: str | None, as_json: bool) -> None:
    """Report tools, versions, which encoders really work, the broker and the media root;
    fail (ok: false, non-zero exit, each failure on stderr) when any check fails."""
    from mediapipe.cli import doctor as checks
    from mediapipe.cli.context import fail
    from mediapipe.errors import MediaError, combined_exit_code

    report = checks.report(broker or app.config.broker_url, media_root or app.config.media_root,
                           app.config.image.engine)
    if as_json:
        emit_json(report.to_dict())
    else:
        for line in checks.render(report):
            click.echo(line)
    if not report.ok:
        codes = [fail(f.message, f.exit_code) for f in report.failures]
        raise click.exceptions.Exit(combined_exit_code(codes) or MediaError.exit_code)


@click.command()
@click.option("--broker", type=BrokerUrl(), default=None,
              help="Broker URL (default: MEDIAPIPE_BROKER_URL).")
@click.option("-Q", "--queues", type=QueueList(), default=",".join(PIPELINE.queues),
              show_default=True,
              help="Comma-separated queues to serve; a GPU machine serves 'video'.")
@click.option("-c", "--concurrency", type=COUNT, default=None,
              help="Worker processes, 1 or more (default: CPU count; for video alone, the NVENC "
                   "sessions when NVENC works, else 1).")
@metrics_options
@click.option("-n", "--hostname", default=None, help="Worker name (default: mediapipe@host).")
@click.option("--broker-wait", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="Exit 14 if the broker has not answered within SECONDS (default: wait for "
                   "it for ever, saying so once a minute).")
@pass_app
def worker(app: AppContext, broker: str | None, queues: tuple[str, ...],
           concurrency: int | None, metrics_port: int | None, metrics_address: str,
           hostname: str | None, broker_wait: float | None) -> None:
    """Run a Celery worker that serves tasks from the broker, once it answers (a worker started
    before its broker, or during an outage, waits for it).

    The worker's own --config and MEDIAPIPE_* variables set only its broker and the worker.*
    options; each task runs with the settings its coordinator sent."""
    cfg = app.config.replace(broker_url=broker) if broker else app.config
    if not cfg.broker_url:
        raise click.UsageError("no broker: pass --broker or set MEDIAPIPE_BROKER_URL")
    from mediapipe.workers.start import run_worker

    run_worker(cfg, queues=queues, concurrency=concurrency, metrics_port=metrics_port,
               metrics_address=metrics_address, hostname=hostname, broker_wait_s=broker_wait)


@click.group("config")
def config_group() -> None:
    """Show the effective settings or write a commented sample file."""


@config_group.command("show")
@pass_app
def config_show(app: AppContext) -> None:
    """The effective settings (defaults, file, environment) as JSON, secrets masked."""
    from mediapipe.config import shown

    emit_json(shown(app.config.to_dict()))


@config_group.command("sample")
def config_sample() -> None:
    """A commented TOML file with every setting and its default."""
    from mediapipe import config

    click.echo(config.sample_toml(), nl=False)

