"""Every word the staff page shows, in Indonesian first and English second, in one place to review as a whole.

Templates call ``t("key")``; codes from the data (status, action, clinic) go through ``label``. The words the page
shares with the batch job's outputs (the codes, the lists' column headers, the reasons and how they are read, the
advice's disclaimer) come from klinik/wording.py, so the page, the workbook and the report say the same;
docs/wording.md lists these words with the others for review.
"""

from __future__ import annotations

from klinik import wording
from klinik.data.contract import CLINICS, HEALTH_CATEGORY_CODES, STATUS_V1, STATUSES
from klinik.models.policy import ACTION_LABELS

LANGS = ("id", "en")

# codes of the data in the words of the outputs (klinik/wording.py), so the page and the workbook say the same
STATUS = {code: wording.WORDS[f"status.{code}"] for code in STATUSES}
CLINIC = {code: wording.WORDS[f"clinic.{code}"] for code in CLINICS}
HEALTH_CATEGORY = {code: wording.WORDS[f"category.{code}"] for code in HEALTH_CATEGORY_CODES}
CASE_OUTCOME = {
    "PULIH": ("Pulih", "Recovered"),
    "BERLANJUT": ("Berlanjut", "Continuing"),
    "DIBUBARKAN": ("Dibubarkan", "Dissolved"),
}

# the record's account events, and their details, in words (an unknown kind or detail is shown as recorded)
EVENT_KIND = {
    "login": ("masuk", "signed in"),
    "logout": ("keluar", "signed out"),
    "login_failed": ("gagal masuk", "failed sign-in"),
    "login_paused": ("akun dijeda", "account paused"),
    "login_refused": ("masuk ditolak", "sign-in refused"),
    "user_added": ("akun dibuat", "account added"),
    "user_activated": ("akun diaktifkan", "account switched on"),
    "user_deactivated": ("akun dinonaktifkan", "account switched off"),
}
EVENT_DETAIL = {
    "wrong password": ("kata sandi salah", "wrong password"),
    "unknown name": ("nama tidak dikenal", "unknown name"),
    "account paused": ("akun sedang dijeda", "account paused"),
    "account inactive": ("akun tidak aktif", "account inactive"),
    "role petugas": ("peran petugas", "role petugas"),
    "role kepala": ("peran kepala", "role kepala"),
}

# the four lists: address -> (sheet of the workbook, Indonesian title, English title, what it holds)
LISTS = {
    "jangkau": ("Jangkau", "Jangkau", "Outreach", "JANGKAU"),
    "bina": ("Bina", "Bina", "Treatment", "BINA"),
    "pantau-ketat": ("Pantau Ketat", "Pantau ketat", "Close watch", "PANTAU_KETAT"),
    "pembubaran": ("Pertimbangan Pembubaran", "Pertimbangan pembubaran", "Closure review", "PERTIMBANGKAN_PEMBUBARAN"),
}
LIST_INTRO = {
    "jangkau": (
        "Koperasi sehat yang berisiko sakit tahun depan, urut dari peluang tertinggi, sebanyak kapasitas klinik.",
        "Healthy cooperatives at risk of falling sick next year, highest chance first, up to the clinic's capacity.",
    ),
    "bina": (
        "Koperasi sakit yang berpeluang pulih dalam dua tahun, per klinik.",
        "Sick cooperatives likely to recover within two years, by clinic.",
    ),
    "pantau-ketat": (
        "Koperasi sakit dengan peluang pulih lebih rendah: pantau dan nilai kembali.",
        "Sick cooperatives less likely to recover: watch closely and assess again.",
    ),
    "pembubaran": (
        "Koperasi yang lama sakit atau tidak mengadakan RAT, dengan buktinya. Hanya untuk ditinjau: pembubaran "
        "mengikuti UU 25/1992 Pasal 46-47 dan diputuskan oleh pejabat yang berwenang.",
        "Cooperatives long sick or without an RAT, with the evidence. For review only: dissolution follows UU 25/1992 "
        "art. 46-47 and is decided by the authorised official.",
    ),
}

# column headers of the lists (the workbook's Indonesian headers, klinik/wording.py) in English
HEADERS_EN = {pair[0]: pair[1] for key, pair in wording.WORDS.items() if key.startswith("col.")}
REASON_HEADERS = {wording.say(f"col.{c}") for c in ("reasons", "causes", "hinders", "helps")}  # long cells

T = {
    "app": ("Klinik Koperasi", "Klinik Koperasi"),
    "skip": ("Langsung ke isi", "Skip to content"),
    "nav_home": ("Beranda", "Home"),
    "nav_search": ("Cari", "Search"),
    "nav_lists": ("Daftar", "Lists"),
    "nav_model": ("Model", "Model"),
    "nav_main": ("Menu utama", "Main menu"),
    "switch_lang": ("English", "Bahasa Indonesia"),
    "logout": ("Keluar", "Log out"),
    "signed_in_as": ("Masuk sebagai", "Signed in as"),
    "role_petugas": ("petugas", "officer"),
    "role_kepala": ("kepala", "head"),
    "disclaimer": wording.WORDS["disclaimer"],
    # login
    "login_title": ("Masuk", "Sign in"),
    "login_intro": ("Masuk dengan akun petugas klinik.", "Sign in with your clinic staff account."),
    "username": ("Nama pengguna", "User name"),
    "password": ("Kata sandi", "Password"),
    "login_button": ("Masuk", "Sign in"),
    "login_failed": ("Nama pengguna atau kata sandi salah.", "Wrong user name or password."),
    "login_paused": (
        "Terlalu banyak percobaan yang gagal. Coba lagi dalam {seconds} detik.",
        "Too many failed attempts. Try again in {seconds} seconds.",
    ),
    "logged_out": ("Anda sudah keluar.", "You are signed out."),
    "csrf_failed": (
        "Formulir ini sudah kedaluwarsa atau tidak berasal dari halaman ini. Muat ulang halaman lalu coba lagi.",
        "This form has expired or did not come from this page. Reload the page and try again.",
    ),
    # home
    "home_title": ("Beranda", "Home"),
    "latest_run": ("Hasil penilaian terakhir", "Latest scoring run"),
    "office": ("Kantor", "Office"),
    "fiscal_year": ("Tahun buku", "Fiscal year"),
    "run_date": ("Tanggal penilaian", "Date of the run"),
    "models_used": ("Model yang dipakai", "Models used"),
    "coops_scored": ("Koperasi dinilai", "Cooperatives scored"),
    "per_action": ("Jumlah per rekomendasi", "Count per recommendation"),
    "open_list": ("Buka daftar", "Open the list"),
    "no_output": ("Belum ada hasil penilaian.", "No scoring output yet."),
    "no_output_how": (
        "Buat dengan perintah berikut, lalu muat ulang halaman ini:",
        "Make one with the command below, then reload this page:",
    ),
    "quick_search": ("Cari koperasi", "Find a cooperative"),
    "no_evidence": (
        "Hasil ini dibuat oleh versi lama: nama dan kecamatan tidak tersedia. Jalankan klinik score sekali lagi.",
        "This output was written by an older version: names and kecamatan are missing. Run klinik score again.",
    ),
    # search
    "search_title": ("Cari koperasi", "Find a cooperative"),
    "search_label": ("Nama atau ID koperasi", "Name or id of the cooperative"),
    "search_hint": ("Contoh: artha, KOP-120, 120", "For example: artha, KOP-120, 120"),
    "district": ("Kecamatan", "Kecamatan"),
    "coop_type": ("Jenis", "Type"),
    "clinic": ("Klinik", "Clinic"),
    "all": ("Semua", "All"),
    "search_button": ("Cari", "Search"),
    "results": ("{n} koperasi ditemukan", "{n} cooperatives found"),
    "results_first": ("{n} koperasi ditemukan; {shown} pertama ditampilkan", "{n} found; the first {shown} shown"),
    "no_results": (
        "Tidak ada koperasi yang cocok. Periksa ejaan, atau cari dengan sebagian nama saja.",
        "No cooperative matches. Check the spelling, or search with part of the name.",
    ),
    "name": ("Nama", "Name"),
    "id": ("ID", "Id"),
    "status": ("Status", "Status"),
    "risk": ("Peluang", "Chance"),
    "action": ("Rekomendasi", "Recommendation"),
    "p_sick_short": ("sakit tahun depan", "sick next year"),
    "p_recover_short": ("pulih dalam 2 tahun", "recovers within 2 years"),
    # profile
    "profile": ("Profil koperasi", "Cooperative profile"),
    "not_in_output": (
        "Koperasi {coop_id} tidak ada dalam hasil penilaian tahun buku {year}.",
        "Cooperative {coop_id} is not in the scoring output for fiscal year {year}.",
    ),
    "not_in_output_why": (
        "Mungkin ID-nya salah ketik, koperasi ini sudah bubar, atau baru terdaftar setelah tahun itu.",
        "The id may be mistyped, the cooperative dissolved, or registered after that year.",
    ),
    "identity": ("Identitas", "Identity"),
    "founded": ("Berdiri", "Founded"),
    "dissolved": ("Bubar", "Dissolved"),
    "status_now": ("Status sekarang", "Status now"),
    "last_assessment": ("Penilaian terakhir", "Latest assessment"),
    "health_score": ("Skor kesehatan", "Health score"),
    "chance_sick": ("Peluang sakit tahun depan", "Chance of falling sick next year"),
    "chance_recover": ("Peluang pulih dalam 2 tahun", "Chance of recovering within 2 years"),
    "chance_words_sick": (
        "{words} koperasi dengan keadaan seperti ini masuk pengawasan tahun depan.",
        "{words} cooperatives in this state come under supervision next year.",
    ),
    "chance_words_recover": (
        "{words} koperasi sakit dengan keadaan seperti ini kembali sehat dalam dua tahun.",
        "{words} sick cooperatives in this state are healthy again within two years.",
    ),
    "level_high": ("tinggi", "high"),
    "level_mid": ("sedang", "moderate"),
    "level_low": ("rendah", "low"),
    "recommendation": ("Rekomendasi", "Recommendation"),
    "clinic_for": ("Klinik", "Clinic"),
    "rank": ("Urutan jangkauan", "Outreach rank"),
    "reasons": ("Alasan utama", "Main reasons"),
    "reasons_sick_intro": (
        "Penyebab: mengapa koperasi ini jatuh sakit (model risiko; menentukan klinik). Penghambat dan pendukung "
        "pemulihan: dari model pemulihan, yang menghitung peluang pulih di atas.",
        "Causes: why this cooperative fell sick (the risk model; it chooses the clinic). What holds recovery back "
        "and what helps it: from the recovery model, which gives the chance of recovering above.",
    ),
    "reason": ("Alasan", "Reason"),
    "points": ("Poin", "Points"),
    "group": ("Bidang", "Area"),
    "group_CONTEXT": ("Keadaan umum", "Context"),
    "clinic_basis": wording.WORDS["col.clinic_basis"],
    "over_years": ("Perjalanan dari tahun ke tahun", "Over the years"),
    "history_loading": (
        "Riwayat koperasi belum dapat ditampilkan: {why}",
        "The cooperative's history cannot be shown: {why}",
    ),
    "history_none": ("data tidak tersedia", "the data is not available"),
    "history_wait": (
        "data koperasi masih dibaca setelah sistem dinyalakan; muat ulang halaman ini sebentar lagi",
        "the records are still being read after the start; reload this page in a moment",
    ),
    "chart_health": ("Skor kesehatan (penilaian dinas)", "Health score (office's assessment)"),
    "chart_bad_loan_ratio": ("Pinjaman bermasalah", "Bad loans"),
    "chart_equity_to_assets": ("Modal sendiri terhadap aset", "Equity to assets"),
    "chart_cash_ratio": ("Rasio kas (likuiditas)", "Cash ratio (liquidity)"),
    "chart_staff_departure_rate": ("Turnover karyawan", "Staff turnover"),
    "chart_employees": ("Jumlah karyawan", "Employees"),
    "chart_rat_held": ("RAT tahun buku diadakan", "RAT of the book year held"),
    "healthy_band": ("Pita hijau: rentang sehat.", "Green band: the healthy range."),
    "rat_history": ("Riwayat RAT", "RAT history"),
    "rat_year": ("Tahun buku", "Book year"),
    "rat_held_on": ("Diadakan", "Held on"),
    "rat_attendees": ("Hadir", "Present"),
    "rat_on_time": ("Tepat waktu?", "On time?"),
    "rat_late_days": ("terlambat {days} hari dari batas dinas", "{days} days after the office's deadline"),
    "rat_ok": ("tepat waktu", "on time"),
    "rat_missing": ("Tidak ada RAT untuk tahun buku: {years}", "No RAT for book years: {years}"),
    "rat_none": ("Tidak ada catatan RAT.", "No RAT on record."),
    "cases": ("Kasus klinik", "Clinic cases"),
    "case_opened": ("Dibuka", "Opened"),
    "case_closed": ("Ditutup", "Closed"),
    "case_outcome": ("Hasil", "Outcome"),
    "case_open": ("masih berjalan", "still open"),
    "cases_none": ("Belum pernah ditangani klinik.", "Never treated by the clinic."),
    "changes": ("Perubahan sejak penilaian tahun lalu", "Changes since last year's run"),
    "changes_none": (
        "Tidak ada hasil penilaian tahun lalu untuk dibandingkan.",
        "There is no run of last year to compare with.",
    ),
    "changes_new": (
        "Koperasi ini tidak ada dalam penilaian tahun lalu.",
        "This cooperative was not in last year's run.",
    ),
    "last_year": ("Tahun lalu", "Last year"),
    "this_year": ("Tahun ini", "This year"),
    "about_data": ("Tentang data ini", "About this data"),
    "data_year": ("Data tahun buku {year}, dinilai {date}", "Data of fiscal year {year}, scored on {date}"),
    "data_source": ("Sumber data", "Data source"),
    "print": ("Cetak", "Print"),
    # lists
    "lists_title": ("Daftar", "Lists"),
    "filter": ("Saring", "Filter"),
    "reset": ("Hapus saringan", "Clear filters"),
    "download": ("Unduh lembar Excel", "Download the Excel sheet"),
    "rows": ("{n} koperasi", "{n} cooperatives"),
    "rows_of": ("{n} dari {total} koperasi", "{n} of {total} cooperatives"),
    "list_empty": ("Tidak ada koperasi dalam daftar ini tahun ini.", "No cooperative is on this list this year."),
    "list_filtered_empty": (
        "Tidak ada koperasi yang cocok dengan saringan ini.",
        "No cooperative matches the filters.",
    ),
    "sort_by": ("Urutkan menurut {col}", "Sort by {col}"),
    "next_to_call": ("Berikutnya untuk dihubungi", "Next to call"),
    "next_to_call_intro": (
        "Jika klinik masih punya waktu: koperasi sehat berikutnya menurut peluang sakit, sampai kapasitas {capacity}.",
        "If the clinic has room: the next healthy cooperatives by chance of falling sick, up to the capacity of "
        "{capacity}.",
    ),
    "shown_first": (
        "{shown} baris pertama ditampilkan; unduh lembarnya untuk semua.",
        "The first {shown} rows are shown; download the sheet for all of them.",
    ),
    # model
    "model_title": ("Model", "Model"),
    "model_intro": (
        "Dua model dipakai: satu memperkirakan peluang koperasi sehat menjadi sakit tahun depan, satu lagi peluang "
        "koperasi sakit pulih dalam dua tahun.",
        "Two models are used: one estimates the chance that a healthy cooperative falls sick next year, the other "
        "the chance that a sick one recovers within two years.",
    ),
    "model_risk": ("Model risiko sakit", "Risk model"),
    "model_recovery": ("Model pemulihan", "Recovery model"),
    "version": ("Versi", "Version"),
    "trained_on": ("Dilatih", "Trained"),
    "holdout": (
        "Diuji pada tahun {year} (data yang tidak dipakai untuk melatih)",
        "Tested on {year} (data not used for training)",
    ),
    "event_sick": ("sakit", "fell sick"),
    "event_recover": ("pulih", "recovered"),
    "roc_words": (
        "Dari dua koperasi, satu yang kemudian {event} dan satu yang tidak, model memberi peluang lebih tinggi "
        "kepada yang pertama pada {pct} perbandingan.",
        "Of two cooperatives, one that later {event} and one that did not, the model gave the higher chance to "
        "the first in {pct} of the comparisons.",
    ),
    "precision_words_risk": (
        "Dari 10 koperasi di puncak daftar paling berisiko (sebanyak kapasitas klinik), sekitar {n} benar-benar "
        "sakit tahun berikutnya.",
        "Of 10 cooperatives at the top of the risk list (as many as the clinic can reach), about {n} really fell "
        "sick the next year.",
    ),
    "precision_words_recovery": (
        "Dari 10 koperasi sakit di puncak daftar paling berpeluang pulih, sekitar {n} benar-benar pulih dalam dua "
        "tahun.",
        "Of 10 sick cooperatives at the top of the recovery list, about {n} really recovered within two years.",
    ),
    "recall_words": (
        "Daftar teratas itu memuat {pct} dari semua koperasi yang kemudian {event}.",
        "That top list held {pct} of all the cooperatives that later {event}.",
    ),
    "calibration_good_risk": (
        "Peluang yang disebut model dapat dibaca apa adanya: dari 10 koperasi yang kami sebut berisiko 30%, sekitar "
        "3 benar-benar sakit tahun berikutnya (rata-rata selisih pada data uji: {points} poin persen).",
        "The chances the model gives can be read as they are: of 10 cooperatives we call 30% at risk, about 3 "
        "really fall sick the next year (average gap on the test data: {points} percentage points).",
    ),
    "calibration_good_recovery": (
        "Peluang yang disebut model dapat dibaca apa adanya: dari 10 koperasi sakit yang kami sebut berpeluang "
        "pulih 50%, sekitar 5 benar-benar pulih (rata-rata selisih pada data uji: {points} poin persen).",
        "The chances the model gives can be read as they are: of 10 sick cooperatives we give a 50% chance of "
        "recovery, about 5 really recover (average gap on the test data: {points} percentage points).",
    ),
    "calibration_rough": (
        "Peluang yang disebut model meleset rata-rata {points} poin persen dari yang terjadi pada data uji: bacalah "
        "sebagai urutan (siapa lebih dulu), bukan sebagai angka pasti.",
        "The chances the model gives were off by {points} percentage points on average on the test data: read them "
        "as an order (who comes first), not as exact figures.",
    ),
    "watch": ("Apakah model masih sesuai?", "Does the model still fit?"),
    "watch_advised": ("Pelatihan ulang disarankan.", "Retraining is advised."),
    "watch_why": (
        "Model risiko mengurutkan koperasi tahun buku {year} dengan ROC AUC {now}, lebih dari {margin} di bawah "
        "{then} pada data uji saat didaftarkan; {hits} dari {k} koperasi di daftar jangkau tahun itu jatuh sakit. "
        "Mintalah tim data melatih ulang model (klinik train).",
        "The risk model ranked the cooperatives of fiscal year {year} with ROC AUC {now}, more than {margin} below "
        "the {then} of its test at registration; {hits} of the {k} cooperatives on that year's outreach list fell "
        "sick. Ask the data team to retrain the model (klinik train).",
    ),
    "watch_fine": (
        "Prediksi tahun buku {year} setepat ujinya: ROC AUC {now} (saat didaftarkan {then}); {hits} dari {k} "
        "koperasi di daftar jangkau jatuh sakit. Pelatihan ulang belum perlu.",
        "The predictions for fiscal year {year} were as good as its test: ROC AUC {now} (at registration {then}); "
        "{hits} of the {k} cooperatives on the outreach list fell sick. No retraining needed yet.",
    ),
    "watch_drift": (
        "Data tahun ini bergeser dari data pelatihan pada: {features}. Periksa datanya; bila benar, model mungkin "
        "perlu dilatih ulang.",
        "This year's data moved away from the training data in: {features}. Check the data; if it is right, the "
        "model may need retraining.",
    ),
    "watch_no_drift": ("Data tahun ini serupa data pelatihan.", "This year's data is like the training data."),
    "backtest": ("Ketepatan prediksi tahun lalu", "How last year's predictions turned out"),
    "backtest_none": (
        "Belum ada penilaian tahun lalu beserta hasil penilaian kesehatan tahun ini untuk dibandingkan.",
        "There is no run of last year with this year's health assessments to compare.",
    ),
    "backtest_intro": (
        "Penilaian tahun buku {year} dibandingkan dengan status koperasi yang dinilai pada tahun buku {next}.",
        "The run for fiscal year {year} against the cooperatives' status assessed for fiscal year {next}.",
    ),
    "bt_group": ("Kelompok menurut peluang tahun lalu", "Group by last year's chance"),
    "bt_count": ("Koperasi", "Cooperatives"),
    "bt_predicted": ("Rata-rata peluang", "Average chance"),
    "bt_sick": ("Yang sakit", "Fell sick"),
    "bt_rate": ("Persentase sakit", "Share sick"),
    "bt_jangkau": (
        "Dari {n} koperasi yang tahun lalu masuk daftar Jangkau, {sick} kini sakit ({pct}).",
        "Of the {n} cooperatives on last year's outreach list, {sick} are sick now ({pct}).",
    ),
    "bt_all": (
        "Dari semua {n} koperasi sehat yang dinilai lagi, {sick} kini sakit ({pct}).",
        "Of all {n} healthy cooperatives assessed again, {sick} are sick now ({pct}).",
    ),
    "bt_gone": (
        "{n} koperasi tidak ada lagi dalam penilaian (bubar).",
        "{n} cooperatives are no longer scored (dissolved).",
    ),
    "no_model_info": ("Keterangan model tidak tersedia.", "No information on the models."),
    # decisions
    "decisions": ("Keputusan petugas", "Officer's decision"),
    "decision_in_force": ("Keputusan yang berlaku", "Decision in force"),
    "decision_none": ("Belum ada keputusan untuk rekomendasi ini.", "No decision on this advice yet."),
    "decision_by": ("oleh {officer}, {when}", "by {officer}, {when}"),
    "decision_label": ("Keputusan", "Decision"),
    "decision_choose": ("Pilih keputusan", "Choose a decision"),
    "decision_note": ("Catatan (alasan)", "Note (the reason)"),
    "decision_note_needed": ("wajib catatan", "note required"),
    "decision_save": ("Simpan keputusan", "Save the decision"),
    "decision_save_short": ("Simpan", "Save"),
    "decision_change": ("Ubah keputusan", "Change the decision"),
    "decision_history": ("Riwayat keputusan (semua versi)", "Decision history (every version)"),
    "decision_version": ("Versi", "Version"),
    "decision_source": ("Sumber", "Source"),
    "decision_saved": ("Keputusan untuk {coop_id} disimpan: {decision}.", "Decision on {coop_id} saved: {decision}."),
    "decision_same": (
        "Keputusan untuk {coop_id} sama dengan yang berlaku ({decision}); tidak ada yang diubah.",
        "The decision on {coop_id} is the one in force ({decision}); nothing changed.",
    ),
    "decision_pick": ("Pilih keputusan dari daftar.", "Choose a decision from the list."),
    "decision_needs_note": (
        "Keputusan '{decision}' perlu catatan berisi alasannya.",
        "The decision '{decision}' needs a note giving the reason.",
    ),
    "decision_note_long": (
        "Catatan terlalu panjang: paling banyak {n} karakter.",
        "The note is too long: at most {n} characters.",
    ),
    "decision_not_saved": (
        "Keputusan tidak dapat disimpan. Coba lagi, atau hubungi pengelola sistem.",
        "The decision could not be saved. Try again, or contact the system administrator.",
    ),
    "undecided_only": ("Hanya yang belum diputuskan", "Only those without a decision"),
    "undecided_count": ("{n} belum diputuskan", "{n} without a decision"),
    "no_decision_yet": ("belum ada", "none yet"),
    "audit_title": ("Jejak audit", "Audit trail"),
    "audit_intro": (
        "Semua keputusan yang dicatat (terbaru dulu) dan kejadian masuk/keluar. Tidak ada yang dapat diubah atau "
        "dihapus: perubahan dicatat sebagai versi baru.",
        "Every decision recorded (newest first) and the sign-in events. Nothing can be changed or deleted: a change "
        "is recorded as a new version.",
    ),
    "audit_events": ("Kejadian akun", "Account events"),
    "audit_when": ("Waktu", "When"),
    "audit_kind": ("Kejadian", "Event"),
    "audit_who": ("Pengguna", "User"),
    "audit_detail": ("Keterangan", "Detail"),
    "audit_only_kepala": ("Halaman ini hanya untuk kepala klinik.", "This page is for the head of the clinic only."),
    "nav_audit": ("Jejak audit", "Audit trail"),
    # errors
    "not_found_title": ("Halaman tidak ditemukan", "Page not found"),
    "not_found_text": (
        "Alamat ini tidak ada. Kembali ke Beranda atau cari koperasi yang Anda maksud.",
        "This address does not exist. Go back home or search for the cooperative you mean.",
    ),
    "error_title": ("Terjadi kesalahan", "Something went wrong"),
    "error_text": (
        "Halaman ini tidak dapat ditampilkan karena kesalahan di sistem. Sudah dicatat; coba lagi sebentar lagi "
        "atau hubungi pengelola sistem.",
        "This page cannot be shown because of an error in the system. It has been logged; try again shortly or "
        "contact the system administrator.",
    ),
    "unavailable_title": ("Catatan keputusan sedang tidak dapat dipakai", "The decision record is unavailable"),
    "unavailable_text": (
        "Basis data catatan keputusan tidak dapat dihubungi atau dibaca saat ini, sehingga halaman ini tidak dapat "
        "dibuka dan keputusan tidak dapat disimpan. Coba lagi sebentar lagi, atau hubungi pengelola sistem.",
        "The database of the decision record cannot be reached or read right now, so this page cannot be opened and "
        "no decision can be saved. Try again shortly, or contact the system administrator.",
    ),
    "back_home": ("Kembali ke Beranda", "Back to home"),
    "yes": ("ya", "yes"),
    "no": ("tidak", "no"),
}


def t(key: str, lang: str = "id", **values) -> str:
    text = T[key][0 if lang == "id" else 1]
    return text.format(**values) if values else text


def label(kind: dict, code, lang: str = "id") -> str:
    """A code of the data in words; an unknown code is shown as it is."""
    if code is None or code != code:
        return "–"
    pair = kind.get(str(code))
    return pair[0 if lang == "id" else 1] if pair else str(code)


def status_label(code, lang: str = "id") -> str:
    return label(STATUS, STATUS_V1.get(str(code), code), lang)


def status_code(code) -> str:
    """The v1.1 status code of a code written by any version."""
    return STATUS_V1.get(str(code), str(code))


def action_label(code, lang: str = "id") -> str:
    return label(ACTION_LABELS, code, lang)


def header(col: str, lang: str = "id") -> str:
    return col if lang == "id" else HEADERS_EN.get(col, col)
