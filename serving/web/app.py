"""The clinic staff's page: a Starlette app with Jinja2 templates, mounted beside the JSON API in ``klinik serve``.

Addresses (Indonesian, as the office says them): ``/`` Beranda, ``/cari`` search, ``/koperasi/<id>`` a profile,
``/daftar/<list>`` the four lists and ``/daftar/<list>/unduh`` their Excel sheet, ``/tentang-model`` the models,
``/masuk`` and ``/keluar`` login and logout, ``/bahasa/<id|en>`` the language switch, ``/static/...`` the CSS.
Every page but the login needs a session (auth.py); every form that changes something carries a CSRF token.
The page reads the latest batch output (store.Latest), the records behind it (history.History) and the served
models' metadata; it never scores anything itself.

Every asset is in the package (templates/, static/): nothing is loaded from another host. Errors: an unknown
address gets a friendly 404 page in the page's language (also for addresses outside this app: ``NotFoundPages``
wraps the whole service); a decision record that cannot be used (its database down, damaged or gone) is one log
line and a 503 page saying so; an unexpected error is logged with its traceback and answered with a plain page.
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from klinik.serving.web import auth, deciding, fmt, text, views
from klinik.serving.web.history import History
from klinik.serving.web.store import Latest

if TYPE_CHECKING:
    from klinik.settings import Settings

log = logging.getLogger("klinik.web")
HERE = Path(__file__).parent
LANG_COOKIE = "klinik_lang"
PUBLIC = ("/masuk", "/static", "/bahasa")
SECURITY_HEADERS = {
    # everything from this host only; inline SVG needs nothing more
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}
PAGE_HEADER = "x-klinik-page"  # on every page rendered here: NotFoundPages leaves such a 404 as it is
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))


def lang_of(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "id")
    return lang if lang in text.LANGS else "id"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    session = request.scope.get("session")
    flash = session.pop("flash", None) if session else None
    page = _env.get_template(template).render(
        flash=flash,
        request=request,
        lang=lang,
        t=lambda key, **kw: text.t(key, lang, **kw),
        fmt=fmt,
        text=text,
        user=(session or {}).get("user"),
        role=(session or {}).get("role"),
        csrf=auth.csrf_token(session) if session is not None else "",
        csrf_field=auth.CSRF_FIELD,
        path=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        **context,
    )
    return HTMLResponse(page, status_code=status_code, headers={**SECURITY_HEADERS, PAGE_HEADER: "1"})


def not_found_page(request: Request) -> HTMLResponse:
    return render(request, "message.html", 404, title=text.t("not_found_title", lang_of(request)), kind="not_found")


class WebState:
    """What the page holds for the life of the worker: settings, the latest output, the records, the models."""

    def __init__(self, settings: Settings, records=None, model_info=None):
        self.settings = settings
        self.latest = Latest(settings)
        self.history = History(settings)
        self._records = records
        self._model_info = model_info
        self._model_info_value: dict | None = None

    def output(self):
        out = self.latest.get()
        if out is not None:
            inputs = out.manifest.get("input", {})
            self.history.start(inputs.get("dir"), str(inputs.get("sha256") or out.stamp))
        return out

    @property
    def records(self):
        if self._records is None:
            from klinik.serving.records import open_records

            self._records = open_records(self.settings, create=False)
        return self._records

    def model_info(self) -> dict:
        if self._model_info_value is None:
            self._model_info_value = (self._model_info or served_models)(self.settings)
        return self._model_info_value


def served_models(settings: Settings) -> dict:
    """What the service serves: the latest copy of each champion in the BentoML store (what service.py declares)."""
    import bentoml

    from klinik.serving.bento_store import model_names, served_model_info

    info = {}
    for task, name in model_names(settings).items():
        try:
            info[task] = served_model_info(task, bentoml.models.get(f"{name}:latest"))
        except Exception as err:  # noqa: BLE001 -- the page says there is no information; the log says why
            log.warning("no metadata for the %s model %s: %s", task, name, err)
    return info


# ---------------------------------------------------------------- pages
def _state(request: Request) -> WebState:
    return request.app.state.web


def _needs_login(request: Request) -> Response | None:
    session = request.scope.get("session") or {}
    name = session.get("user")
    if name:
        user = _state(request).records.find_user(name)
        if user is not None and user.active:
            session["role"] = user.role
            return None
        session.clear()
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/masuk?next={target}" if target != "/" else "/masuk", status_code=303)


def page(handler):
    """A page behind the login: without a session, the browser is sent to /masuk and back here after."""

    def wrapped(request: Request):
        return _needs_login(request) or handler(request)

    wrapped.__name__ = handler.__name__
    return wrapped


@page
def home(request: Request):
    web = _state(request)
    view = views.home(web.output(), web.settings, lang_of(request))
    return render(request, "home.html", **view)


def _filters(request: Request) -> dict[str, str]:
    q = request.query_params
    return {k: q.get(k, "").strip()[:100] for k in ("kecamatan", "jenis", "klinik")}


@page
def search(request: Request):
    web = _state(request)
    out = web.output()
    lang = lang_of(request)
    query = request.query_params.get("q", "").strip()[:100]
    f = _filters(request)
    result = None
    if out is not None and (query or f["kecamatan"] or f["jenis"]):
        result = views.search(out, query, f["kecamatan"], f["jenis"], lang)
    return render(request, "search.html", output=out, query=query, filters=f, result=result)


@page
def profile(request: Request):
    web = _state(request)
    out = web.output()
    coop_id = request.path_params["coop_id"].strip().upper()
    lang = lang_of(request)
    if out is None:
        return render(request, "home.html", output=None)
    if coop_id not in out:
        positions, n = out.index.find(coop_id)  # a short id (KOP-120) leads to the one cooperative it names
        if n == 1:
            return RedirectResponse(f"/koperasi/{out.scores['coop_id'].iloc[int(positions[0])]}", status_code=303)
        return render(request, "not_in_output.html", 404, coop_id=coop_id, year=out.as_of_year)
    history = web.history.for_coop(coop_id)
    problem = None
    if history is None:
        waiting = web.history.loading
        problem = text.t("history_wait", lang) if waiting else (web.history.problem or text.t("history_none", lang))
    view = views.profile(out, coop_id, history, problem, web.settings, lang)
    entries = web.records.decisions_for(coop_id, out.as_of_year)
    session = request.scope["session"]
    return render(
        request,
        "profile.html",
        v=view,
        output=out,
        in_force=deciding.shown(entries[-1], lang) if entries else None,
        history=[deciding.shown(e, lang) for e in reversed(entries)] if session.get("role") == "kepala" else [],
        choices=deciding.choices(str(view["s"]["action"]), lang),
    )


async def decide(request: Request):
    """A decision posted from a profile or a list: recorded on the latest output's advice, then back (PRG)."""
    redirect = await run_in_threadpool(_needs_login, request)
    if redirect is not None:
        return redirect
    session = request.scope["session"]
    lang = lang_of(request)
    form = await request.form()
    if not auth.csrf_ok(session, form.get(auth.CSRF_FIELD)):
        log.warning("a decision form without a valid CSRF token refused")
        return render(request, "message.html", 403, title=text.t("csrf_failed", lang), kind="csrf")
    web = _state(request)
    out = await run_in_threadpool(web.output)
    coop_id = request.path_params["coop_id"]
    if out is None or coop_id not in out:
        return not_found_page(request)
    done, message = await run_in_threadpool(
        deciding.record,
        web.records,
        out,
        coop_id,
        str(form.get("decision", ""))[:200],
        str(form.get("note", ""))[:5000],
        session["user"],
        lang,
    )
    session["flash"] = {"ok": done, "text": message, "coop_id": coop_id}
    back = auth.safe_next(str(form.get("next", "")) or f"/koperasi/{coop_id}")
    return RedirectResponse(back, status_code=303)


def _event_detail(detail: str | None, lang: str) -> str:
    if not detail:
        return ""
    paused = re.fullmatch(r"(\d+) failed logins in a row", detail)
    if paused:
        n = paused.group(1)
        return f"{n} kali gagal berturut-turut" if lang == "id" else f"{n} failed sign-ins in a row"
    return text.label(text.EVENT_DETAIL, detail, lang)


@page
def audit(request: Request):
    """Every decision and account event, newest first: for the kepala role only."""
    session = request.scope["session"]
    lang = lang_of(request)
    if session.get("role") != "kepala":
        return render(request, "message.html", 403, title=text.t("audit_only_kepala", lang), kind="forbidden")
    records = _state(request).records
    entries = [
        deciding.shown(e, lang)
        | {"coop_id": e.coop_id, "year": e.as_of_year, "time": e.recorded_at.strftime("%H:%M UTC")}
        for e in records.history(300)
    ]
    events = [
        {
            "when": fmt.date(e.at, lang),
            "time": e.at.strftime("%H:%M UTC"),
            "kind": text.label(text.EVENT_KIND, e.kind, lang),
            "who": e.user_name or "–",
            "detail": _event_detail(e.detail, lang),
        }
        for e in records.events(300)
    ]
    return render(request, "audit.html", entries=entries, events=events)


def _list_context(request: Request, slug: str):
    web = _state(request)
    out = web.output()
    if out is None or slug not in text.LISTS:
        return None, None, None
    f = _filters(request)
    sort = request.query_params.get("urut", "")
    desc = request.query_params.get("arah", "") == "turun"
    lang = lang_of(request)
    frame, total = views.list_rows(out, slug, f["kecamatan"], f["jenis"], f["klinik"], sort, desc, lang)
    in_force = web.records.latest_decisions(out.as_of_year, frame["ID koperasi"].tolist())
    undecided = int((~frame["ID koperasi"].isin(list(in_force))).sum())
    if request.query_params.get("belum") == "1":
        frame = frame.loc[~frame["ID koperasi"].isin(list(in_force))]
    ctx = {"filters": f, "sort": sort, "desc": desc, "total": total, "in_force": in_force, "undecided": undecided}
    return out, frame, ctx


@page
def lists(request: Request):
    slug = request.path_params.get("slug", "jangkau")
    out, frame, ctx = _list_context(request, slug)
    if out is None and slug in text.LISTS:
        return render(request, "home.html", output=None)
    if frame is None:
        return not_found_page(request)
    lang = lang_of(request)
    nxt, capacity = views.next_to_call(out, lang) if slug == "jangkau" else ([], None)
    shown = frame.head(views.PAGE_ROWS)
    rows = [
        (coop_id, [(col, views.cell(col, value, lang)) for col, value in zip(shown.columns, values)])
        for coop_id, values in zip(shown["ID koperasi"], shown.itertuples(index=False, name=None))
    ]
    action = text.LISTS[slug][3]
    decided = {k: deciding.shown(d, lang) for k, d in ctx.pop("in_force").items()}
    return render(
        request,
        "lists.html",
        output=out,
        decided=decided,
        choices=deciding.choices(action, lang),
        only_undecided=request.query_params.get("belum") == "1",
        slug=slug,
        columns=list(shown.columns),
        rows=rows,
        count=len(frame),
        shown=len(shown),
        next_rows=nxt,
        capacity=capacity,
        download=f"/daftar/{slug}/unduh" + (f"?{request.url.query}" if request.url.query else ""),
        **ctx,
    )


@page
def download(request: Request):
    """The list as the batch job's workbook writes it (serving.excel), with the rows the page shows."""
    from klinik.serving.decisions_io import in_force
    from klinik.serving.excel import write_workbook

    slug = request.path_params["slug"]
    out, frame, _ = _list_context(request, slug)
    if frame is None:
        return not_found_page(request)
    sheet = text.LISTS[slug][0]
    result = out.result(frame["ID koperasi"].tolist())
    with tempfile.TemporaryDirectory(prefix="klinik-web-") as tmp:
        path = Path(tmp) / "daftar.xlsx"
        decided = in_force(_state(request).records, out.as_of_year)  # a workbook staff may fill in and import
        write_workbook(path, result, _state(request).settings, decisions=decided, sheets=[sheet])
        body = path.read_bytes()
    name = f"klinik-{slug}-{out.as_of_year}.xlsx"
    headers = {"content-disposition": f'attachment; filename="{name}"', **SECURITY_HEADERS}
    return Response(body, media_type=XLSX, headers=headers)


@page
def model_page(request: Request):
    web = _state(request)
    lang = lang_of(request)
    out = web.output()
    models = []
    for task, info in web.model_info().items():
        models.append(
            {
                "task": task,
                "title": text.t("model_risk" if task == "risk" else "model_recovery", lang),
                "info": info,
                "trained": fmt.date(info.get("trained_at"), lang),
                "words": views.model_words(task, info, lang),
            }
        )
    backtest = views.backtest(out, lang) if out is not None else None
    watch = views.watch(out.manifest, lang) if out is not None else None
    return render(request, "model.html", models=models, backtest=backtest, watch=watch, output=out)


# ---------------------------------------------------------------- login, logout, language
async def login(request: Request):
    session = request.scope["session"]
    lang = lang_of(request)
    target = auth.safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if session.get("user"):
            return RedirectResponse(target, status_code=303)
        return render(request, "login.html", next=target, message=None)
    form = await request.form()
    if not auth.csrf_ok(session, form.get(auth.CSRF_FIELD)):
        log.warning("login form without a valid CSRF token refused")
        return render(request, "login.html", 403, next=target, message=text.t("csrf_failed", lang))
    name = str(form.get("username", "")).strip()[:100]
    password = str(form.get("password", ""))[:1000]
    answer = await run_in_threadpool(_state(request).records.login, name, password)
    if answer.outcome == "ok":
        auth.start_session(session, answer.user.name, answer.user.role)
        log.info("login (%s)", answer.user.role)  # who: in the record's events; no names of people in logs
        return RedirectResponse(auth.safe_next(str(form.get("next", "")) or target), status_code=303)
    if answer.outcome == "paused":
        seconds = _seconds_until(answer.paused_until)
        message = text.t("login_paused", lang, seconds=fmt.number(seconds, lang))
        status = 429
    else:
        message, status = text.t("login_failed", lang), 401
    log.warning("failed login: %s", answer.outcome)
    return render(request, "login.html", status, next=target, message=message, username=name)


def _seconds_until(when) -> int:
    """Whole seconds from now until ``when`` (a UTC time, with or without its zone), at least 1."""
    import datetime as dt

    if when is None:
        return 1
    now = dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        now = now.replace(tzinfo=None)
    return max(1, int((when - now).total_seconds()) + 1)


async def logout(request: Request):
    session = request.scope["session"]
    form = await request.form()
    if not auth.csrf_ok(session, form.get(auth.CSRF_FIELD)):
        return render(request, "message.html", 403, title=text.t("csrf_failed", lang_of(request)), kind="csrf")
    name = session.get("user")
    session.clear()
    if name:
        log.info("logout")
        with contextlib.suppress(Exception):
            _state(request).records.note_event("logout", name)
    return render(request, "login.html", next="/", message=text.t("logged_out", lang_of(request)), notice=True)


def language(request: Request):
    lang = request.path_params["lang"]
    target = auth.safe_next(request.query_params.get("next"))
    response = RedirectResponse(target, status_code=303)
    if lang in text.LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax")
    return response


# ---------------------------------------------------------------- errors
async def _not_found(request: Request, exc: HTTPException):
    if exc.status_code == 404:
        return not_found_page(request)
    if exc.status_code == 405:
        return render(request, "message.html", 405, title=text.t("not_found_title", lang_of(request)), kind="nf")
    return Response(status_code=exc.status_code)


async def _unavailable(request: Request, exc: Exception):
    """The decision record cannot be used (its database stopped, damaged or gone while the server runs; or it
    cannot be opened): every page behind the login and every form needs it, so they say so, 503, in one line."""
    from klinik.serving.records import failure_line

    log.error("decision record unavailable on %s %s: %s", request.method, request.url.path, failure_line(exc))
    lang = lang_of(request)
    return render(request, "message.html", 503, title=text.t("unavailable_title", lang), kind="unavailable")


async def _error(request: Request, exc: Exception):
    log.exception("error on %s %s", request.method, request.url.path, exc_info=exc)
    return render(request, "message.html", 500, title=text.t("error_title", lang_of(request)), kind="error")


class Timing:
    """Logs pages slower than a second (the profile and search are meant to answer well within that)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        started = time.perf_counter()
        await self.app(scope, receive, send)
        took = time.perf_counter() - started
        if scope["type"] == "http" and took > 1.0:
            log.info("%s took %.2f s", scope["path"], took)


def _log_to_stderr() -> None:
    """The page's log lines (logins, failed logins, slow pages, errors) reach the server's log: BentoML's workers
    configure only BentoML's own loggers."""
    if not log.handlers:
        handler = logging.StreamHandler()
        # in the shape of BentoML's lines, so the server's log reads (and is checked) as one
        handler.setFormatter(
            logging.Formatter("%(asctime)s [%(levelname)s] [%(name)s] %(message)s", "%Y-%m-%dT%H:%M:%S%z")
        )
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def create_app(settings: Settings, records=None, model_info=None) -> Starlette:
    """The staff page for ``settings``; ``records`` and ``model_info`` stand in for the defaults (tests)."""
    _log_to_stderr()
    state = WebState(settings, records, model_info)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        with contextlib.suppress(Exception):  # an unreadable output is reported on the page, not at start-up
            await run_in_threadpool(state.output)
        yield

    routes = [
        Route("/", home),
        Route("/cari", search),
        Route("/koperasi/{coop_id}", profile),
        Route("/koperasi/{coop_id}/keputusan", decide, methods=["POST"]),
        Route("/riwayat", audit),
        Route("/daftar", lists),
        Route("/daftar/{slug}", lists),
        Route("/daftar/{slug}/unduh", download),
        Route("/tentang-model", model_page),
        Route("/masuk", login, methods=["GET", "POST"]),
        Route("/keluar", logout, methods=["POST"]),
        Route("/bahasa/{lang}", language),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    from klinik.serving.records import UNAVAILABLE

    app = Starlette(
        routes=routes,
        middleware=[Middleware(Timing), Middleware(auth.Sessions, work_dir=settings.work_dir)],
        exception_handlers={HTTPException: _not_found, **dict.fromkeys(UNAVAILABLE, _unavailable), Exception: _error},
        lifespan=lifespan,
    )
    app.state.web = state
    return app


class NotFoundPages:
    """Around the whole service: a browser asking for an address nobody answers gets the friendly 404 page.

    Only GET requests that accept HTML are touched; the JSON API's answers (POST, or JSON accepted) pass as they
    are, and so does every answer that is not a 404."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        accept = dict(scope["headers"]).get(b"accept", b"")
        if b"text/html" not in accept:
            return await self.app(scope, receive, send)
        replaced = False

        async def watch(message):
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 404:
                ours = any(k.lower() == PAGE_HEADER.encode() for k, _ in message.get("headers", []))
                if not ours:
                    replaced = True
                    return
            if replaced:
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    page = not_found_page(Request(scope))
                    await page(scope, receive, send)
                return
            await send(message)

        await self.app(scope, receive, watch)
