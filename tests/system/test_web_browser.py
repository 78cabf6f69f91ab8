"""The staff page in a real browser: Chromium driven by Playwright against the real `klinik serve` on 127.0.0.1.

One server for the module, on the batch outputs of the shared simulated world for 2023 and 2024 (so the page has
last year's run to compare with), with three staff accounts made by `klinik users add --password-stdin`. What the
page shows is checked against the batch output's own files. Every page is photographed at desktop (1366x768) and
phone width into web_helpers.SCREENSHOTS.
"""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

import httpx
import openpyxl
import pandas as pd
import pytest
from playwright.sync_api import sync_playwright
from service_helpers import API_KEY, klinik, running_server
from web_helpers import DESKTOP, PHONE, add_user, launch, shoot

from klinik import wording
from klinik.serving.web import fmt
from klinik.settings import get_settings

pytestmark = pytest.mark.slow
PASSWORDS = {"ani": "sandi-ani-2024", "kadek": "sandi-kadek-2024", "budi": "sandi-budi-2024"}
MAX_FAILURES = 3


@pytest.fixture(scope="module")
def site(trained_registry, world_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    scores = tmp / "scores"
    for year in (2023, 2024):
        args = ["score", "--data", str(world_dir), "--as-of", str(year), "--out", str(scores / str(year)), "--quiet"]
        done = klinik(args, trained_registry, tmp)
        assert done.returncode == 0, done.stderr[-3000:]
    (scores / "latest").symlink_to("2024", target_is_directory=True)
    env = {
        "KLINIK_API_KEY": API_KEY,
        "KLINIK_LOOKUP_SCORES_PATH": str(scores / "latest" / "scores.parquet"),
        "KLINIK_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
        "KLINIK_LOGIN_PAUSE_SECONDS": "600",
    }
    done = klinik(["db", "upgrade"], trained_registry, tmp, **env)
    assert done.returncode == 0, done.stdout + done.stderr
    for name, role in (("ani", "petugas"), ("kadek", "kepala"), ("budi", "petugas")):
        add_user(trained_registry, tmp, name, role, PASSWORDS[name], **env)
    out = scores / "2024"
    with running_server(trained_registry, tmp, **env) as server:
        yield SimpleNamespace(
            url=server.url,
            server=server,
            out=out,
            scores=pd.read_parquet(out / "scores.parquet"),
            reasons=pd.read_parquet(out / "reasons.parquet"),
            evidence=pd.read_parquet(out / "evidence.parquet"),
        )


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def sign_in(browser, site, name="ani", viewport=DESKTOP, target=""):
    context = browser.new_context(viewport=viewport, base_url=site.url, accept_downloads=True)
    page = context.new_page()
    page.goto(f"/masuk{target}")
    page.get_by_label("Nama pengguna").fill(name)
    page.get_by_label("Kata sandi").fill(PASSWORDS[name])
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_load_state()
    assert "/masuk" not in page.url, page.content()[:2000]
    return page


@pytest.fixture(scope="module")
def ani(browser, site):
    page = sign_in(browser, site)
    yield page
    page.context.close()


def reasons_of(site, coop_id: str, kind: str) -> pd.DataFrame:
    """The reasons of one kind of ``coop_id`` in the batch output, in their order."""
    mine = site.reasons.loc[(site.reasons["coop_id"] == coop_id) & (site.reasons["kind"] == kind)]
    return mine.sort_values("position")


def top_jangkau(site) -> tuple[str, str]:
    row = site.scores.loc[site.scores["action"] == "JANGKAU"].sort_values("rank").iloc[0]
    name = site.evidence.set_index("coop_id").loc[row["coop_id"], "name"]
    return str(row["coop_id"]), str(name)


# ---------------------------------------------------------------- login
def test_a_page_without_a_session_goes_to_the_login(browser, site):
    context = browser.new_context(viewport=DESKTOP, base_url=site.url)
    page = context.new_page()
    page.goto("/koperasi/KOP-000120")
    assert re.search(r"/masuk\?next=/koperasi/KOP-000120$", page.url)
    assert page.get_by_role("heading", name="Masuk").is_visible()
    shoot(page, "login-desktop")
    page.set_viewport_size(PHONE)
    shoot(page, "login-phone")
    context.close()
    # no page, list or sheet without a session, whatever is asked
    for path in ("/", "/cari?q=a", "/daftar/bina", "/daftar/bina/unduh", "/tentang-model"):
        answer = httpx.get(site.url + path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/masuk"), path


def test_a_wrong_password_is_refused_and_the_right_one_lets_in(browser, site):
    context = browser.new_context(viewport=DESKTOP, base_url=site.url)
    page = context.new_page()
    page.goto("/masuk?next=/daftar/bina")
    page.get_by_label("Nama pengguna").fill("kadek")
    page.get_by_label("Kata sandi").fill("bukan-sandinya")
    page.get_by_role("button", name="Masuk").click()
    assert "Nama pengguna atau kata sandi salah" in page.locator("#login-message").inner_text()
    page.get_by_label("Kata sandi").fill(PASSWORDS["kadek"])
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/daftar/bina")
    assert "kadek" in page.locator(".who").inner_text()
    context.close()
    log = site.server.log.read_text()
    assert "bukan-sandinya" not in log and PASSWORDS["kadek"] not in log  # never a password
    assert "login (kepala)" in log and "failed login: wrong" in log
    assert "kadek" not in log  # nor a person's name: who signed in is in the record's events


def test_repeated_failures_pause_the_account(browser, site):
    context = browser.new_context(viewport=DESKTOP, base_url=site.url)
    page = context.new_page()
    page.goto("/masuk")
    for _ in range(MAX_FAILURES):
        page.get_by_label("Nama pengguna").fill("budi")
        page.get_by_label("Kata sandi").fill("salah-lagi")
        page.get_by_role("button", name="Masuk").click()
    assert "Terlalu banyak percobaan" in page.locator("#login-message").inner_text()
    page.get_by_label("Kata sandi").fill(PASSWORDS["budi"])  # even the right password waits out the pause
    page.get_by_role("button", name="Masuk").click()
    assert "Terlalu banyak percobaan" in page.locator("#login-message").inner_text()
    assert "/masuk" in page.url
    context.close()


# ---------------------------------------------------------------- search and profile
def test_search_by_partial_name_and_short_id(ani, site):
    coop_id, name = top_jangkau(site)
    word = max(name.split()[1:], key=len)  # a word of the name that is not the type
    partial = word[: max(3, len(word) - 2)].lower()
    ani.goto("/cari")
    ani.get_by_label("Nama atau ID koperasi").fill(partial)
    ani.keyboard.press("Enter")
    ani.wait_for_url("**/cari?q=*")
    assert ani.get_by_role("link", name=name).first.is_visible()
    shoot(ani, "search-desktop")

    number = int(coop_id.split("-")[-1])
    for query in (f"kop-{number}", f"KOP {number}"):
        ani.goto("/cari")
        ani.get_by_label("Nama atau ID koperasi").fill(query)
        ani.get_by_role("button", name="Cari", exact=True).click()
        first = ani.locator("table.data tbody tr").first
        assert coop_id in first.inner_text(), query

    # the kecamatan filter narrows to that kecamatan only
    district = site.evidence.set_index("coop_id").loc[coop_id, "district"]
    ani.goto("/cari")
    ani.get_by_label("Kecamatan").select_option(district)
    ani.get_by_role("button", name="Cari", exact=True).click()
    cells = ani.locator("table.data tbody td[data-label='Kecamatan']").all_inner_texts()
    assert cells and set(cells) == {district}


def test_a_profile_shows_the_risk_and_its_reasons(ani, site):
    coop_id, name = top_jangkau(site)
    ani.goto(f"/koperasi/{coop_id}")
    assert ani.get_by_role("heading", level=1).inner_text() == name
    row = site.scores.set_index("coop_id").loc[coop_id]
    assert ani.locator("#chance").inner_text().startswith(fmt.percent(row["p_sick_next"]))
    assert ani.locator("#action").inner_text() == "Jangkau sekarang"
    mine = reasons_of(site, coop_id, "risk")
    assert ani.locator("#reasons h3").all_inner_texts() == ["Alasan risiko (bidang klinik dulu)"]
    assert ani.locator("#reasons tbody td:first-child").all_inner_texts() == mine["text_id"].tolist()
    # each reason with the percentage points it adds, said as the report and the workbook say them
    shown = [p.strip() for p in ani.locator("#reasons tbody td.share").all_inner_texts()]
    assert shown == [f"({wording.points(p)})" for p in mine["points"]]
    reasons = ani.locator("#reasons").inner_text()
    assert "poin persen" in reasons and site.evidence.set_index("coop_id").loc[coop_id, "clinic_basis"] in reasons
    assert ani.locator("figure.chart-box svg").count() >= 5  # the years of health score and the key ratios
    assert "Perubahan sejak penilaian tahun lalu" in ani.content()
    shoot(ani, "profile-desktop")


def test_a_sick_profile_says_why_it_fell_sick_and_what_holds_recovery_back_in_both_languages(browser, site):
    coop_id = str(site.scores.loc[site.scores["action"] == "BINA"].sort_values("rank")["coop_id"].iloc[0])
    page = sign_in(browser, site, "kadek", target=f"?next=/koperasi/{coop_id}")
    titles = ["Penyebab sakit (bidang klinik dulu)", "Penghambat pemulihan", "Pendukung pemulihan"]
    assert page.locator("#reasons h3").all_inner_texts() == titles
    causes = page.locator("#reasons table[data-kind='risk'] tbody td:first-child").all_inner_texts()
    assert causes == reasons_of(site, coop_id, "risk")["text_id"].tolist()
    assert page.locator("#reasons table[data-kind='risk'] td.share").count() == 0  # no points: it is sick already
    for kind in ("recovery_hinders", "recovery_helps"):
        mine = reasons_of(site, coop_id, kind)
        cells = page.locator(f"#reasons table[data-kind='{kind}'] tbody td:first-child").all_inner_texts()
        assert cells == mine["text_id"].tolist()
    shoot(page, "profile-sick-desktop")
    page.get_by_role("link", name="English").click()
    titles_en = ["Why it fell sick (the clinic's area first)", "What holds recovery back", "What helps recovery"]
    assert page.locator("#reasons h3").all_inner_texts() == titles_en
    causes = page.locator("#reasons table[data-kind='risk'] tbody td:first-child").all_inner_texts()
    assert causes == reasons_of(site, coop_id, "risk")["text_en"].tolist()
    assert "percentage points" in page.locator("#reasons").inner_text()
    page.goto("/daftar/jangkau")
    headers = page.locator("table.sortable thead th").all_inner_texts()
    assert "Risk reasons (the clinic's area first)" in headers and "Why this clinic" in headers
    # the cells too: codes in English words, each reason in the English the batch output wrote
    assert set(page.locator("td[data-label='Health status']").all_inner_texts()) <= {"Healthy", "Not assessed"}
    assert set(page.locator("td[data-label='Clinic']").all_inner_texts()) <= {"Finance", "People", "Governance"}
    first = page.locator("table.sortable tbody tr").first
    coop_id = first.locator("td[data-label='Cooperative ID']").inner_text()
    reasons = first.locator("td.reasons-cell").inner_text()
    assert reasons_of(site, coop_id, "risk")["text_en"].iloc[0] in reasons
    shoot(page, "list-jangkau-english-desktop")
    page.context.close()


def test_no_page_shows_a_code_or_a_retired_word(ani, site):
    coop_id, _ = top_jangkau(site)
    for path in ("/", "/cari?q=a", f"/koperasi/{coop_id}", "/daftar/jangkau", "/daftar/bina", "/tentang-model"):
        ani.goto(path)
        words = ani.locator("main").inner_text()
        for retired in ("SEHAT_NOW", "SAKIT_NOW", "UNASSESSED", "BELUM_DINILAI", "Bagian", "pembagi nol", "nan"):
            assert not re.search(rf"(?<![A-Za-z_]){retired}(?![A-Za-z_])", words), (path, retired)


def test_a_cooperative_not_in_the_output_says_so(ani, site):
    answer = ani.goto("/koperasi/KOP-999999")
    assert answer.status == 404
    assert "tidak ada dalam hasil penilaian tahun buku 2024" in ani.locator("h1").inner_text()


# ---------------------------------------------------------------- lists
def test_filter_a_list_and_download_its_sheet(ani, site):
    bina = site.scores.loc[site.scores["action"] == "BINA"]
    clinic = bina["clinic"].value_counts().index[0]
    expected = set(bina.loc[bina["clinic"] == clinic, "coop_id"])
    ani.goto("/daftar/bina")
    ani.get_by_label("Klinik").select_option(clinic)
    ani.get_by_role("button", name="Saring").click()
    ids = ani.locator("table.sortable tbody td[data-label='ID koperasi']").all_inner_texts()
    assert set(ids) == expected
    shoot(ani, "list-bina-desktop")

    with ani.expect_download() as info:
        ani.locator("#download").click()
    book = openpyxl.load_workbook(io.BytesIO(open(info.value.path(), "rb").read()), read_only=True)
    assert book.sheetnames == ["Petunjuk", "Bina"]
    rows = list(book["Bina"].iter_rows(values_only=True))
    batch = openpyxl.load_workbook(site.out / "klinik-koperasi-2024.xlsx", read_only=True)
    assert rows[0] == next(batch["Bina"].iter_rows(values_only=True))  # the batch job's own sheet
    id_col = rows[0].index("ID koperasi")
    assert {r[id_col] for r in rows[1:]} == expected


def test_lists_sort_by_a_column(ani, site):
    ani.goto("/daftar/jangkau")
    ani.get_by_role("link", name="Peluang sakit tahun depan").click()
    ani.wait_for_url("**urut=*")
    header = ani.locator("th[aria-sort]")
    assert header.get_attribute("aria-sort") == "ascending"
    values = ani.locator("table.sortable tbody td[data-label='Peluang sakit tahun depan']").all_inner_texts()
    numbers = [float(v.replace("%", "").replace(",", ".")) for v in values]
    assert numbers == sorted(numbers)
    shoot(ani, "list-jangkau-desktop")


# ---------------------------------------------------------------- decisions
def test_a_decision_from_a_list_and_from_a_profile(ani, browser, site):
    ani.goto("/daftar/bina")
    before = int(ani.locator("#undecided").inner_text().split()[0])
    row = ani.locator("table.sortable tbody tr").first
    coop_id = row.locator("td[data-label='ID koperasi']").inner_text()
    row.get_by_label(f"Keputusan {coop_id}").select_option(label="dibina")
    row.get_by_role("button", name=f"Simpan {coop_id}").click()
    assert "disimpan: dibina" in ani.locator("#flash").inner_text()
    assert int(ani.locator("#undecided").inner_text().split()[0]) == before - 1
    ani.get_by_label("Hanya yang belum diputuskan").check()
    ani.get_by_role("button", name="Saring").click()
    assert coop_id not in ani.locator("table.sortable").inner_text()  # decided: off the "still to decide" view

    target, _ = top_jangkau(site)
    ani.goto(f"/koperasi/{target}")
    ani.get_by_label("Keputusan (Jangkau sekarang)").select_option(label="tidak perlu (wajib catatan)")
    ani.get_by_role("button", name="Simpan keputusan").click()
    assert "perlu catatan" in ani.locator("#flash").inner_text()  # the fixed list: this one needs its reason
    assert "Belum ada keputusan" in ani.locator("#decision-in-force").inner_text()
    ani.get_by_label("Keputusan (Jangkau sekarang)").select_option(label="tidak perlu (wajib catatan)")
    ani.get_by_label("Catatan (alasan)").fill("sudah dibina dinas provinsi")
    ani.get_by_role("button", name="Simpan keputusan").click()
    assert ani.locator("#decision-in-force").inner_text() == "tidak perlu"
    assert ani.locator("#decision h3").count() == 0  # a petugas sees the decision in force, not the history
    shoot(ani, "profile-decided-desktop")
    assert ani.goto("/riwayat").status == 403

    head = sign_in(browser, site, "kadek", target=f"?next=/koperasi/{target}")
    assert "Riwayat keputusan" in head.locator("#decision").inner_text()
    assert "sudah dibina dinas provinsi" in head.locator("#decision table").inner_text()
    head.goto("/riwayat")
    assert target in head.locator("main").inner_text() and coop_id in head.locator("main").inner_text()
    shoot(head, "audit-desktop")
    head.context.close()


# ---------------------------------------------------------------- the rest of the pages, and every page on a phone
def test_home_and_model_pages(ani, site):
    ani.goto("/")
    assert "tahun buku 2024" in ani.get_by_role("heading", level=1).inner_text()
    jangkau = int((site.scores["action"] == "JANGKAU").sum())
    assert ani.locator("li.action-jangkau .count").inner_text() == str(jangkau)
    assert get_settings().office_name in ani.locator("main").inner_text()  # whose run, as the report says
    shoot(ani, "home-desktop")
    ani.goto("/tentang-model")
    assert ani.locator("#model-risk").is_visible() and ani.locator("#model-recovery").is_visible()
    assert "perbandingan" in ani.locator("#model-risk").inner_text()
    assert ani.locator("#backtest table").is_visible()  # last year's run (2023) against this year's assessments
    shoot(ani, "model-desktop")


def test_every_page_on_a_phone(browser, site):
    coop_id, _ = top_jangkau(site)
    page = sign_in(browser, site, "kadek", viewport=PHONE)
    for name, path in (
        ("home", "/"),
        ("search", "/cari?q=a"),
        ("profile", f"/koperasi/{coop_id}"),
        ("list-jangkau", "/daftar/jangkau"),
        ("model", "/tentang-model"),
    ):
        page.goto(path)
        # nothing wider than the phone: the page scrolls down, never sideways
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
        shoot(page, f"{name}-phone")
    page.context.close()


def test_the_language_switch_and_the_friendly_404(browser, site):
    page = sign_in(browser, site, "kadek")
    answer = page.goto("/tidak/ada/di/sini")
    assert answer.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Halaman tidak ditemukan"
    assert "Traceback" not in page.content()
    shoot(page, "not-found-desktop")
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    page.goto("/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Latest scoring run")
    page.get_by_role("link", name="Bahasa Indonesia").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Hasil penilaian terakhir")
    page.context.close()


# ---------------------------------------------------------------- forms, logout, the API
def test_a_form_posted_without_the_csrf_token_is_refused(browser, site):
    page = sign_in(browser, site, "kadek")
    answer = page.request.post("/keluar", form={})
    assert answer.status == 403
    answer = page.request.post("/keluar", form={"csrf_token": "bukan-tokennya"})
    assert answer.status == 403
    page.goto("/")
    assert "kadek" in page.locator(".who").inner_text()  # still signed in: nothing was done
    answer = httpx.post(site.url + "/masuk", data={"username": "kadek", "password": PASSWORDS["kadek"]})
    assert answer.status_code == 403  # a login without the form's token does not sign in
    page.context.close()


def test_logout_ends_the_session(browser, site):
    page = sign_in(browser, site, "kadek")
    page.get_by_role("button", name="Keluar").click()
    assert "Anda sudah keluar" in page.locator("#login-message").inner_text()
    page.goto("/cari")
    assert "/masuk" in page.url
    page.context.close()


def test_the_json_api_keeps_its_api_key(site):
    assert httpx.post(site.url + "/lookup", json={"coop_ids": ["KOP-000001"]}).status_code == 401
    answer = httpx.post(
        site.url + "/lookup", json={"coop_ids": ["KOP-000001"]}, headers={"Authorization": f"Bearer {API_KEY}"}
    )
    assert answer.status_code in (200, 404) and answer.headers["content-type"].startswith("application/json")
