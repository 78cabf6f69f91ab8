"""Every word clinic staff read in the outputs, in Indonesian and English, in one place to be reviewed as a whole.

The report, the workbook, the reasons and the labels of codes take their words from ``WORDS`` (key -> (Indonesian,
English)) through :func:`say`; a feature's own name and sentences stay beside its group and unit in
features/catalog.py, and the data checks' messages in data/messages.py. docs/wording.md lists all three for review
(``python -m klinik.wording_doc --out docs/wording.md``; a test holds the page current).

Numbers follow the language: Indonesian writes ``12,5%`` and ``1.250.000`` (decimal comma, dot for thousands),
English ``12.5%`` and ``1,250,000``. Use :func:`number`, :func:`percent` and :func:`points`, never ``f"{x:.1%}"``.

This module imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

import datetime as dt
import math

LANGS = ("id", "en")

WORDS: dict[str, tuple[str, str]] = {
    # --- codes -----------------------------------------------------------------------------------------------
    "status.SEHAT": ("Sehat", "Healthy"),
    "status.SAKIT": ("Sakit (dalam pengawasan)", "Sick (under supervision)"),
    "status.BELUM_DINILAI": ("Belum dinilai", "Not assessed"),
    "action.JANGKAU": ("Jangkau sekarang", "Reach out now"),
    "action.PANTAU": ("Pantau", "Watch"),
    "action.BINA": ("Bina", "Treat"),
    "action.PANTAU_KETAT": ("Pantau ketat", "Close watch"),
    "action.PERTIMBANGKAN_PEMBUBARAN": ("Pertimbangkan pembubaran", "Consider closure"),
    "clinic.KEUANGAN": ("Keuangan", "Finance"),
    "clinic.SDM": ("SDM", "People"),
    "clinic.KELEMBAGAAN": ("Kelembagaan", "Governance"),
    "category.SEHAT": ("Sehat", "Healthy"),
    "category.CUKUP_SEHAT": ("Cukup Sehat", "Fairly healthy"),
    "category.DALAM_PENGAWASAN": ("Dalam Pengawasan", "Under supervision"),
    "category.DALAM_PENGAWASAN_KHUSUS": ("Dalam Pengawasan Khusus", "Under special supervision"),
    # --- the advice ----------------------------------------------------------------------------------------------
    "disclaimer": (
        "Rekomendasi untuk dipertimbangkan petugas klinik, bukan keputusan. Keputusan (termasuk usulan pembubaran, "
        "UU 25/1992 Pasal 46-47) selalu diambil oleh orang yang berwenang setelah memeriksa koperasinya.",
        "Recommendations for a clinic officer to consider, not decisions. A person with the authority decides "
        "(including any proposal to dissolve, UU 25/1992 art. 46-47) after looking at the cooperative.",
    ),
    # --- how sure a chance is (models/intervals.py, models/policy.py) ---
    "interval.range": ("kisaran 80%: {span}", "80% range: {span}"),
    "interval.chance": ("{p} ({range})", "{p} ({range})"),
    "interval.meaning": (
        "Kisaran 80%: dari sepuluh koperasi dengan kisaran seperti ini, sekitar delapan peluang sebenarnya ada di "
        "dalamnya. Kisaran lebar berarti model punya sedikit data tentang koperasi seperti ini.",
        "80% range: of ten cooperatives with a range like this, about eight have their true chance inside it. A "
        "wide range means the model has seen little data on cooperatives like this one.",
    ),
    "advice.uncertain_closure": (
        "Perkiraan belum pasti: kisaran 80% peluang pulih ({span}) melintasi batas pertimbangan pembubaran "
        "({threshold}). Yang akan memastikan: laporan keuangan tahun buku berikutnya dan RAT-nya.",
        "The estimate is uncertain: the 80% range of the chance of recovering ({span}) crosses the closure "
        "review line ({threshold}). What would settle it: next book year's financial statement and its RAT.",
    ),
    "advice.uncertain_bina": (
        "Perkiraan belum pasti: kisaran 80% peluang pulih ({span}) melintasi batas pembinaan ({threshold}). "
        "Yang akan memastikan: laporan keuangan tahun buku berikutnya dan RAT-nya; kunjungan klinik dapat "
        "menjelaskan lebih cepat.",
        "The estimate is uncertain: the 80% range of the chance of recovering ({span}) crosses the treatment "
        "line ({threshold}). What would settle it: next book year's financial statement and its RAT; a clinic "
        "visit can tell sooner.",
    ),
    # --- reasons: how they are read ------------------------------------------------------------------------------
    "reason.none": ("tidak ada faktor risiko yang menonjol", "no risk factor stands out"),
    "reason.none_recovery_hinders": ("tidak ada penghambat yang menonjol", "nothing stands out as holding it back"),
    "reason.none_recovery_helps": ("tidak ada pendukung yang menonjol", "nothing stands out as helping"),
    "reason.points_up": ("+{n} poin", "+{n} points"),
    "reason.points_down": ("−{n} poin", "−{n} points"),
    "reason.points_small": ("kurang dari 1 poin", "under 1 point"),
    "reason.points_risk_meaning": (
        "Angka dalam kurung: berapa poin persen peluang sakit tahun depan naik karena faktor itu, dibanding "
        "koperasi pada umumnya (peluang 45% dengan faktor +6 poin: tanpa faktor itu sekitar 39%).",
        "The number in brackets: how many percentage points the factor adds to the chance of falling sick next "
        "year, against a typical cooperative (45% with a factor at +6 points: about 39% without it).",
    ),
    "reason.points_recovery_meaning": (
        "Angka dalam kurung: berapa poin persen faktor itu menurunkan (−) atau menaikkan (+) peluang pulih dalam "
        "dua tahun, dibanding koperasi sakit pada umumnya.",
        "The number in brackets: how many percentage points the factor takes from (−) or adds to (+) the chance "
        "of recovering within two years, against a typical sick cooperative.",
    ),
    "reason.clinic_first": (
        "Alasan dari bidang klinik yang dipilih disebut lebih dulu; klinik dipilih dari bidang (keuangan, SDM, "
        "kelembagaan) yang faktor-faktornya paling menaikkan risiko.",
        "Reasons from the chosen clinic's area come first; the clinic is the area (finance, people, governance) "
        "whose factors raise the risk the most.",
    ),
    "reason.join": ("; ", "; "),
    "reason.no_area": ("tidak ada bidang yang menaikkan risiko", "no area raises the risk"),
    # --- reasons: what they say (features/catalog.py and models/facts.py fill them in) ---------------------------
    "fact.band_at_most": ("batas sehat: paling tinggi {hi}", "healthy: at most {hi}"),
    "fact.band_above": ("batas sehat: lebih dari {lo}", "healthy: above {lo}"),
    "fact.band_between": ("batas sehat: lebih dari {lo} sampai {hi}", "healthy: above {lo} up to {hi}"),
    "fact.over_band": ("{label} di atas batas sehat", "{label} above the healthy range"),
    "fact.under_band": ("{label} di bawah batas sehat", "{label} below the healthy range"),
    "fact.in_band": ("{label} dalam batas sehat", "{label} within the healthy range"),
    "fact.rising": ("{label} naik", "{label} rising"),
    "fact.falling": ("{label} turun", "{label} falling"),
    "fact.level": ("{label} {value} ({band})", "{label} {value} ({band})"),
    "why.cash_ratio.over": ("kelebihan kas menganggur", "idle cash"),
    "why.equity_to_assets.over": ("modal belum dimanfaatkan untuk usaha", "equity not put to work"),
    "fact.change_1": ("{updown} {amount} dalam setahun", "{updown} {amount} in a year"),
    "fact.change_k": ("{updown} {amount} dalam {k} tahun", "{updown} {amount} in {k} years"),
    "fact.change_both": (
        "{updown} {amount1} dalam setahun dan {amount3} dalam 3 tahun",
        "{updown} {amount1} in a year and {amount3} in 3 years",
    ),
    "fact.up": ("naik", "up"),
    "fact.down": ("turun", "down"),
    "fact.prev_value": ("tahun lalu {value}", "last year {value}"),
    "fact.prev_level": ("tahun lalu {label} {value} ({band})", "last year {label} {value} ({band})"),
    "fact.prev_label": ("tahun lalu: {label}", "last year: {label}"),
    "fact.pct_points": ("{n} poin", "{n} points"),
    "fact.no_fs": ("laporan keuangan {year} tidak ada", "no financial statement for {year}"),
    "fact.no_fs_ratios": (
        "laporan keuangan {year} tidak ada, jadi rasio keuangannya tidak dapat dihitung",
        "no financial statement for {year}, so its financial ratios cannot be computed",
    ),
    "fact.fs_filed": ("laporan keuangan {year} ada", "financial statement for {year} filed"),
    "fact.no_sr": ("laporan SDM {year} tidak ada", "no staffing report for {year}"),
    "fact.sr_filed": ("laporan SDM {year} ada", "staffing report for {year} filed"),
    "fact.net_loss": ("koperasi merugi (SHU {year} negatif)", "made a loss (negative surplus in {year})"),
    "fact.no_loss": ("SHU {year} tidak negatif", "no loss in {year}"),
    "fact.negative_equity": ("modal sendiri negatif", "equity is negative"),
    "fact.positive_equity": ("modal sendiri positif", "equity is positive"),
    "fact.balance_gap": (
        "neraca tidak seimbang: selisih {value} dari aset (batas 1%)",
        "balance sheet does not balance: a gap of {value} of assets (limit 1%)",
    ),
    "fact.assets_shrink": ("aset menyusut {value} dalam {k} tahun", "assets shrank {value} in {k} years"),
    "fact.assets_grow": ("aset tumbuh {value} dalam {k} tahun", "assets grew {value} in {k} years"),
    "fact.official_score": (
        "skor kesehatan hitungan rasio {value}, predikat {category} (Sehat: 80 ke atas)",
        "health score from the ratios {value}, category {category} (healthy: 80 and above)",
    ),
    "fact.official_category": (
        "predikat kesehatan hitungan rasio: {category} (Sehat: skor 80 ke atas)",
        "category from the ratios: {category} (healthy: score 80 and above)",
    ),
    "fact.no_board": ("tidak ada pengurus tercatat", "no board member recorded"),
    "fact.no_supervisors": ("tidak ada pengawas tercatat", "no supervisor recorded"),
    "fact.no_manager": ("tidak ada manajer profesional", "no hired manager"),
    "fact.has_manager": ("ada manajer profesional", "has a hired manager"),
    "fact.also_last_year": ("{text} (juga tahun lalu)", "{text} (last year too)"),
    "fact.no_certified": (
        "tidak ada pengurus atau karyawan bersertifikat",
        "no board member or employee holds a competency certificate",
    ),
    "fact.certified": (
        "{value} pengurus dan karyawan bersertifikat",
        "{value} of board and staff hold a competency certificate",
    ),
    "fact.no_training": (
        "tidak ada pengurus atau karyawan yang dilatih tahun {year}",
        "no board member or employee trained in {year}",
    ),
    "fact.training": (
        "{value} pengurus dan karyawan dilatih tahun {year}",
        "{value} of board and staff trained in {year}",
    ),
    "fact.turnover": (
        "turnover karyawan {value} tahun {year} ({n} karyawan keluar, tanda peringatan: lebih dari 25%)",
        "staff turnover {value} in {year} ({n} employees left, warning sign: over 25%)",
    ),
    "fact.no_turnover": ("tidak ada karyawan keluar tahun {year}", "no employee left in {year}"),
    "fact.rat_not_held": (
        "RAT tahun buku {year} belum diadakan sampai batas waktu dinas",
        "no annual members' meeting (RAT) for book year {year} by the office's deadline",
    ),
    "fact.rat_missed": (
        "RAT tidak diadakan {n} tahun berturut-turut",
        "no annual members' meeting (RAT) for {n} years running",
    ),
    "fact.rat_held": ("RAT tahun buku {year} diadakan", "annual members' meeting (RAT) for {year} held"),
    "fact.rat_late": (
        "RAT tahun buku {year} terlambat {n} hari dari batas waktu {which}",
        "the RAT for book year {year} came {n} days after the {which} deadline",
    ),
    "fact.rat_on_time": ("RAT tahun buku {year} tepat waktu", "the RAT for book year {year} was on time"),
    "fact.deadline_office": ("dinas", "office's"),
    "fact.deadline_legal": ("undang-undang", "legal"),
    "fact.rat_attendance_low": (
        "kehadiran anggota di RAT {value} (kurang dari separuh anggota)",
        "members attending the RAT {value} (under half the members)",
    ),
    "fact.rat_attendance_ok": ("kehadiran anggota di RAT {value}", "members attending the RAT {value}"),
    "fact.board_meetings_none": (
        "tidak ada rapat pengurus tahun {year} (seharusnya paling sedikit 4, sekali per triwulan)",
        "no board meeting in {year} (at least 4 expected, one a quarter)",
    ),
    "fact.board_meetings_few": (
        "hanya {n} rapat pengurus tahun {year} (seharusnya paling sedikit 4, sekali per triwulan)",
        "only {n} board meetings in {year} (at least 4 expected, one a quarter)",
    ),
    "fact.board_meetings_ok": ("{n} rapat pengurus tahun {year}", "{n} board meetings in {year}"),
    "fact.supervisory_none": ("tidak ada rapat pengawas tahun {year}", "no supervisory meeting in {year}"),
    "fact.supervisory_ok": ("{n} rapat pengawas tahun {year}", "{n} supervisory meetings in {year}"),
    "fact.members_shrink": ("anggota berkurang {value} dalam {k} tahun", "members fell by {value} in {k} years"),
    "fact.members_grow": ("anggota bertambah {value} dalam {k} tahun", "members grew by {value} in {k} years"),
    "fact.never_assessed": ("belum pernah dinilai kesehatannya", "never had a health assessment"),
    "fact.no_weakness": ("tidak ada tanda kelemahan {clinic}", "no {clinic} warning sign"),
    "fact.years_sick_long": (
        "sudah {n} tahun berturut-turut dalam pengawasan",
        "under supervision for {n} years running",
    ),
    "fact.years_sick_short": ("baru {n} tahun dalam pengawasan", "under supervision for only {n} year(s)"),
    "fact.sick_often": (
        "{n} kali dinilai sakit dalam 3 tahun terakhir",
        "assessed sick {n} times in the last 3 years",
    ),
    "fact.sick_total": ("{n} tahun dinilai sakit sejauh ini", "{n} years assessed sick so far"),
    "fact.sick_once": ("baru sekali dinilai sakit dalam 3 tahun terakhir", "assessed sick once in the last 3 years"),
    "fact.health_special": (
        "dinilai Dalam Pengawasan Khusus (skor {value}, Dalam Pengawasan: 51 ke atas)",
        "assessed Under Special Supervision (score {value}, Under Supervision: 51 and above)",
    ),
    "fact.health_supervised": (
        "dinilai Dalam Pengawasan, bukan Khusus (skor {value})",
        "assessed Under Supervision, not Special (score {value})",
    ),
    "fact.health_prev_special": (
        "tahun lalu sudah Dalam Pengawasan Khusus",
        "already Under Special Supervision last year",
    ),
    "fact.health_prev_healthy": ("tahun lalu masih {category}", "last year still {category}"),
    "fact.untreated": ("tidak sedang ditangani klinik", "not in clinic treatment"),
    "fact.treated": ("sedang ditangani klinik {clinic}", "in treatment at the {clinic} clinic"),
    "fact.treated_any": ("sedang ditangani klinik", "in clinic treatment"),
    "fact.untreated_prev": ("tahun lalu belum ditangani klinik", "not in clinic treatment last year"),
    "fact.treated_prev": ("tahun lalu sudah ditangani klinik", "already in clinic treatment last year"),
    "fact.clinic_match_not": (
        "klinik yang menangani tidak sesuai kelemahan yang terlihat",
        "the treating clinic does not match a weakness shown",
    ),
    "fact.clinic_match": (
        "klinik yang menangani sesuai kelemahan yang terlihat",
        "the treating clinic matches a weakness shown",
    ),
    "fact.clinic_weakest_not": (
        "klinik yang menangani bukan klinik bidang terlemahnya",
        "the treating clinic is not that of its weakest area",
    ),
    "fact.clinic_weakest": (
        "klinik yang menangani adalah klinik bidang terlemahnya",
        "the treating clinic is that of its weakest area",
    ),
    "fact.recovered_before": (
        "{n} kali pulih setelah ditangani klinik sebelumnya",
        "recovered {n} time(s) after earlier clinic treatment",
    ),
    # short labels of facts whose sentence carries a number (charts count reasons by label)
    "label.no_fs.harm": ("laporan keuangan tidak ada", "no financial statement"),
    "label.no_fs.healthy": ("laporan keuangan ada", "financial statement filed"),
    "label.no_fs_prev.harm": ("laporan keuangan tahun lalu tidak ada", "no financial statement last year"),
    "label.no_fs_prev.healthy": ("laporan keuangan tahun lalu ada", "financial statement filed last year"),
    "label.no_sr.harm": ("laporan SDM tidak ada", "no staffing report"),
    "label.no_sr.healthy": ("laporan SDM ada", "staffing report filed"),
    "label.net_loss.harm": ("koperasi merugi (SHU negatif)", "made a loss (negative surplus)"),
    "label.net_loss.healthy": ("SHU tidak negatif", "no loss"),
    "label.balance_gap.harm": ("neraca tidak seimbang", "balance sheet does not balance"),
    "label.asset_growth.harm": ("aset menyusut", "assets shrinking"),
    "label.asset_growth.healthy": ("aset tumbuh", "assets growing"),
    "label.member_growth.harm": ("anggota berkurang", "members falling"),
    "label.member_growth.healthy": ("anggota bertambah", "members growing"),
    "label.manager.harm": ("tidak ada manajer profesional", "no hired manager"),
    "label.manager.healthy": ("ada manajer profesional", "has a hired manager"),
    "label.certified.healthy": ("separuh atau lebih bersertifikat", "half or more certified"),
    "label.training.harm": ("tidak ada yang dilatih", "nobody trained"),
    "label.training.healthy": ("ada yang dilatih", "some trained"),
    "label.turnover.harm": ("turnover karyawan lebih dari 25%", "staff turnover over 25%"),
    "label.turnover.healthy": ("tidak ada karyawan keluar", "no employee left"),
    "label.rat.harm": ("RAT tidak diadakan", "no RAT held"),
    "label.rat.healthy": ("RAT diadakan", "RAT held"),
    "label.rat_attendance.harm": ("kehadiran RAT kurang dari separuh", "RAT attendance under half"),
    "label.rat_attendance.healthy": ("kehadiran RAT separuh atau lebih", "RAT attendance half or more"),
    "label.rat_late.harm": ("RAT tahun lalu terlambat", "last year's RAT late"),
    "label.rat_late.healthy": ("RAT tahun lalu tepat waktu", "last year's RAT on time"),
    "label.board_meetings.harm": ("rapat pengurus kurang dari 4", "fewer than 4 board meetings"),
    "label.board_meetings.healthy": ("rapat pengurus 4 atau lebih", "4 or more board meetings"),
    "label.supervisory.harm": ("tidak ada rapat pengawas", "no supervisory meeting"),
    "label.supervisory.healthy": ("ada rapat pengawas", "supervisory meetings held"),
    "label.years_sick.harm": ("lama dalam pengawasan", "long under supervision"),
    "label.years_sick.healthy": ("baru setahun dalam pengawasan", "under supervision for a year only"),
    "label.sick_recent.harm": ("sering dinilai sakit", "often assessed sick"),
    "label.sick_total.harm": ("lama dinilai sakit", "long assessed sick"),
    "label.health_now.harm": ("Dalam Pengawasan Khusus", "under special supervision"),
    "label.health_now.healthy": ("Dalam Pengawasan, bukan Khusus", "under supervision, not special"),
    "label.health_prev.healthy": ("tahun lalu masih sehat", "still healthy last year"),
    "label.treatment.healthy": ("sedang ditangani klinik", "in clinic treatment"),
    "label.recovered_before.healthy": ("pernah pulih setelah ditangani klinik", "recovered after treatment before"),
    # --- the report (report.html) -------------------------------------------------------------------------------
    "report.title": (
        "Klinik Koperasi: hasil penilaian risiko, tahun buku {year}",
        "Klinik Koperasi: risk assessment, book year {year}",
    ),
    "report.meta": (
        "Kantor: {office}. Dibuat: {run_date}. Data: {source} (tahun buku sampai {year}). Model: {models}.",
        "Office: {office}. Run: {run_date}. Data: {source} (book years up to {year}). Models: {models}.",
    ),
    "report.card_scored": ("Koperasi dinilai", "Cooperatives scored"),
    "report.card_sick": ("Sakit sekarang", "Sick now"),
    "report.card_unassessed": ("Belum dinilai", "Not assessed"),
    "report.h_distribution": ("Sebaran peluang", "How the chances are spread"),
    "report.h_by_place": ("Per kecamatan dan jenis koperasi", "By kecamatan and type"),
    "report.by_place_note": (
        "Batang: jumlah koperasi. Angka di ujung batang: bagian koperasi kecamatan atau jenis itu yang sakit atau "
        "perlu dijangkau; kecamatan besar punya lebih banyak koperasi, jadi bandingkan bagiannya, bukan jumlahnya.",
        "Bars: number of cooperatives. The figure at the end of each bar: the share of that kecamatan's or type's "
        "cooperatives that are sick or to be reached; a large kecamatan has more cooperatives, so compare shares.",
    ),
    "report.h_reasons": ("Alasan paling sering", "Most common reasons"),
    "report.reasons_note": (
        "Alasan risiko koperasi yang dijangkau atau sedang sakit (tiga teratas tiap koperasi), menurut bidang klinik.",
        "Risk reasons of the cooperatives to reach or sick now (the top three of each), by clinic area.",
    ),
    "report.h_clinic": ("Rekomendasi per klinik", "Recommendations by clinic"),
    "report.h_outreach": ("{n} koperasi teratas untuk dijangkau", "Top {n} cooperatives to reach"),
    "report.outreach_note": (
        "{jangkau} koperasi direkomendasikan Jangkau sekarang (peluang sakit {threshold} atau lebih, dalam "
        "kapasitas klinik {capacity}); sisanya dalam daftar ini adalah yang berikutnya dihubungi bila klinik "
        "masih punya waktu.",
        "{jangkau} cooperatives are recommended Reach out now (chance of falling sick {threshold} or more, within "
        "the clinic's capacity of {capacity}); the others on this list are the next to call if the clinic has "
        "room.",
    ),
    "report.h_sick": ("Koperasi sakit: {n} untuk dibina dan dipantau", "Sick cooperatives: {n} to treat and watch"),
    "report.sick_note": (
        "Per rekomendasi. Penyebab: mengapa koperasi jatuh sakit (model risiko, menentukan klinik). Penghambat dan "
        "pendukung pemulihan: dari model pemulihan, yang menghitung peluang pulih.",
        "By recommendation. Cause: why the cooperative fell sick (risk model, chooses the clinic). What holds "
        "recovery back and what helps it: from the recovery model, which gives the chance of recovering.",
    ),
    "report.h_backtest": ("Ketepatan prediksi tahun lalu", "How last year's predictions turned out"),
    "report.no_backtest": (
        "Belum ada hasil untuk dibandingkan: belum ada prediksi tahun lalu yang hasilnya sudah diketahui (perlu "
        "hasil penilaian tahun sebelumnya, atau penilaian kesehatan untuk tahun sesudah tahun yang dinilai).",
        "Nothing to compare yet: no earlier predictions whose outcome is known (needs an earlier run's scores for "
        "the year before, or health assessments for the year after the one scored).",
    ),
    "report.backtest": (
        "Prediksi untuk {year} ({source}; model {models}) dibandingkan dengan penilaian {next}: {n} koperasi yang "
        "tidak sakit dinilai lagi, {positives} di antaranya jatuh sakit atau bubar ({base_rate}). Dari {k} koperasi "
        "dengan peluang tertinggi, {hits} benar-benar jatuh sakit ({precision}); itu {recall} dari semua yang "
        "jatuh sakit. Skor Brier {brier} (0 sempurna; makin kecil makin baik).",
        "Predictions for {year} ({source}; models {models}) against the {next} assessments: {n} cooperatives not "
        "sick were assessed again, {positives} of them fell sick or were dissolved ({base_rate}). Of the {k} with "
        "the highest chance, {hits} did fall sick ({precision}); that is {recall} of all who fell sick. Brier "
        "score {brier} (0 is perfect; smaller is better).",
    ),
    "report.backtest_this_run": (
        "penilaian ini, dengan hasil dari penilaian kesehatan tahun berikutnya",
        "this run; outcomes from the next year's health assessments",
    ),
    "report.backtest_earlier": ("hasil penilaian sebelumnya", "an earlier run"),
    "report.empty_list": (
        "Tidak ada koperasi dalam daftar ini tahun ini.",
        "No cooperative is on this list this year.",
    ),
    "report.h_review": ("Keputusan tahun lalu dan hasilnya", "Last year's decisions and what followed"),
    "report.h_watch": ("Apakah model masih sesuai", "Does the model still fit"),
    "report.watch_advised": (
        "Pelatihan ulang disarankan: ketepatan model risiko tahun lalu turun lebih dari {margin} (ROC AUC) di bawah "
        "ujinya saat didaftarkan. Mintalah tim data melatih ulang model (klinik train).",
        "Retraining advised: last year the risk model's ranking fell more than {margin} (ROC AUC) below its test at "
        "registration. Ask the data team to retrain the model (klinik train).",
    ),
    "report.watch_fine": (
        "Pelatihan ulang belum perlu: ketepatan tahun lalu tidak turun lebih dari {margin} (ROC AUC) di bawah ujinya.",
        "No retraining needed: last year's ranking did not fall more than {margin} (ROC AUC) below its test.",
    ),
    "report.watch_figures": (
        "Prediksi tahun buku {year}: ROC AUC {now} (uji saat didaftarkan {then}), ECE {ece} (saat didaftarkan "
        "{ece_then}); {hits} dari {k} koperasi di daftar jangkau jatuh sakit.",
        "Predictions for book year {year}: ROC AUC {now} (test at registration {then}), ECE {ece} (at registration "
        "{ece_then}); {hits} of the {k} cooperatives on the outreach list fell sick.",
    ),
    "report.watch_moved": (
        "Data tahun ini bergeser dari data pelatihan pada: {features}. Periksa datanya; bila benar, model mungkin "
        "perlu dilatih ulang.",
        "This year's data moved away from the training data in: {features}. Check the data; if it is right, the "
        "model may need retraining.",
    ),
    "report.watch_still": ("Data tahun ini serupa data pelatihan.", "This year's data is like the training data."),
    "report.watch_col_feature": ("Fitur", "Feature"),
    "report.watch_col_psi": ("PSI", "PSI"),
    "report.watch_col_missing_train": ("Kosong (pelatihan)", "Missing (training)"),
    "report.watch_col_missing_now": ("Kosong (tahun ini)", "Missing (this year)"),
    "report.watch_col_unseen": ("Kategori baru", "Unseen categories"),
    "report.watch_file": (
        "Lima fitur yang paling bergeser; {file} memuat semuanya.",
        "The five features that moved most; {file} holds them all.",
    ),
    "report.watch_none": (
        "Belum dapat diukur untuk penilaian ini.",
        "Not measured for this run.",
    ),
    "report.no_review": (
        "Belum ada keputusan petugas yang tercatat atas rekomendasi tahun buku {year} (keputusan dicatat di halaman "
        "klinik, lewat impor lembar kerja, atau lewat API).",
        "No officer's decision is recorded on the advice for book year {year} (decisions are recorded on the "
        "clinic's page, by importing the workbook, or through the API).",
    ),
    "report.review_fell_sick": (
        "Dari {n} koperasi {action} yang {decision}, {k} sakit pada {year}{k_share}; dari {m} yang diputuskan lain, "
        "{j} sakit{j_share}.",
        "Of {n} cooperatives advised {action} and {decision}, {k} were sick in {year}{k_share}; of {m} decided "
        "otherwise, {j} were sick{j_share}.",
    ),
    "report.review_recovered": (
        "Dari {n} koperasi {action} yang {decision}, {k} sehat kembali pada {year}{k_share}; dari {m} yang "
        "diputuskan lain, {j} sehat kembali{j_share}.",
        "Of {n} cooperatives advised {action} and {decision}, {k} were healthy again in {year}{k_share}; of {m} "
        "decided otherwise, {j} were healthy again{j_share}.",
    ),
    "report.review_advice": ("Rekomendasi {year}", "Advice for {year}"),
    "report.review_coops": ("Koperasi", "Cooperatives"),
    "report.review_sick": ("Sakit {year}", "Sick in {year}"),
    "report.review_healthy": ("Sehat {year}", "Healthy in {year}"),
    "report.review_gone": ("Tidak terdaftar lagi", "No longer registered"),
    "report.review_caveat": (
        "Bukan bukti sebab-akibat: petugas memilih siapa yang dijangkau dan dibina. Ini langkah pertama untuk "
        "mempelajari penanganan mana yang membantu koperasi yang mana.",
        "Not evidence of cause and effect: officers chose whom to reach and treat. It is a first step toward "
        "learning which treatment helps whom.",
    ),
    "report.footer": (
        "Dibuat oleh klinik score. Angka desimal memakai koma.",
        "Made by klinik score. Decimals use a comma in Indonesian.",
    ),
    # charts
    "chart.p_sick_title": ("Peluang sakit tahun depan (koperasi tidak sakit)", "Chance of falling sick next year"),
    "chart.p_sick_axis": ("peluang sakit tahun depan", "chance of falling sick next year"),
    "chart.p_recover_title": ("Koperasi sakit: peluang pulih dalam 2 tahun", "Sick: chance of recovering in 2 years"),
    "chart.p_recover_axis": ("peluang pulih dalam 2 tahun", "chance of recovering within 2 years"),
    "chart.coops_axis": ("jumlah koperasi", "number of cooperatives"),
    "chart.not_sick": ("tidak sakit", "not sick"),
    "chart.jangkau": ("Jangkau sekarang", "Reach out now"),
    "chart.threshold_jangkau": ("batas Jangkau {value}", "reach-out line {value}"),
    "chart.threshold_bina": ("batas Bina {value}", "treat line {value}"),
    "chart.threshold_closure": ("batas pertimbangan pembubaran {value}", "closure-review line {value}"),
    "chart.sick_now": ("Sakit sekarang", "Sick now"),
    "chart.at_risk_over": ("Berisiko, di luar kapasitas", "At risk, beyond capacity"),
    "chart.others": ("Lainnya", "Others"),
    "chart.by_district": ("Per kecamatan", "By kecamatan"),
    "chart.by_type": ("Per jenis koperasi", "By type"),
    "chart.top_of": ("{n} dari {total} dengan koperasi sakit dan dijangkau terbanyak", "{n} of {total} with most"),
    "chart.share_label": ("{share} sakit atau dijangkau", "{share} sick or to reach"),
    "chart.reasons_axis": ("jumlah koperasi dengan alasan ini", "cooperatives with this reason"),
    "chart.calibration_title": ("Prediksi {year} dan kenyataan {next}", "Predicted for {year}, observed in {next}"),
    "chart.calibration_x": ("peluang sakit yang diperkirakan", "predicted chance of falling sick"),
    "chart.calibration_y": ("bagian yang benar-benar sakit", "share that did fall sick"),
    "chart.calibration_perfect": ("tepat sempurna", "perfect"),
    "chart.calibration_bins": ("kelompok koperasi dengan peluang serupa", "cooperatives with similar chances"),
    # --- the workbook (klinik-koperasi-<year>.xlsx) ---------------------------------------------------------------
    "sheet.guide": ("Petunjuk", "Guide"),
    "sheet.JANGKAU": ("Jangkau", "Reach out"),
    "sheet.next": ("Berikutnya", "Next to call"),
    "sheet.BINA": ("Bina", "Treat"),
    "sheet.PANTAU_KETAT": ("Pantau Ketat", "Close watch"),
    "sheet.PERTIMBANGKAN_PEMBUBARAN": ("Pertimbangan Pembubaran", "Closure review"),
    "sheet.all": ("Semua Koperasi", "All cooperatives"),
    "col.rank": ("Urutan", "Order"),
    "col.coop_id": ("ID koperasi", "Cooperative ID"),
    "col.name": ("Nama koperasi", "Name"),
    "col.district": ("Kecamatan", "Kecamatan"),
    "col.coop_type": ("Jenis", "Type"),
    "col.clinic": ("Klinik", "Clinic"),
    "col.clinic_basis": ("Dasar pemilihan klinik", "Why this clinic"),
    "col.status": ("Status kesehatan", "Health status"),
    "col.p_sick_next": ("Peluang sakit tahun depan", "Chance of falling sick next year"),
    "col.p_recover": ("Peluang pulih (2 tahun)", "Chance of recovering (2 years)"),
    "col.p_sick_next_lo": ("Peluang sakit: batas bawah kisaran 80%", "Chance of falling sick: 80% range, low end"),
    "col.p_sick_next_hi": ("Peluang sakit: batas atas kisaran 80%", "Chance of falling sick: 80% range, high end"),
    "col.p_recover_lo": ("Peluang pulih: batas bawah kisaran 80%", "Chance of recovering: 80% range, low end"),
    "col.p_recover_hi": ("Peluang pulih: batas atas kisaran 80%", "Chance of recovering: 80% range, high end"),
    "col.certainty": ("Kepastian perkiraan", "How sure the estimate is"),
    "col.years_sick": ("Lama sakit (tahun)", "Years sick"),
    "col.rat_missed_years": ("Tahun tanpa RAT berturut-turut", "Years without RAT in a row"),
    "col.health_score": ("Skor kesehatan terakhir", "Latest health score"),
    "col.score_trend": ("Tren skor kesehatan (3 tahun)", "Health score trend (3 years)"),
    "col.score_change": ("Perubahan skor", "Score change"),
    "col.reasons": ("Alasan risiko (bidang klinik dulu)", "Risk reasons (the clinic's area first)"),
    "col.causes": ("Penyebab sakit (bidang klinik dulu)", "Why it fell sick (the clinic's area first)"),
    "col.hinders": ("Penghambat pemulihan", "What holds recovery back"),
    "col.helps": ("Pendukung pemulihan", "What helps recovery"),
    "col.action": ("Rekomendasi", "Recommendation"),
    "col.decision": ("Keputusan petugas", "Officer's decision"),
    "col.note": ("Catatan", "Note"),
    "guide.title": ("Klinik Koperasi: daftar rekomendasi tahun buku {year}", "Klinik Koperasi: lists for {year}"),
    "guide.meta": (
        "Kantor: {office}. Dibuat: {run_date}. Data: {source}.",
        "Office: {office}. Run: {run_date}. Data: {source}.",
    ),
    "guide.important": ("PENTING", "IMPORTANT"),
    "guide.sheets": ("Lembar", "Sheet"),
    "guide.contents": ("Isi", "Contents"),
    "guide.JANGKAU": (
        "Koperasi sehat yang berisiko sakit tahun depan (peluang {threshold} atau lebih), paling banyak "
        "{capacity} sesuai kapasitas klinik, urut dari peluang tertinggi.",
        "Healthy cooperatives at risk of falling sick next year (chance {threshold} or more), at most {capacity} "
        "for the clinic's capacity, highest chance first.",
    ),
    "guide.next": (
        "Koperasi berikutnya untuk dihubungi bila klinik masih punya waktu: urutan sesudah daftar Jangkau, dengan "
        "peluang sakit tertinggi berikutnya, sampai kapasitas klinik ({capacity} koperasi) terisi.",
        "The next cooperatives to call if the clinic has room: the outreach order after the Jangkau list, with "
        "the next highest chances, until the clinic's capacity ({capacity} cooperatives) is filled.",
    ),
    "guide.BINA": (
        "Koperasi sakit dengan peluang pulih dalam 2 tahun {threshold} atau lebih, per klinik.",
        "Sick cooperatives with a chance of recovering within 2 years of {threshold} or more, by clinic.",
    ),
    "guide.PANTAU_KETAT": (
        "Koperasi sakit dengan peluang pulih lebih rendah: pantau dan nilai kembali.",
        "Sick cooperatives less likely to recover: watch closely and assess again.",
    ),
    "guide.PERTIMBANGKAN_PEMBUBARAN": (
        "Koperasi sakit {years} tahun atau lebih dengan peluang pulih di bawah {closure}, atau {rat_years} tahun "
        "atau lebih tanpa RAT (masalah kelembagaan) dengan peluang pulih di bawah {bina}. Hanya untuk ditinjau: "
        "pembubaran mengikuti UU 25/1992 Pasal 46-47 dan diputuskan oleh pejabat yang berwenang.",
        "Sick for {years} years or more with a chance of recovering under {closure}, or {rat_years} years or more "
        "without an RAT (a governance problem) with a chance under {bina}. For review only: dissolution follows "
        "UU 25/1992 art. 46-47 and is decided by the official with the authority.",
    ),
    "guide.all": (
        "Semua koperasi yang dinilai, dengan nama, status, peluang, klinik dan rekomendasinya, urut dari daftar "
        "jangkau lalu koperasi sakit.",
        "Every cooperative scored, with name, status, chances, clinic and recommendation, in outreach order then "
        "the sick.",
    ),
    "guide.columns": ("Kolom", "Column"),
    "guide.meaning": ("Arti", "Meaning"),
    "guide.col_p_sick_next": (
        "Perkiraan model: peluang koperasi masuk Dalam Pengawasan (sakit) atau bubar tahun depan.",
        "The model's estimate: the chance the cooperative is under supervision (sick) or dissolved next year.",
    ),
    "guide.col_p_recover": (
        "Perkiraan model: peluang koperasi sakit kembali sehat dalam dua tahun.",
        "The model's estimate: the chance a sick cooperative is healthy again within two years.",
    ),
    "guide.col_interval": (
        "Kisaran 80% dari peluang di kolom sebelumnya: dari sepuluh koperasi dengan kisaran seperti ini, sekitar "
        "delapan peluang sebenarnya ada di dalamnya. Kosong bila model dilatih sebelum kisaran ada.",
        "The 80% range of the chance in the column before: of ten cooperatives with a range like this, about "
        "eight have their true chance inside it. Empty when the model was trained before ranges existed.",
    ),
    "guide.col_certainty": (
        "Diisi bila kisaran peluang pulih melintasi batas pembinaan atau pertimbangan pembubaran: perkiraannya "
        "belum pasti, dan apa yang akan memastikannya.",
        "Filled when the range of the chance of recovering crosses the treatment or closure review line: the "
        "estimate is uncertain, and what would settle it.",
    ),
    "guide.col_clinic": (
        "Klinik tempat penyebab utama risiko berada: Keuangan, SDM atau Kelembagaan.",
        "The clinic where the main cause of the risk lies: finance, people or governance.",
    ),
    "guide.col_clinic_basis": (
        "Bagian tiap bidang dari semua faktor yang menaikkan risiko; klinik adalah bidang dengan bagian terbesar.",
        "Each area's part of all the factors that raise the risk; the clinic is the area with the largest part.",
    ),
    "guide.col_decision": (
        "Diisi petugas: pilih keputusan dari daftar, dan tulis alasannya di Catatan.",
        "For the officer: pick the decision from the list, and give the reason in the note.",
    ),
    "guide.summary": ("Ringkasan", "Summary"),
    "guide.count": ("Jumlah", "Count"),
    "guide.scored": ("Koperasi dinilai", "Cooperatives scored"),
    "guide.models": ("Versi model", "Model versions"),
    "sheet.empty": ("Tidak ada koperasi dalam daftar ini tahun ini.", "No cooperative is on this list this year."),
    "sheet.header_footer": ("Klinik Koperasi {year} - {sheet}", "Klinik Koperasi {year} - {sheet}"),
    "sheet.page": ("Halaman &P dari &N", "Page &P of &N"),
}


def say(key: str, lang: str = "id", /, **fields) -> str:
    """The words of ``key`` in ``lang`` ("id" or "en"), with ``{fields}`` filled in."""
    pair = WORDS.get(key)
    if pair is None:
        raise KeyError(f"no words for {key!r} in klinik.wording.WORDS")
    text = pair[0] if lang == "id" else pair[1]
    return text.format(**fields) if fields else text


def label(kind: str, code: str, lang: str = "id") -> str:
    """The words for a code: ``label("status", "SAKIT")`` -> "Sakit (dalam pengawasan)"; the code when unknown."""
    pair = WORDS.get(f"{kind}.{code}")
    return code if pair is None else pair[0 if lang == "id" else 1]


_INDONESIAN = str.maketrans(",.", ".,")


def number(v: float, digits: int = 0, lang: str = "id") -> str:
    """``1234.5`` -> "1.234,5" (Indonesian) or "1,234.5" (English); "-0" never appears."""
    text = format(float(v), f",.{digits}f")
    if text.startswith("-") and not text.strip("-0.,"):
        text = text[1:]
    return text.translate(_INDONESIAN) if lang == "id" else text


def number_pair(v: float, digits: int = 0) -> tuple[str, str]:
    """``number`` in Indonesian and in English, formatted once (the reasons' hot path)."""
    text = format(float(v), f",.{digits}f")
    if text.startswith("-") and not text.strip("-0.,"):
        text = text[1:]
    return text.translate(_INDONESIAN), text


def percent_pair(v: float) -> tuple[str, str]:
    """``percent`` (default digits) in Indonesian and in English."""
    v = float(v)
    if not math.isfinite(v):
        return "?", "?"
    one, two = number_pair(v, 0 if abs(v) >= 9.95 or abs(v - round(v)) < 0.05 else 1)
    return one + "%", two + "%"


def percent(v: float, lang: str = "id", digits: int | None = None) -> str:
    """A value in percent points (``12.5``) as "12,5%"; ``digits`` None: one decimal below 10, none from 10 (a
    whole number never gets a decimal)."""
    v = float(v)
    if not math.isfinite(v):
        return "?"
    if digits is None:
        digits = 0 if abs(v) >= 9.95 or abs(v - round(v)) < 0.05 else 1
    return number(v, digits, lang) + "%"


def chance(p: float, lang: str = "id", digits: int = 0) -> str:
    """A probability on 0..1 as a percent: ``0.305`` -> "31%" (``digits`` decimals); "" when unknown."""
    if p is None or not math.isfinite(float(p)):
        return ""
    return percent(100.0 * float(p), lang, digits)


def interval_range(lo: float, hi: float, lang: str = "id") -> str:
    """An 80% range in words: "kisaran 80%: 9–31%"; "" when either end is unknown."""
    if lo is None or hi is None or not (math.isfinite(float(lo)) and math.isfinite(float(hi))):
        return ""
    return say("interval.range", lang, span=span(lo, hi, lang))


def span(lo: float, hi: float, lang: str = "id") -> str:
    """Two probabilities as a span of percents: "9–31%"."""
    return f"{chance(lo, lang).removesuffix('%')}–{chance(hi, lang)}"


def chance_range(p: float, lo: float, hi: float, lang: str = "id") -> str:
    """A probability with its 80% range: "18% (kisaran 80%: 9–31%)"; the probability alone when the range is
    unknown, "" when the probability is."""
    text, span_words = chance(p, lang), interval_range(lo, hi, lang)
    return say("interval.chance", lang, p=text, range=span_words) if text and span_words else text


def points(pp: float, lang: str = "id") -> str:
    """Percentage points a factor adds (+) or takes (−) from a chance: ``6.2`` -> "+6 poin"."""
    n = abs(float(pp))
    if n < 0.5:
        return say("reason.points_small", lang)
    return say("reason.points_up" if pp > 0 else "reason.points_down", lang, n=number(n, 0, lang))


MONTHS_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


def date_words(day: dt.date, lang: str = "id") -> str:
    """``14 Maret 2025`` (or ``14 March 2025``)."""
    return f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}" if lang == "id" else f"{day.day} {day:%B %Y}"
