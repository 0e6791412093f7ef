"""The administration's pages on SQLite and PostgreSQL: users with roles (created, with the first-login link by
mail and into the inbox; links later), Jugendämter and Träger, Kitas by CSV upload with every bad row in a
table (file:line, field, message) and nothing imported from a bad file; every route refused to every other
role with nothing changed; CSRF; bad input at the field (wrong values, too long, a file too large or of the
wrong kind, a 200 MB upload), never a traceback.

The world is the service tests' (tests/test_services_world.py), built once per module and backend; the tests
share it and run in file order (the refusals first).
"""

from __future__ import annotations

import io
import re

import pytest
from db_support import postgres_admin  # noqa: F401
from sqlalchemy import text
from sqlalchemy.orm import Session
from test_web_certifier import error_summary, field_error, log_in, no_trace, site_on
from test_web_support import csrf_of, web_client

from certflow import services
from certflow.services.runner import Application

HEADER = "id;name;traeger_id;jugendamt_id;strasse;plz;ort;lat;lon\n"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory):
    with site_on(request, tmp_path_factory, lambda world: {}) as built:
        yield built


@pytest.fixture
def admin(site):
    with web_client(site.app) as client:
        log_in(client, "admin")
        yield client


def _count(app: Application, table: str) -> int:
    with Session(app.engine) as session:
        return session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()


def _snapshot(app: Application) -> tuple[int, ...]:
    return tuple(_count(app, t) for t in ("audit_log", "app_user", "jugendamt", "traeger", "kita", "user_contact",
                                          "one_time_link"))


def _upload(client, token: str, content: bytes | io.IOBase, *, name: str = "kitas.csv", reason: str = "Liste des JA"):
    return client.post("/verwaltung/kitas", data={"grund": reason, "csrf_token": token},
                       files={"datei": (name, content, "text/csv")})


# -- the pages ---------------------------------------------------------------------------------------------------


def test_the_admin_sees_users_master_data_and_kitas(site, admin):
    users = admin.get("/verwaltung/benutzer")
    assert users.status_code == 200 and "<h1>Benutzer und Rollen</h1>" in users.text
    assert "Clara Zert" in users.text and "Zertifizierungsstelle" in users.text
    assert "Familienzentrum: Familienzentrum Eins" in users.text and "Passwort gesetzt" in users.text
    assert '<label for="benutzer-rolle">Rolle</label>' in users.text
    assert '<a href="/verwaltung/benutzer">Benutzer</a>' in users.text  # the role's navigation
    master = admin.get("/verwaltung/stammdaten").text
    assert "Jugendamt A" in master and "Träger B" in master and '<label for="traeger-name">Name</label>' in master
    kitas = admin.get("/verwaltung/kitas").text
    assert "Kita Sechs" in kitas and "Gasse 6, 50002 Andersdorf" in kitas and 'type="file"' in kitas
    assert 'enctype="multipart/form-data"' in kitas
    one = admin.get("/verwaltung/benutzer/aud-2")
    assert one.status_code == 200 and "Träger: Träger A" in one.text and "Link senden" in one.text
    assert admin.get("/verwaltung").headers["location"] == "/verwaltung/benutzer"
    for page in (users, one):
        assert not re.search(r'(?:src|href|action)="(?:https?:)?//', page.text)


# -- who may ----------------------------------------------------------------------------------------------------


ROUTES = [
    ("GET", "/verwaltung/benutzer", {}, 403),
    ("POST", "/verwaltung/benutzer", {"kennung": "neu", "name": "Neu", "rolle": "certifier", "grund": "x"}, 403),
    ("GET", "/verwaltung/benutzer/lead-1", {}, 404),
    ("POST", "/verwaltung/benutzer/lead-1/zugangslink", {"zweck": "reset", "email": "a@example.org", "grund": "x"},
     404),
    ("POST", "/verwaltung/benutzer/lead-1/aendern", {"rolle": "admin", "aktiv": "ja", "grund": "x", "fassung": "1"},
     404),
    ("GET", "/verwaltung/benutzer?suche=a&rolle=admin&seite=2", {}, 403),
    ("GET", "/verwaltung/kitas?suche=Kita&seite=2", {}, 403),
    ("GET", "/verwaltung/stammdaten", {}, 403),
    ("POST", "/verwaltung/jugendaemter", {"kennung": "ja-x", "name": "JA X", "grund": "x"}, 403),
    ("POST", "/verwaltung/traeger", {"kennung": "tr-x", "name": "Träger X", "grund": "x"}, 403),
    ("GET", "/verwaltung/kitas", {}, 403),
    ("POST", "/verwaltung/kitas", {"grund": "x"}, 403),
]


@pytest.mark.parametrize("user_id", ["coord-a", "coord-b", "aud-1", "cert-1", "lead-1", "lead-b"])
def test_every_route_is_refused_to_every_other_role_and_nothing_changes(site, user_id):
    before = _snapshot(site.app)
    with web_client(site.app) as client:
        token = csrf_of(log_in(client, user_id).text)
        for method, path, data, status in ROUTES:
            if method == "GET":
                response = client.get(path)
            elif path == "/verwaltung/kitas":
                response = client.post(path, data={**data, "csrf_token": token},
                                       files={"datei": ("k.csv", HEADER + "k9;Kita;tr-a;ja-a;W 1;50001;Ort;51;7\n")})
            else:
                response = client.post(path, data={**data, "csrf_token": token})
            assert response.status_code == status, (user_id, path, response.status_code)
            assert ("Die Verwaltung ist der Rolle" in response.text if status == 403 else
                    "Diese Seite gibt es nicht, oder Sie haben keinen Zugriff darauf." in response.text)
            no_trace(response)
        assert "/verwaltung/" not in client.get("/start").text
    assert _snapshot(site.app) == before


def test_an_unknown_user_is_a_404_for_the_admin_too(site, admin):
    token = csrf_of(admin.get("/verwaltung/benutzer").text)
    assert admin.get("/verwaltung/benutzer/niemand").status_code == 404
    before = _snapshot(site.app)
    response = admin.post("/verwaltung/benutzer/niemand/zugangslink",
                          data={"zweck": "reset", "email": "n@example.org", "grund": "x", "csrf_token": token})
    assert response.status_code == 404 and _snapshot(site.app) == before


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing(site, admin):
    before = _snapshot(site.app)
    for path, data in (("/verwaltung/benutzer", {"kennung": "neu", "name": "Neu", "rolle": "certifier",
                                                  "grund": "x"}),
                       ("/verwaltung/jugendaemter", {"kennung": "ja-x", "name": "JA X", "grund": "x"})):
        assert admin.post(path, data=data).status_code == 403
        wrong = admin.post(path, data={**data, "csrf_token": "falsch"})
        assert wrong.status_code == 403 and "Sicherheitsprüfung" in wrong.text
    upload = admin.post("/verwaltung/kitas", data={"grund": "x"},
                        files={"datei": ("k.csv", HEADER + "k9;Kita;tr-a;ja-a;W 1;50001;Ort;51;7\n")})
    assert upload.status_code == 403
    assert _snapshot(site.app) == before


# -- bad input at the field -------------------------------------------------------------------------------------


USER_CASES = [
    ({"kennung": "Jürgen K"}, "benutzer-kennung", "Nur Buchstaben (ohne Umlaute)"),
    ({"kennung": "x" * 65}, "benutzer-kennung", "Höchstens 64 Zeichen (eingegeben: 65)."),
    ({"kennung": "lead-1"}, "benutzer-kennung", "Benutzer lead-1 gibt es schon."),
    ({"kennung": ""}, "benutzer-kennung", "Bitte eine Kennung für den Benutzer angeben."),
    ({"name": "N" * 201}, "benutzer-name", "Höchstens 200 Zeichen (eingegeben: 201)."),
    ({"rolle": "koenig"}, "benutzer-rolle", "Bitte eine Rolle aus der Liste wählen."),
    ({"rolle": "coordinator", "familienzentrum": ""}, "benutzer-jugendamt",
     "Die Rolle „Koordination im Jugendamt“ gehört zu einem Jugendamt: bitte wählen."),
    ({"familienzentrum": "fz-x"}, "benutzer-familienzentrum", "Familienzentrum fz-x gibt es nicht."),
    ({"traeger": "tr-a"}, "benutzer-traeger", "Gehört nicht zur Rolle „Kita-Leitung“: bitte leer lassen."),
    ({"email": "keine-adresse"}, "benutzer-email", "„keine-adresse“ ist keine E-Mail-Adresse."),
    ({"email": "", "link": "ja"}, "benutzer-email", "Für den Zugangslink bitte eine E-Mail-Adresse angeben."),
    ({"grund": " "}, "benutzer-grund", "Bitte einen Grund angeben"),
    ({"grund": "g" * 2001}, "benutzer-grund", "Höchstens 2000 Zeichen"),
]


def test_bad_input_in_the_user_form_is_told_at_the_field_and_nothing_is_written(site, admin):
    token = csrf_of(admin.get("/verwaltung/benutzer").text)
    good = {"kennung": "leitung-neu", "name": "Nina Neu", "rolle": "kita_lead", "familienzentrum": "fz-1",
            "email": "nina@example.org", "grund": "Neue Leitung"}
    before = _snapshot(site.app)
    for change, field, message in USER_CASES:
        response = admin.post("/verwaltung/benutzer", data={**good, **change, "csrf_token": token})
        assert response.status_code == 422, (change, response.status_code)
        assert message in field_error(response.text, field), change
        assert "Der Benutzer ist nicht angelegt." in error_summary(response.text)
        no_trace(response)
    kept = admin.post("/verwaltung/benutzer", data={**good, "rolle": "koenig", "csrf_token": token}).text
    assert 'value="Nina Neu"' in kept and '<option value="fz-1" selected>' in kept
    assert _snapshot(site.app) == before


def test_bad_input_in_the_master_data_forms_is_told_at_the_field(site, admin):
    token = csrf_of(admin.get("/verwaltung/stammdaten").text)
    before = _snapshot(site.app)
    cases = [
        ("/verwaltung/jugendaemter", {"kennung": "ja-a", "name": "Doppelt"}, "jugendamt-kennung",
         "Jugendamt ja-a gibt es schon."),
        ("/verwaltung/jugendaemter", {"kennung": "ja neu", "name": "X"}, "jugendamt-kennung", "Nur Buchstaben"),
        ("/verwaltung/jugendaemter", {"kennung": "ja-neu", "name": ""}, "jugendamt-name", "Bitte den Namen angeben."),
        ("/verwaltung/traeger", {"kennung": "tr-neu", "name": "T" * 201}, "traeger-name", "Höchstens 200 Zeichen"),
        ("/verwaltung/traeger", {"kennung": "t" * 70, "name": "T"}, "traeger-kennung", "Höchstens 64 Zeichen"),
        ("/verwaltung/traeger", {"kennung": "tr-neu", "name": "T", "grund": ""}, "traeger-grund",
         "Bitte einen Grund angeben"),
    ]
    for path, data, field, message in cases:
        response = admin.post(path, data={"grund": "Neu im Land", **data, "csrf_token": token})
        assert response.status_code == 422 and message in field_error(response.text, field), (path, data)
        no_trace(response)
    assert _snapshot(site.app) == before


def _error_rows(html: str) -> list[list[str]]:
    table = re.search(r'<table class="tabelle fehlertabelle" id="zeilenfehler">(.*?)</table>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "|", row).strip("|").split("||") for row in re.findall(r"<tr><td>.*?</tr>", table, re.S)]


def test_a_bad_csv_shows_every_bad_row_in_a_table_and_imports_nothing(site, admin):
    token = csrf_of(admin.get("/verwaltung/kitas").text)
    before = _snapshot(site.app)
    malformed = (HEADER + "k20;Kita Zwanzig;tr-a;ja-a;Weg 20;5000;Musterstadt;51,1;7,1\n"
                 "k21;Kita Einundzwanzig;tr-a;ja-a;Weg 21;50001;Musterstadt;91,1;7,1\n"
                 "k22;Kita Zweiundzwanzig;tr-a;ja-a\n")
    response = _upload(admin, token, malformed.encode(), name="C:\\Listen\\neue-kitas.csv")
    assert response.status_code == 422
    assert "Die Datei wurde nicht eingelesen: 3 Problem(e)" in field_error(response.text, "kitas-datei")
    assert [row[:2] for row in _error_rows(response.text)] == [
        ["neue-kitas.csv:2", "plz"], ["neue-kitas.csv:3", "lat"], ["neue-kitas.csv:4", "–"]]
    assert "falsche Anzahl von Feldern" in response.text
    unknown = (HEADER + "k21;Kita Einundzwanzig;tr-x;ja-a;Weg 21;50001;Musterstadt;51,1;7,1\n"
               f"k22;{'K' * 201};tr-a;ja-a;Weg 22;50001;Musterstadt;51,1;7,1\n"
               "k1;Kita Eins doppelt;tr-a;ja-a;Weg 1;50001;Musterstadt;51,1;7,1\n")
    response = _upload(admin, token, unknown.encode(), name="neue-kitas.csv")
    assert response.status_code == 422 and "Es wurde nichts übernommen." in response.text
    assert _error_rows(response.text) == [
        ["neue-kitas.csv:2", "traeger_id", "unbekannter Träger &#39;tr-x&#39;"],
        ["neue-kitas.csv:3", "name", "höchstens 200 Zeichen (angegeben: 201)"],
        ["neue-kitas.csv:4", "id", "Kita &#39;k1&#39; gibt es schon"]]
    assert _snapshot(site.app) == before


def test_a_file_too_large_of_the_wrong_kind_or_missing_is_told_at_the_field(site, admin, monkeypatch):
    token = csrf_of(admin.get("/verwaltung/kitas").text)
    before = _snapshot(site.app)
    pdf = _upload(admin, token, b"%PDF-1.7\n\xff\xfe\x00binary", name="liste.pdf")
    assert pdf.status_code == 422 and "keine CSV-Textdatei in UTF-8" in error_summary(pdf.text)
    assert "liste.pdf" in pdf.text
    empty = admin.post("/verwaltung/kitas", data={"grund": "x", "csrf_token": token})
    assert empty.status_code == 422 and "Bitte eine CSV-Datei auswählen." in field_error(empty.text, "kitas-datei")
    no_reason = _upload(admin, token, (HEADER + "k30;K;tr-a;ja-a;W 1;50001;Ort;51;7\n").encode(), reason="")
    assert no_reason.status_code == 422 and "Bitte einen Grund angeben" in field_error(no_reason.text, "kitas-grund")
    monkeypatch.setattr("certflow.services.records.MAX_INPUT_BYTES", 200)
    too_big = _upload(admin, token, (HEADER + "k30;K;tr-a;ja-a;W 1;50001;Ort;51;7\n" * 5).encode())
    assert too_big.status_code == 422 and "Datei zu groß (mehr als 200 Bytes)" in error_summary(too_big.text)
    for response in (pdf, empty, no_reason, too_big):
        no_trace(response)
    assert _snapshot(site.app) == before


class _Zeros(io.RawIOBase):
    """A file of ``size`` bytes of "a" that is never held in memory at once (for the 200 MB upload)."""

    def __init__(self, size: int):
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = b"a" * n
        self.left -= n
        return n


@pytest.mark.parametrize("megabytes", [200])
def test_a_200_mb_upload_is_refused_as_too_large_without_a_trace(site, admin, megabytes):
    token = csrf_of(admin.get("/verwaltung/kitas").text)
    before = _snapshot(site.app)
    response = _upload(admin, token, io.BufferedReader(_Zeros(megabytes * 1024 * 1024), 1024 * 1024))
    assert response.status_code == 422 and "Datei zu groß (mehr als 32 MB)" in error_summary(response.text)
    no_trace(response)
    assert _snapshot(site.app) == before


# -- doing the job --------------------------------------------------------------------------------------------------


def test_the_admin_creates_a_jugendamt_a_traeger_and_imports_kitas(site, admin):
    token = csrf_of(admin.get("/verwaltung/stammdaten").text)
    ja = admin.post("/verwaltung/jugendaemter", data={"kennung": "ja-neustadt", "name": "Jugendamt Neustadt",
                                                      "grund": "Neu im Programm", "csrf_token": token})
    assert ja.status_code == 200 and "Jugendamt Jugendamt Neustadt (ja-neustadt) angelegt" in ja.text
    tr = admin.post("/verwaltung/traeger", data={"kennung": "tr-neu", "name": "Neuer Träger e. V.",
                                                 "grund": "Neu im Programm", "csrf_token": token})
    assert tr.status_code == 200 and "Träger Neuer Träger e. V. (tr-neu) angelegt" in tr.text
    csv = (HEADER + "k40;Kita Am Markt;tr-neu;ja-neustadt;Markt 1;40210;Neustadt;51,2;6,8\n"
           "k41;Kita Lindenhof;tr-neu;ja-neustadt;Lindenweg 3;40211;Neustadt;51,21;6,81\n")
    done = _upload(admin, token, ("\ufeff" + csv).encode(), name="neustadt.csv")
    assert done.status_code == 200 and "2 Kita(s) aus neustadt.csv eingelesen" in done.text
    assert "Kita Lindenhof" in done.text and "Neuer Träger e. V." in done.text
    trail = site.app.run(lambda uow: uow.audit_log.entries_for("kita", "k41"))
    assert [(e.actor_id, e.reason) for e in trail] == [("admin", "Liste des JA")]


def test_a_new_user_gets_the_first_login_link_in_their_inbox_and_can_log_in(site, admin):
    token = csrf_of(admin.get("/verwaltung/benutzer").text)
    done = admin.post("/verwaltung/benutzer", data={
        "kennung": "leitung-neu", "name": "Nina Neu", "rolle": "kita_lead", "familienzentrum": "fz-1",
        "email": "nina@example.org", "link": "ja", "grund": "Neue Leitung", "csrf_token": token})
    assert done.status_code == 200
    assert "Benutzer Nina Neu (leitung-neu, Kita-Leitung) angelegt; Link zur Erstanmeldung an nina@example.org" \
        in done.text
    assert "noch kein Passwort" in done.text
    inbox = site.app.run(lambda uow: services.read_inbox(uow, "leitung-neu"))
    link = re.search(r"http://testserver(/zugang/\S+)", inbox.messages[0].body).group(1)
    trail = site.app.run(lambda uow: uow.audit_log.entries_for("user", "leitung-neu"))
    assert trail[0].actor_id == "admin" and trail[0].reason == "Neue Leitung"
    with web_client(site.app) as newcomer:
        form = newcomer.get(link)
        assert form.status_code == 200 and "Willkommen: Passwort festlegen" in form.text
        set_ = newcomer.post(link, data={"password": "Mein-erstes-Kennwort-1", "password2": "Mein-erstes-Kennwort-1",
                                         "csrf_token": csrf_of(form.text)})
        assert set_.status_code == 303
        assert "Familienzentrum Eins" in newcomer.get("/start").text


def test_a_link_for_a_user_without_an_address_needs_one_and_a_reset_link_goes_out(site, admin):
    token = csrf_of(admin.get("/verwaltung/benutzer/aud-2").text)
    before = _snapshot(site.app)
    missing = admin.post("/verwaltung/benutzer/aud-2/zugangslink", data={"zweck": "reset", "email": "",
                                                                        "grund": "", "csrf_token": token})
    assert missing.status_code == 422
    assert "keine E-Mail-Adresse hinterlegt" in field_error(missing.text, "link-email")
    wrong = admin.post("/verwaltung/benutzer/aud-2/zugangslink", data={"zweck": "alles", "email": "a@b",
                                                                      "grund": "x", "csrf_token": token})
    assert wrong.status_code == 422 and "Bitte wählen" in field_error(wrong.text, "link-zweck")
    no_reason = admin.post("/verwaltung/benutzer/aud-2/zugangslink", data={
        "zweck": "reset", "email": "arno@example.org", "grund": "", "csrf_token": token})
    assert no_reason.status_code == 422 and "Bitte einen Grund angeben" in field_error(no_reason.text, "link-grund")
    assert _snapshot(site.app) == before
    sent = admin.post("/verwaltung/benutzer/aud-2/zugangslink", data={
        "zweck": "reset", "email": "arno@example.org", "grund": "Neue Adresse", "csrf_token": token})
    assert sent.status_code == 200 and "Link zum Zurücksetzen an Arno Audit (arno@example.org) versandt" in sent.text
    assert "arno@example.org" in sent.text
    inbox = site.app.run(lambda uow: services.read_inbox(uow, "aud-2"))
    assert inbox.messages[0].subject == "certflow: Passwort zurücksetzen"
