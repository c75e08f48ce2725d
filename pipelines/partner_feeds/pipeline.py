"""Running the pipeline: landing folder (or one uploaded feed) -> catalog, with a report.

Idempotency, and why it is atomic with the load:
1. Packages a previous run extracted but did not finish loading are loaded first.
2. The destination's `feed_imports` ledger is then asked which (partner, sha256) are loaded.
3. Feeds already there are acknowledged as duplicates (a `duplicate` ledger row, no data).
4. A new feed's products, rejects and `loaded` ledger row go into ONE load package, so the
   ledger can never claim a feed whose rows are missing for longer than it takes dlt to
   finish that package, and step 1 finishes it before any later run consults the ledger.
5. A package the destination refuses for good (it answers, dlt's retries are spent) is set
   aside with dlt's abort and what it wrote is taken back; the run's feeds are then loaded one
   package per feed, and a feed refused alone is `failed` with the destination's reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
from connector_kit import files, logs
from connector_kit.deadletter import rejects_exit_code
from connector_kit.pgtext import storable
from dlt.common.destination import TLoaderFileFormat
from dlt.common.destination.exceptions import DestinationHasFailedJobs
from dlt.common.pipeline import LoadInfo
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.dlt_project import (
    aliased_env,
    load_pending,
    postgres_credentials,
    refused_for_good,
    set_aside,
    table_rows,
)
from pipelines.partner_feeds.feeds import FORMATS, Feed
from pipelines.partner_feeds.ledger import FeedOutcome, FeedStatus, imported_checksums
from pipelines.partner_feeds.registry import PartnerRegistry
from pipelines.partner_feeds.settings import (
    CATALOG_TABLE,
    ENV_ALIASES,
    LEDGER_TABLE,
    PIPELINE_NAME,
    REJECTS_TABLE,
    PartnerFeedsSettings,
)
from pipelines.partner_feeds.source import package_feeds, partner_feeds_resource

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    """What one run did, feed by feed; `exit_code` follows the project's rule on rejects."""

    outcomes: list[FeedOutcome] = field(default_factory=list)
    load_info: LoadInfo | None = None
    load_error: str | None = None
    fail_on_rejects: bool = True
    new_products: int = 0  # catalog rows added (the rest of rows_loaded replaced existing ones)
    set_aside: list[str] = field(default_factory=list)  # load ids refused by the destination

    def count(self, status: FeedStatus) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def rows_loaded(self) -> int:
        return sum(o.rows_loaded for o in self.outcomes if o.status == FeedStatus.LOADED)

    @property
    def rows_rejected(self) -> int:
        return sum(o.rows_rejected for o in self.outcomes if o.status == FeedStatus.LOADED)

    @property
    def exit_code(self) -> int:
        if (
            self.load_error
            or self.set_aside
            or self.count(FeedStatus.FAILED)
            or self.count(FeedStatus.PENDING)
        ):
            return 1
        return rejects_exit_code(self.rows_rejected, self.fail_on_rejects)


def make_pipeline(settings: PartnerFeedsSettings) -> dlt.Pipeline:
    """The dlt pipeline, its working dir inside the project; DuckDB unless told Postgres."""
    destination: Any
    if settings.destination == "duckdb":
        settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        destination = dlt.destinations.duckdb(str(settings.duckdb_path))
    else:
        with aliased_env(ENV_ALIASES, PIPELINE_NAME):
            credentials: Any = dlt.secrets.get("destination.postgres.credentials")
        if not credentials:
            raise ValueError(
                "destination postgres needs DATABASE_URL or DESTINATION__POSTGRES__CREDENTIALS"
            )
        destination = (
            dlt.destinations.postgres(credentials=postgres_credentials(credentials))
            if isinstance(credentials, str)
            else dlt.destinations.postgres()  # a credentials table: dlt resolves it itself
        )
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=destination,
        dataset_name=settings.dataset_name,
        pipelines_dir=str(settings.pipelines_dir),
    )


def file_rules(settings: PartnerFeedsSettings) -> files.FileRules:
    return files.FileRules(settings.settle_seconds, settings.max_file_bytes)


def landing_feeds(
    landing_dir: Path, partners: Sequence[str] | None = None, rules: files.FileRules | None = None
) -> list[Feed]:
    """Feeds waiting in `<landing>/<partner>/*.csv|*.json`, oldest first within a partner.

    Only settled regular files are taken (connector_kit.files); temporary names are left
    alone, younger files wait for a later run, and links, FIFOs, devices and files over the
    size cap come back as refused feeds (failed, with the reason), never opened.
    """
    rules = rules or files.FileRules()
    if not landing_dir.is_dir():
        log.warning("landing folder missing %s", logs.kv(landing_dir=landing_dir))
        return []
    feeds = []
    for partner_dir in sorted(
        p
        for p in landing_dir.iterdir()
        if not p.is_symlink() and p.is_dir() and not p.name.startswith((".", "_"))
    ):
        if partners and partner_dir.name not in partners:
            continue
        entries = []
        for entry in partner_dir.iterdir():
            try:
                entries.append((entry.lstat().st_mtime_ns, entry.name, entry))
            except OSError:
                continue  # gone since listed
        for *_, path in sorted(entries):
            feed = _landing_feed(partner_dir.name, path, rules)
            if feed is not None:
                feeds.append(feed)
    return feeds


def _landing_feed(partner: str, path: Path, rules: files.FileRules) -> Feed | None:
    if files.is_temporary(path.name):
        return None
    if path.suffix.lower() not in FORMATS:
        if not path.is_dir():
            log.warning("not a feed file, left alone %s", logs.kv(partner=partner, file=path.name))
        return None
    check = files.check_file(path, rules)
    if check.verdict is files.Verdict.UNSETTLED:
        log.info(
            "feed not settled, left for the next run %s",
            logs.kv(partner=partner, file=path.name, reason=check.reason),
        )
        return None
    if check.verdict is files.Verdict.REFUSED:
        return Feed.refused_entry(partner, path, check.reason)
    feed = Feed.from_path(partner, path, listed=check.stat, rules=rules)
    try:
        feed.checksum  # noqa: B018  (hash now: the ledger is asked by checksum)
    except files.FileChanged as exc:
        log.info("feed changed, left for the next run %s", logs.kv(file=path, error=exc))
        return None
    except files.FileRefused as exc:
        return Feed.refused_entry(partner, path, str(exc))
    except OSError as exc:
        log.warning("feed unreadable, skipped %s", logs.kv(file=path, error=exc))
        return None
    return feed


def take_back_changed(settings: PartnerFeedsSettings, partners: Sequence[str] | None) -> None:
    """A failed feed whose file changed after it was archived (its writer finished it there)
    goes back to the landing folder for another look."""
    if settings.archive_dir is None:
        return
    failed = settings.archive_dir / str(FeedStatus.FAILED)
    if not failed.is_dir():
        return
    for reason in sorted(failed.glob("*/*.reason")):
        path = reason.with_name(reason.name.removesuffix(".reason"))
        partner = path.parent.name
        if partners and partner not in partners:
            continue
        source = files.changed_since_set_aside(path, file_rules(settings))
        if source is None:
            continue
        folder = settings.landing_dir / partner
        folder.mkdir(parents=True, exist_ok=True)
        back = files.take_back(path, folder, source.name)
        log.warning("failed feed changed, taken back %s", logs.kv(partner=partner, file=back.name))


def run_feeds(feeds: Iterable[Feed], settings: PartnerFeedsSettings | None = None) -> RunReport:
    """Load these feeds; the entry point for both the landing folder and a future upload API."""
    settings = settings or PartnerFeedsSettings.resolve()
    registry = PartnerRegistry.load(settings.registry_path)
    feeds = list(feeds)
    pipeline = make_pipeline(settings)
    report = RunReport(fail_on_rejects=settings.fail_on_rejects)
    # parquet into DuckDB (2-7x faster, docs/customers.md); csv = COPY into Postgres
    file_format: TLoaderFileFormat = "parquet" if settings.destination == "duckdb" else "csv"

    def load(batch: list[Feed], recorded: list[FeedOutcome]) -> None:
        imported = imported_checksums(pipeline, (f.checksum for f in batch))
        resource = partner_feeds_resource(
            batch,
            registry,
            imported,
            report.outcomes,
            batch_size=settings.batch_size,
            file_format=file_format,
            recorded=recorded,
            max_field_chars=settings.max_field_chars,
        )
        before = table_rows(pipeline, CATALOG_TABLE)
        report.load_info = pipeline.run(resource)
        report.load_info.raise_on_failed_jobs()
        report.new_products += table_rows(pipeline, CATALOG_TABLE) - before

    try:
        # finish what an earlier run left, before reading the ledger
        _finish_pending(pipeline, report, {(storable(f.partner), f.checksum) for f in feeds})
        recorded = list(report.outcomes)  # failed there, file gone: only their ledger rows
        if not feeds and not recorded:
            log.info("no feeds waiting %s", logs.kv(landing_dir=settings.landing_dir))
            return report
        try:
            load(feeds, recorded)  # one package for the whole run: the fast path
        except (PipelineStepFailed, DestinationHasFailedJobs) as exc:
            refused = refused_for_good(pipeline, exc)
            if refused is None:
                raise
            _set_aside(pipeline, report, *refused)
            # find the feed(s) the destination refuses: one package per feed, so one
            # partner's bad feed never holds back another's
            del report.outcomes[len(recorded) :]
            for feed in feeds:
                try:
                    load([feed], [])
                except (PipelineStepFailed, DestinationHasFailedJobs) as feed_exc:
                    refused = refused_for_good(pipeline, feed_exc)
                    if refused is None:
                        raise
                    _set_aside(pipeline, report, *refused)
                    outcome = report.outcomes[-1]
                    outcome.status = FeedStatus.FAILED
                    outcome.rows_loaded = outcome.rows_rejected = 0
                    outcome.error = f"load refused by the destination: {refused[1]}"
                    recorded.append(outcome)
            if recorded:  # their `failed` ledger rows
                load([], recorded)
    except (PipelineStepFailed, DestinationHasFailedJobs) as exc:
        step = exc.step if isinstance(exc, PipelineStepFailed) else "load"
        cause = exc.exception if isinstance(exc, PipelineStepFailed) else exc
        report.load_error = logs.mask(f"{step} failed: {logs.error_line(cause)}")
        log.error(
            "run failed, unsettled feeds stay for the next run %s",
            logs.kv(error=report.load_error),
        )
        decided = {(o.partner, o.checksum) for o in report.outcomes}
        for outcome in report.outcomes:
            if outcome.status != FeedStatus.FAILED:
                outcome.status = FeedStatus.PENDING
        for feed in feeds:  # not reached: waiting as well
            if (storable(feed.partner), feed.checksum) not in decided:
                report.outcomes.append(
                    FeedOutcome(
                        storable(feed.partner), storable(feed.name), feed.checksum, feed.path
                    )
                )
    return report


def _set_aside(pipeline: dlt.Pipeline, report: RunReport, load_id: str, reason: str) -> None:
    """Set aside a package the destination refuses (pipelines.dlt_project.set_aside)."""
    feeds = package_feeds(pipeline, load_id)
    set_aside(
        pipeline,
        load_id,
        reason,
        feeds=",".join(f"{f['partner']}/{f['feed_file']}" for f in feeds) or "-",
    )
    # dlt loads table by table and keeps what an aborted package already wrote: take it back,
    # so no ledger row claims a feed whose catalog rows were refused
    with pipeline.sql_client() as client:
        for table in (LEDGER_TABLE, REJECTS_TABLE, CATALOG_TABLE):
            with contextlib.suppress(DatabaseUndefinedRelation):
                name = client.make_qualified_table_name(table)
                client.execute_sql(f"DELETE FROM {name} WHERE _dlt_load_id = %s", load_id)
    report.set_aside.append(load_id)


def _finish_pending(
    pipeline: dlt.Pipeline, report: RunReport, waiting: set[tuple[str, str]]
) -> None:
    """Load the packages an earlier run left; set aside each one the destination refuses.

    The feeds of a set-aside package that still wait in the landing folder are tried again in
    this run (one package per feed if need be); the others are recorded as failed.
    """

    def refused(load_id: str, reason: str) -> None:
        feeds = package_feeds(pipeline, load_id)
        _set_aside(pipeline, report, load_id, reason)
        for feed in feeds:
            if (feed["partner"], feed["checksum"]) not in waiting:
                report.outcomes.append(
                    FeedOutcome(
                        feed["partner"],
                        feed["feed_file"],
                        feed["checksum"],
                        status=FeedStatus.FAILED,
                        error=f"load refused by the destination: {reason}",
                    )
                )

    load_pending(pipeline, on_set_aside=refused)


def ingest_feed(
    partner: str, name: str, content: bytes, settings: PartnerFeedsSettings | None = None
) -> FeedOutcome:
    """Load one uploaded feed (partner, file bytes): what an HTTP upload endpoint would call."""
    feed = Feed(partner, name, content=content)
    report = run_feeds([feed], settings)
    # the report may also hold feeds of an earlier run's package that was set aside
    key = (storable(partner), feed.checksum)
    outcome = next(o for o in reversed(report.outcomes) if (o.partner, o.checksum) == key)
    if outcome.status == FeedStatus.PENDING and outcome.error is None:
        outcome.error = report.load_error  # why it waits: the caller may retry
    return outcome


def run(
    settings: PartnerFeedsSettings | None = None,
    partners: Sequence[str] | None = None,
    archive: bool = True,
) -> RunReport:
    """Load everything waiting in the landing folder, then archive what was settled."""
    settings = settings or PartnerFeedsSettings.resolve()
    take_back_changed(settings, partners)
    feeds = landing_feeds(settings.landing_dir, partners, file_rules(settings))
    report = run_feeds(feeds, settings)
    if archive and settings.archive_dir is not None:
        archive_feeds(report.outcomes, settings.archive_dir)
    logs.summary(
        log,
        feeds=len(report.outcomes),
        loaded=report.count(FeedStatus.LOADED),
        duplicates=report.count(FeedStatus.DUPLICATE),
        failed=report.count(FeedStatus.FAILED),
        pending=report.count(FeedStatus.PENDING),
        loads_set_aside=len(report.set_aside),
        read=report.rows_loaded + report.rows_rejected,
        inserted=report.new_products,
        updated=report.rows_loaded - report.new_products,
        quarantined=report.rows_rejected,
    )
    return report


def archive_feeds(outcomes: Iterable[FeedOutcome], archive_dir: Path) -> None:
    """Move settled feed files to <archive>/<status>/<partner>/; pending ones stay for a retry."""
    for outcome in outcomes:
        if (
            outcome.path is None
            or outcome.status == FeedStatus.PENDING
            or not (outcome.path.exists() or outcome.path.is_symlink())
        ):
            continue
        reason = (outcome.error or "failed") if outcome.status == FeedStatus.FAILED else None
        archive_feed(outcome.path, archive_dir, str(outcome.status), outcome, reason)


def archive_feed(
    path: Path, archive_dir: Path, status: str, feed: FeedOutcome | Feed, reason: str | None = None
) -> Path:
    """Move one landing file to <archive>/<status>/<partner>/<time>_<sha256[:12]>_<name>; a
    refusal `reason` is written beside it (looked at again if the file changes there)."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target_dir = archive_dir / status / feed.partner
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{stamp}_{feed.checksum[:12]}_{path.name}"
    shutil.move(path, target)
    if reason is not None:
        files.write_reason(target, reason, path)
    log.info("feed archived %s", logs.kv(partner=feed.partner, file=path.name, to=target))
    return target
