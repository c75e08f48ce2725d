"""The operations console (/admin): server-rendered pages and plain HTML forms (no JavaScript).

Sign-in is the admin key (ADMIN_API_KEY); the session is a signed cookie (admin.session).
Partner actions call the partner API's own functions; runs come from reports/ (ops.report);
dead letters are the targets' files, replayed by ops.replay.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import SecretStr, ValidationError

from ops import replay as replays
from ops import report as reports
from service.admin import session as sessions
from service.api.deps import DB, PoolDep
from service.api.routes import partners as partner_api
from service.core.errors import Conflict, NotFound
from service.jobs import replay_jobs, replay_task
from service.partners.models import PartnerIn

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/admin", include_in_schema=False)
JOBS_SHOWN = 50
Page = Response


def utc(value: Any) -> str:
    """Times as `2026-12-02 07:38:47 UTC` (the zone written out)."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)


templates.env.filters["utc"] = utc


# Session ------------------------------------------------------------------------------


def _secrets(request: Request) -> tuple[SecretStr, SecretStr] | None:
    settings = request.app.state.settings
    if settings.admin_api_key is None or settings.app_secret_key is None:
        return None
    return settings.admin_api_key, settings.app_secret_key


def _secure(request: Request) -> bool:
    return str(getattr(request.app.state.settings, "service_env", "prod")) != "dev"


def _page(
    request: Request, name: str, session: sessions.Session | None, status: int = 200, **ctx: Any
) -> Response:
    response = templates.TemplateResponse(
        request, name, {"session": session, "csrf": session.csrf if session else "", **ctx}
    )
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _off(request: Request) -> Response:
    return _page(request, "off.html", None, status=503)


def _to_login() -> Response:
    return RedirectResponse("/admin/login", status_code=303)


def _signed_in(request: Request) -> sessions.Session | None:
    keys = _secrets(request)
    if keys is None:
        return None
    found = sessions.read(request, keys[1].get_secret_value())
    return found if found is not None and found.admin else None


def _guard(
    request: Request, csrf: str | None = None, *, post: bool = False
) -> sessions.Session | Response:
    """The signed-in session, or the answer to give instead (login, refusal, off)."""
    if _secrets(request) is None:
        return _off(request)
    session = _signed_in(request)
    if session is None:
        return _to_login()
    if post and not session.accepts(csrf):
        return _page(request, "refused.html", session, status=403)
    return session


# Sign-in ------------------------------------------------------------------------------


@router.get("/static/admin.css")
async def stylesheet() -> FileResponse:
    return FileResponse(HERE / "static" / "admin.css", media_type="text/css")


@router.get("")
async def home() -> Response:
    return RedirectResponse("/admin/runs", status_code=303)


@router.get("/login")
async def login_form(request: Request) -> Response:
    keys = _secrets(request)
    if keys is None:
        return _off(request)
    secret = keys[1].get_secret_value()
    anonymous = sessions.read(request, secret) or sessions.Session.new(admin=False)
    response = _page(request, "login.html", anonymous)
    sessions.write(response, anonymous, secret, secure=_secure(request))
    return response


@router.post("/login")
async def login(request: Request, key: str = Form(""), csrf: str | None = Form(None)) -> Response:
    keys = _secrets(request)
    if keys is None:
        return _off(request)
    admin_key, secret = keys[0].get_secret_value(), keys[1].get_secret_value()
    anonymous = sessions.read(request, secret)
    if anonymous is None or not anonymous.accepts(csrf):
        return _page(request, "refused.html", None, status=403)
    if not hmac.compare_digest(key.encode(), admin_key.encode()):
        return _page(
            request, "login.html", anonymous, status=401, error="That is not the admin key."
        )
    signed_in = sessions.Session.new(admin=True)  # a new token once signed in
    response = RedirectResponse("/admin/runs", status_code=303)
    sessions.write(response, signed_in, secret, secure=_secure(request))
    return response


@router.post("/logout")
async def logout(request: Request, csrf: str | None = Form(None)) -> Response:
    guard = _guard(request, csrf, post=True)
    if not isinstance(guard, sessions.Session):
        return guard
    response = RedirectResponse("/admin/login", status_code=303)
    sessions.clear(response)
    return response


# Partners -----------------------------------------------------------------------------


async def _partners(db: Any) -> list[dict[str, Any]]:
    cursor = await db.execute(
        "SELECT id, name, created_at, key_issued_at, revoked_at, key_hash IS NOT NULL AS active,"
        " (SELECT count(*) FROM partner_uploads u WHERE u.partner_id = p.id) AS uploads"
        " FROM partners p ORDER BY id"
    )
    return list(await cursor.fetchall())


async def _partners_page(
    request: Request, session: sessions.Session, db: Any, status: int = 200, **ctx: Any
) -> Response:
    return _page(request, "partners.html", session, status, partners=await _partners(db), **ctx)


@router.get("/partners")
async def partners(request: Request, db: DB) -> Response:
    guard = _guard(request)
    if not isinstance(guard, sessions.Session):
        return guard
    return await _partners_page(request, guard, db)


@router.post("/partners")
async def onboard(
    request: Request,
    db: DB,
    partner_id: str = Form(""),
    name: str = Form(""),
    csrf: str | None = Form(None),
) -> Response:
    guard = _guard(request, csrf, post=True)
    if not isinstance(guard, sessions.Session):
        return guard
    secret = request.app.state.settings.app_secret_key
    try:
        issued = await partner_api.onboard(PartnerIn(id=partner_id, name=name), db, secret)
    except ValidationError:
        return await _partners_page(
            request,
            guard,
            db,
            400,
            error="A partner id is lower-case letters, digits, - and _ (e.g. acme); a name is"
            " required.",
        )
    except Conflict as error:
        return await _partners_page(request, guard, db, 409, error=error.details)
    return await _partners_page(request, guard, db, issued=issued, action="onboarded")


@router.post("/partners/{partner_id}/rotate")
async def rotate(
    request: Request, partner_id: str, db: DB, csrf: str | None = Form(None)
) -> Response:
    guard = _guard(request, csrf, post=True)
    if not isinstance(guard, sessions.Session):
        return guard
    secret = request.app.state.settings.app_secret_key
    try:
        issued = await partner_api.rotate_key(partner_id, db, secret)
    except NotFound as error:
        return await _partners_page(request, guard, db, 404, error=error.details)
    return await _partners_page(request, guard, db, issued=issued, action="rotated")


@router.post("/partners/{partner_id}/revoke")
async def revoke(
    request: Request, partner_id: str, db: DB, csrf: str | None = Form(None)
) -> Response:
    guard = _guard(request, csrf, post=True)
    if not isinstance(guard, sessions.Session):
        return guard
    try:
        await partner_api.revoke_key(partner_id, db)
    except NotFound as error:
        return await _partners_page(request, guard, db, 404, error=error.details)
    return await _partners_page(
        request, guard, db, notice=f"The key of {partner_id} is revoked: it gets 401 from now on."
    )


# Runs ---------------------------------------------------------------------------------


def _runs_view() -> dict[str, Any]:
    runs = reports.history()
    by_job: dict[str, list[tuple[dt.datetime, reports.JobReport]]] = defaultdict(list)
    for run in runs:
        when = dt.datetime.fromisoformat(run.started_at)
        for figures in run.jobs:
            by_job[figures.job].append((when, figures))
    jobs = []
    for job, points in sorted(by_job.items()):
        when, last = points[-1]
        jobs.append(
            {
                "name": job,
                "last": last,
                "when": when,
                "runs": len(points),
                "failed": sum(1 for _, r in points if r.status == "failed"),
                "recent": [(t, r) for t, r in reversed(points[-10:])],
                "chart": reports.throughput_chart(job, points),
            }
        )
    return {"jobs": jobs, "folder": reports.reports_dir(), "count": len(runs)}


@router.get("/runs")
async def runs(request: Request) -> Response:
    guard = _guard(request)
    if not isinstance(guard, sessions.Session):
        return guard
    view = await anyio.to_thread.run_sync(_runs_view)
    return _page(request, "runs.html", guard, **view)


# Dead letters -------------------------------------------------------------------------


def _dead_letters_view() -> list[dict[str, Any]]:
    flows = []
    for flow in replays.FLOWS:
        path = replays.default_file(flow)
        entries = [{"id": replays.entry_id(e), **e} for e in replays.read_entries(path)]
        archived = replays.read_entries(replays.archive_file(path))
        flows.append(
            {
                "flow": flow,
                "path": path,
                "entries": entries,
                "archived": list(reversed(archived[-10:])),
                "archived_count": len(archived),
            }
        )
    return flows


@router.get("/dead-letters")
async def dead_letters(request: Request, db: DB) -> Response:
    guard = _guard(request)
    if not isinstance(guard, sessions.Session):
        return guard
    flows = await anyio.to_thread.run_sync(_dead_letters_view)
    return _page(request, "dead_letters.html", guard, flows=flows, started=await replay_jobs(db))


@router.post("/dead-letters/{flow}/replay")
async def replay(request: Request, flow: str, db: DB) -> Response:
    form = await request.form()
    guard = _guard(request, str(form.get("csrf") or ""), post=True)
    if not isinstance(guard, sessions.Session):
        return guard
    try:
        chosen = replays.flow_named(flow)
    except replays.ReplayError:
        return _page(request, "refused.html", guard, status=404)
    ids = [str(i) for i in form.getlist("ids")]
    if not ids and form.get("all") != "1":
        flows = await anyio.to_thread.run_sync(_dead_letters_view)
        return _page(
            request,
            "dead_letters.html",
            guard,
            status=400,
            flows=flows,
            started=await replay_jobs(db),
            error="Select the entries to replay (or use Replay all).",
        )
    await replay_task.defer_async(flow=chosen.name, ids=ids or None)  # run by the worker
    return RedirectResponse("/admin/dead-letters", status_code=303)


# Jobs ---------------------------------------------------------------------------------


JOB_STATES = ("received", "queued", "loaded", "failed", "pending")


@router.get("/jobs")
async def jobs(request: Request, db: DB, status: str = "", requeued: int = 0) -> Response:
    guard = _guard(request)
    if not isinstance(guard, sessions.Session):
        return guard
    chosen = status if status in JOB_STATES else None
    listed = await partner_api.list_jobs(db, chosen, None, JOBS_SHOWN)
    shown = [await partner_api.get_job(job.job_id, db) for job in listed]  # with attempts
    return _page(
        request,
        "jobs.html",
        guard,
        jobs=shown,
        states=JOB_STATES,
        chosen=chosen or "",
        requeued=requeued,
        limit=JOBS_SHOWN,
    )


@router.post("/jobs/{job_id}/requeue")
async def requeue(
    request: Request, job_id: int, pool: PoolDep, db: DB, csrf: str | None = Form(None)
) -> Response:
    guard = _guard(request, csrf, post=True)
    if not isinstance(guard, sessions.Session):
        return guard
    try:
        await partner_api.requeue_job(request, job_id, pool)
    except (NotFound, Conflict) as error:
        listed = await partner_api.list_jobs(db, None, None, JOBS_SHOWN)
        shown = [await partner_api.get_job(job.job_id, db) for job in listed]
        status = 404 if isinstance(error, NotFound) else 409
        return _page(
            request,
            "jobs.html",
            guard,
            status,
            jobs=shown,
            states=JOB_STATES,
            chosen="",
            requeued=0,
            limit=JOBS_SHOWN,
            error=error.details,
        )
    return RedirectResponse(f"/admin/jobs?requeued={job_id}", status_code=303)
