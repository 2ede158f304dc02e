"""The report's fixed words in Vietnamese and English.

Sheet names and column headers of the published workbook are the terms of
the SIPAS report that a Department of Home Affairs files upward ("Tổng hợp",
"Tiêu chí", "Đơn vị"...). They are kept here as exact pairs rather than in
the gettext catalogs so the Vietnamese workbook never depends on how
complete a catalog is; page and message strings use ``_()`` as usual.
Questionnaire texts (item and element names) come from ``forms/`` and are
translated with the catalogs.
"""

from __future__ import annotations

from typing import Literal

ReportLanguage = Literal["vi", "en"]
REPORT_LANGUAGES: tuple[str, ...] = ("vi", "en")

WORDS: dict[str, tuple[str, str]] = {
    # sheets
    "summary": ("Tổng hợp", "Summary"),
    "items": ("Tiêu chí", "Items"),
    "centres": ("Đơn vị", "Units"),
    "trend": ("Xu hướng", "Trend"),
    "method": ("Phương pháp", "Method"),
    # columns
    "code": ("Mã", "Code"),
    "indicator": ("Chỉ số", "Indicator"),
    "level": ("Cấp", "Level"),
    "version": ("Phiên bản phiếu", "Questionnaire version"),
    "index": ("Chỉ số hài lòng (%)", "Satisfaction index (%)"),
    "ci_low": ("Cận dưới KTC (%)", "CI lower (%)"),
    "ci_high": ("Cận trên KTC (%)", "CI upper (%)"),
    "se": ("Sai số chuẩn (điểm %)", "Standard error (% points)"),
    "n": ("Số phiếu (n)", "Responses (n)"),
    "n_eff": ("Cỡ mẫu hiệu dụng", "Effective n"),
    "deff": ("Hệ số thiết kế", "Design effect"),
    "mean": ("Điểm trung bình (1–5)", "Mean rating (1–5)"),
    "par": ("Điểm PAR INDEX", "PAR INDEX points"),
    "flags": ("Ghi chú", "Notes"),
    "element": ("Yếu tố", "Element"),
    "item": ("Tiêu chí", "Item"),
    "centre": ("Đơn vị", "Unit"),
    "rank": ("Xếp hạng", "Rank"),
    "rank_low": ("Hạng cao nhất có thể", "Best plausible rank"),
    "rank_high": ("Hạng thấp nhất có thể", "Worst plausible rank"),
    "rank_interval": ("Khoảng hạng", "Rank interval"),
    "tied": ("Đồng hạng (khoảng hạng chồng lấn) với", "Tied with (overlapping rank intervals)"),
    "tied_count": ("Số đơn vị đồng hạng", "Number tied"),
    "month": ("Tháng", "Month"),
    "setting": ("Nội dung", "Setting"),
    "value": ("Giá trị", "Value"),
    # levels
    "overall": ("Chỉ số chung", "Overall index"),
    "aspect": ("Khía cạnh", "Aspect"),
    # flags
    "small-n": ("không đủ mẫu", "too few responses"),
    "items-missing": ("thiếu tiêu chí", "items missing"),
    "questionnaire-changed": ("phiếu thay đổi trong năm", "questionnaire changed in the year"),
    "no-data": ("không có dữ liệu", "no data"),
    "ci-clopper-pearson": ("KTC Clopper–Pearson", "Clopper–Pearson CI"),
    "ci-srs": ("KTC theo mẫu ngẫu nhiên đơn giản", "simple-random-sample CI"),
    "not-ranked": ("không xếp hạng (n nhỏ)", "not ranked (small n)"),
    # report
    "title": ("Báo cáo Chỉ số hài lòng về sự phục vụ hành chính năm %(year)s",
              "Satisfaction Index of Public Administrative Services, %(year)s"),
    "province": ("Toàn tỉnh", "Province"),
    "generated": ("Lập lúc", "Generated"),
    "interval_note": ("Khoảng tin cậy %(level)s%%; các đơn vị có khoảng hạng chồng lấn được "
                      "coi là đồng hạng.",
                      "%(level)s%% confidence intervals; units whose rank intervals overlap "
                      "are tied."),
    "chart_title": ("Chỉ số hài lòng theo tháng (%)", "Monthly satisfaction index (%)"),
    "top_centres": ("Xếp hạng đơn vị", "Unit ranking"),
    # method entries
    "m_questionnaire": ("Phiếu khảo sát (mã, các phiên bản)", "Questionnaire (id, versions)"),
    "m_period": ("Thời gian dữ liệu", "Data period"),
    "m_responses": ("Số phiếu", "Responses"),
    "m_excluded": ("Phiếu của bộ câu hỏi khác (không tính)", "Other questionnaires (left out)"),
    "m_strata": ("Tầng (strata)", "Strata"),
    "m_weights": ("Trọng số thiết kế", "Design weights"),
    "m_weights_frame": ("số hồ sơ đã giải quyết ÷ số phiếu trong tầng",
                        "dossiers completed ÷ ratings in the stratum"),
    "m_weights_none": ("bằng nhau (không dùng số hồ sơ)", "equal (frame counts not used)"),
    "m_weight_range": ("Khoảng trọng số", "Weight range"),
    "m_coverage": ("Số hồ sơ trong khung / trong các tầng có phiếu",
                   "Dossiers in frame / in strata with ratings"),
    "m_margins": ("Hiệu chỉnh theo biên (raking)", "Raking margins"),
    "m_trim": ("Giới hạn cắt tỉa hệ số g", "Trimming bounds for g"),
    "m_raking": ("Kết quả raking", "Raking outcome"),
    "m_cluster": ("Đơn vị mẫu cấp 1 (PSU)", "Primary sampling unit"),
    "m_design": ("Số tầng / PSU / bậc tự do", "Strata / PSUs / degrees of freedom"),
    "m_variance": ("Phương sai", "Variance"),
    "m_variance_text": ("Tuyến tính hóa Taylor, PSU có hoàn lại (như gói survey của R)",
                        "Taylor linearisation, with-replacement PSUs (as R's survey package)"),
    "m_ci": ("Phương pháp khoảng tin cậy", "Confidence interval method"),
    "m_index": ("Cách tổng hợp chỉ số", "Index aggregation"),
    "m_min_n": ("Cỡ mẫu tối thiểu để công bố", "Minimum n to report"),
    "m_par": ("Điểm tối đa PAR INDEX", "PAR INDEX maximum points"),
    "m_ranks": ("Khoảng hạng", "Rank intervals"),
    "m_ranks_text": ("mô phỏng %(draws)s lần từ phân phối mẫu (logit chuẩn), hạt giống %(seed)s",
                     "%(draws)s draws from the sampling distribution (normal on logit), "
                     "seed %(seed)s"),
    "m_changed": ("Chỉ số có tiêu chí thay đổi trong năm", "Indices whose items changed"),
    "m_software": ("Phần mềm", "Software"),
    "m_settings": ("Thiết lập (JSON)", "Settings (JSON)"),
    "yes": ("có", "yes"),
    "no": ("không", "no"),
    "none": ("không", "none"),
    "respondent": ("người trả lời", "respondent"),
    "centre-day": ("đơn vị × ngày", "unit × day"),
    "centre-quarter": ("đơn vị × quý", "unit × quarter"),
    "centre-month": ("đơn vị × tháng", "unit × month"),
}


def word(key: str, language: str, **values: object) -> str:
    """The report term ``key`` in ``language`` (``vi`` unless ``en``)."""
    vi, en = WORDS[key]
    text = en if language == "en" else vi
    return text % values if values else text
