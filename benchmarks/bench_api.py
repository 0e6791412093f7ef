"""Server time of the JSON API's main operations (/api/v1): the demo, and an NRW-sized database if one exists.

Each operation is requested ``--runs`` times (after one warm-up) with FastAPI's TestClient in this process
(the time is the server's, without a network: token check, use case, JSON); reported are the median and the
95th percentile. The operations: list Familienzentren, list procedures, get one procedure, its history,
list certificates (as the administrator); validate and score a self-assessment draft, and submit one (as
the Kita lead of a procedure: each timed submission is a resubmission after a Nachbesserung the
certification body asked for, untimed, in between).

Worlds: **Demo** (``build_demo`` as of 2026-03-10 into a temporary folder, or ``--db`` copied) and **NRW**:
the generated database of ``bench_web_scale.py`` (3,500 Familienzentren), used from its cache under /tmp
if it is there (``--nrw-db`` names another file; it is never generated here: without one the NRW rows are
left out and the report says so). NRW rows carry the demo's figure of the same run as their baseline
(ratio NRW/demo); the goal is a median under 100 ms for reads and under 1 s for scoring and submitting.
The machine is shared: single figures are noisy, the ratios within one run less so.

    python benchmarks/bench_api.py [--runs 20] [--db demo.sqlite] [--nrw-db nrw.sqlite] [--json out.json]
    python benchmarks/bench_api.py --quick   # 3 runs per operation, under two minutes
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from web_timing import demo_application  # noqa: E402

from certflow import services  # noqa: E402
from certflow.assessment import Period  # noqa: E402
from certflow.catalogue import load_catalogue  # noqa: E402
from certflow.catalogue.model import Form, ProcedureKind, Variant  # noqa: E402
from certflow.cli.serve import running_from  # noqa: E402
from certflow.db import make_engine, upgrade  # noqa: E402
from certflow.lifecycle import Role  # noqa: E402
from certflow.resources import default_catalogue  # noqa: E402
from certflow.samples import satisfying_assessment  # noqa: E402
from certflow.services.runner import Application  # noqa: E402
from certflow.settings import Settings  # noqa: E402
from certflow.web import WebConfig, create_app  # noqa: E402
from certflow.web.api import API_PREFIX, create_api  # noqa: E402

API = API_PREFIX
READ_GOAL_MS, WRITE_GOAL_MS = 100.0, 1000.0
NRW_DAY = date(2026, 11, 23)


def client_for(app: Application, token: str) -> TestClient:
    web = create_app(app, WebConfig(secret_key="bench-schluessel-0123456789"))
    if not any(getattr(r, "path", "") == API_PREFIX for r in web.routes):
        web.mount(API_PREFIX, create_api(app))
    client = TestClient(web, raise_server_exceptions=True, follow_redirects=False)
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def token(app: Application, user_id: str) -> str:
    return app.run(lambda uow: services.create_token(uow, user_id, user_id, label="Messung")).token


def timed(request: Callable[[], object], runs: int, *, warm: bool = True,
          between: Callable[[], None] | None = None) -> tuple[float, float]:
    if warm:
        request()
    times = []
    for _ in range(runs):
        if between is not None:
            between()
        started = time.perf_counter()
        response = request()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code < 300, response.text[:300]  # type: ignore[attr-defined]
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def _users(app: Application) -> tuple[str, str, dict[str, str]]:
    """(an administrator, a certifier, Kita lead by Familienzentrum) of the world."""
    def read(uow):
        users = uow.users.all()
        admin = next(u.id for u in users if u.role is Role.ADMIN)
        certifier = next(u.id for u in users if u.role is Role.CERTIFIER)
        return admin, certifier, {u.familienzentrum_id: u.id for u in users
                                  if u.role is Role.KITA_LEAD and u.familienzentrum_id}
    return app.run(read)


def measure_world(app: Application, runs: int, console: Console) -> dict[str, tuple[float, float]]:
    admin_id, certifier_id, leads = _users(app)
    admin, certifier = client_for(app, token(app, admin_id)), client_for(app, token(app, certifier_id))
    procedures = admin.get(f"{API}/procedures", params={"per_page": 200}).json()["items"]
    any_pid = procedures[len(procedures) // 2]["id"]
    out = {
        "Familienzentren auflisten": timed(lambda: admin.get(f"{API}/familienzentren"), runs),
        "Verfahren auflisten": timed(lambda: admin.get(f"{API}/procedures"), runs),
        "Verfahren lesen": timed(lambda: admin.get(f"{API}/procedures/{any_pid}"), runs),
        "Verlauf lesen": timed(lambda: admin.get(f"{API}/procedures/{any_pid}/history"), runs),
        "Urkunden auflisten": timed(lambda: admin.get(f"{API}/certificates"), runs),
    }
    developing = admin.get(f"{API}/procedures", params={"state": "in_development", "per_page": 1}).json()["items"]
    if not developing:
        console.print("[yellow]Kein Verfahren in Entwicklung: Selbstbewertung nicht gemessen[/]")
        return out
    p = developing[0]
    lead = client_for(app, token(app, leads[p["familienzentrum_id"]]))
    catalogue = load_catalogue(default_catalogue())
    form = Form(admin.get(f"{API}/familienzentren/{p['familienzentrum_id']}").json()["form"])
    draft = satisfying_assessment(catalogue, Variant(ProcedureKind(p["kind"]), form),
                                  Period(start=date.fromisoformat(p["period_start"]),
                                         end=date.fromisoformat(p["period_end"])), name="Messung")
    document = draft.model_dump(mode="json")
    base = f"{API}/procedures/{p['id']}"
    out["Entwurf prüfen"] = timed(lambda: lead.post(f"{base}/self-assessment/validation", json=document), runs)
    out["Entwurf bewerten"] = timed(lambda: lead.post(f"{base}/self-assessment/scoring", json=document), runs)

    def etag() -> str:
        return lead.get(base).headers["ETag"]

    first = lead.post(f"{base}/submission", json={"reason": "Messung", "assessment": document},
                      headers={"If-Match": etag()})
    assert first.status_code == 200, first.text[:300]

    def ask_for_changes() -> None:
        r = certifier.post(f"{base}/change-request", json={"reason": "Messung"}, headers={"If-Match": etag()})
        assert r.status_code == 200, r.text[:300]
        state["tag"] = etag()

    state = {"tag": ""}
    out["Selbstbewertung einreichen"] = timed(
        lambda: lead.post(f"{base}/submission", json={"reason": "Messung", "assessment": document},
                          headers={"If-Match": state["tag"]}), runs, warm=False, between=ask_for_changes)
    return out


def nrw_application(path: Path, folder: Path) -> Application:
    target = folder / "nrw.sqlite"
    shutil.copy(path, target)
    engine = make_engine(f"sqlite:///{target}")
    upgrade(engine)
    engine.dispose()
    return Application(Settings(database_url=f"sqlite:///{target}", evidence_dir=folder / "nrw-belege"),
                       clock=running_from(NRW_DAY), after_commit=[])


def nrw_cache() -> Path | None:
    try:
        from bench_web_scale import cache_path
        cached = cache_path(3500, 2026)
    except Exception:  # noqa: BLE001 - the sibling benchmark changed: look for any cache file instead
        cached = None
    if cached is not None and cached.exists():
        return cached
    found = sorted(Path(tempfile.gettempdir()).glob("certflow-bench-web-nrw-3500-*.sqlite"),
                   key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def rows_of(demo: dict, nrw: dict | None) -> list[dict]:
    rows = []
    for label, (median, p95) in demo.items():
        goal = WRITE_GOAL_MS if label in ("Entwurf bewerten", "Selbstbewertung einreichen") else READ_GOAL_MS
        rows.append({"measure": f"API {label} (Demo, Median)", "figure": round(median, 1), "unit": "ms",
                     "baseline": None, "baseline_label": "", "ratio": None, "goal": f"< {goal:.0f} ms",
                     "met": median < goal})
        rows.append({"measure": f"API {label} (Demo, p95)", "figure": round(p95, 1), "unit": "ms", "baseline": None,
                     "baseline_label": "", "ratio": None, "goal": "", "met": None})
        if nrw and label in nrw:
            n_median, n_p95 = nrw[label]
            rows.append({"measure": f"API {label} (NRW, Median)", "figure": round(n_median, 1), "unit": "ms",
                         "baseline": round(median, 1), "baseline_label": "Demo, gleicher Lauf",
                         "ratio": round(n_median / median, 2) if median else None, "goal": f"< {goal:.0f} ms",
                         "met": n_median < goal})
            rows.append({"measure": f"API {label} (NRW, p95)", "figure": round(n_p95, 1), "unit": "ms",
                         "baseline": round(p95, 1), "baseline_label": "Demo, gleicher Lauf",
                         "ratio": round(n_p95 / p95, 2) if p95 else None, "goal": "", "met": None})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--db", type=Path, help="eine fertige Demo-Datenbank (kopiert) statt sie zu bauen")
    ap.add_argument("--nrw-db", type=Path, help="die NRW-Datenbank (Standard: der Zwischenspeicher von "
                                                "bench_web_scale.py, falls vorhanden)")
    ap.add_argument("--no-nrw", action="store_true", help="nur die Demo messen")
    ap.add_argument("--json", type=Path, help="die Zeilen als JSON (measure, figure, unit, baseline, ratio, goal, met)")
    ap.add_argument("--quick", action="store_true", help="3 Anfragen je Operation (unter zwei Minuten)")
    args = ap.parse_args()
    runs = 3 if args.quick else args.runs
    console = Console()
    with tempfile.TemporaryDirectory(prefix="certflow-bench-api-") as folder:
        app, _passwords = demo_application(Path(folder), args.db, console)
        app.after_commit = []
        demo = measure_world(app, runs, console)
        app.close()
        nrw = None
        source = None if args.no_nrw else (args.nrw_db or nrw_cache())
        if source is None:
            console.print("[yellow]Keine NRW-Datenbank gefunden (bench_web_scale.py legt sie an): nur die Demo[/]")
        else:
            console.print(f"NRW-Datenbank: {source}")
            big = nrw_application(source, Path(folder))
            nrw = measure_world(big, runs, console)
            big.close()
    table = Table(title=f"JSON-API: Serverzeit je Operation (ms, {runs} Anfragen, Median / p95)")
    for column in ("Operation", "Demo Median", "Demo p95", "NRW Median", "NRW p95", "NRW/Demo"):
        table.add_column(column, justify="left" if column == "Operation" else "right")
    for label, (median, p95) in demo.items():
        n = (nrw or {}).get(label)
        table.add_row(label, f"{median:.1f}", f"{p95:.1f}", f"{n[0]:.1f}" if n else "–", f"{n[1]:.1f}" if n else "–",
                      f"{n[0] / median:.2f}" if n and median else "–")
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(rows_of(demo, nrw), indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
