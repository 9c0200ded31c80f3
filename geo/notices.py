"""The one wording of every honesty notice: demo stations, derived boundaries, modelled population.

Maps, the start page, the API's field descriptions, the OGC collections, exports and the CLI all
import these texts, so a notice reads the same wherever a user meets it (Chinese first, English
second) and a change of wording is made once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Notice:
    """One thing that is not real or not exact, said short (a label) and whole (a sentence)."""

    label_zh: str
    label_en: str
    detail_zh: str
    detail_en: str

    @property
    def label(self) -> str:
        """Short bilingual label, e.g. for a flag's description: ``演示数据 / demo data``."""
        return f"{self.label_zh} / {self.label_en}"

    @property
    def detail(self) -> str:
        """The explanation, Chinese then English."""
        return f"{self.detail_zh} / {self.detail_en}"

    @property
    def text(self) -> str:
        """The whole notice: label, then the explanation in Chinese and in English."""
        return f"{self.label}：{self.detail}"

    def counted(self, count: int, unit_zh: str, unit_en: str) -> str:
        """The whole notice with how many things it concerns, after the label (the start page).

        ``DEMO.counted(12, "站点", "stations")`` is ``演示数据 / demo data（12 个站点 / stations）：…``.
        """
        return f"{self.label}（{count} 个{unit_zh} / {unit_en}）：{self.detail}"


DEMO = Notice("演示数据", "demo data", "站点为程序生成的合成数据，不是真实登记",
              "synthetic stations, not a real registry")
APPROXIMATE = Notice("边界为推算", "approximate boundaries", "乡镇边界由驻地点推算，非官方边界",
                     "township boundaries derived from seat points, not official")
# A township placed without a seat of its own (``geo.reference.boundaries.POSITION_UNKNOWN_RULES``):
# where it lies is not known, so neither are its outline, its people nor the stations "in" it.
POSITION_UNKNOWN = Notice("位置未知", "position unknown", "乡镇位置未知，仅按面积均分示意，其人口与覆盖仅供参考",
                          "no seat point was given: the township was placed by rule (its county split into "
                          "parts of about equal area), for illustration only; its people and coverage are not "
                          "measured where it really lies")
# The wording of a boundary flag that must hold whatever was known (API field descriptions).
APPROXIMATE_FIELD = Notice("边界为推算", "approximate boundaries",
                           "乡镇边界为推算（由驻地点，或无驻地点时按面积均分），非官方边界",
                           "township boundaries derived from seat points, or from equal areas where no seat "
                           "is known; not official")
NO_PLACES = Notice("无聚落点", "no settlements file",
                   "未提供聚落点文件：网格人口仅按普查城镇人口比例围绕乡镇驻地点分布，未按村庄位置",
                   "no settlements file: grid population is placed around township seats by the census urban "
                   "share only, not at villages")
# A region made without a township list (``townships: {units: county}``): every "township" a page,
# table or map shows is a whole county (its official polygon and census population), so a per-township
# figure there is a per-county one, and a target per township cannot be judged.
COUNTY_UNITS = Notice("以区县为分析单元", "counties are the units",
                      "本市未提供乡镇名单：凡标“乡镇”处均为整个区县（官方边界、普查人口）",
                      "no township list was given: each county is one unit, and wherever a page says "
                      "\"township\" it means the whole county")
MODELLED = Notice("人口为模型估算", "modelled population", "乡镇与网格人口由县级普查数按规则分配",
                  "apportioned from the county census by rule, not counted")
# What riders are told next to a station that several riders said is closed (open "closed"
# reports from settings.closed_reports_to_flag different clients): a doubt, not a fact.
REPORTED_CLOSED = Notice("有人报告可能已关闭（待核实）", "reported closed, to be checked",
                         "多名骑手报告此站点已关闭，工会工作人员尚未核实",
                         "several riders reported this station closed; the union has not checked yet")


def approximate_notice(unknown: int, total: int) -> Notice:
    """The boundary notice that is true of ``total`` townships of which ``unknown`` have no seat.

    All seated: :data:`APPROXIMATE` (derived from seat points). None seated: boundaries by equal
    areas, with no word of seats. Some: how many of each.
    """
    if unknown <= 0:
        return APPROXIMATE
    if unknown >= total:
        return Notice(APPROXIMATE.label_zh, APPROXIMATE.label_en, "乡镇边界按县面积均分推算（无驻地点），非官方边界",
                      "township boundaries made by splitting each county into equal areas (no seat was given), "
                      "not official")
    return Notice(APPROXIMATE.label_zh, APPROXIMATE.label_en,
                  f"乡镇边界由驻地点推算（{total - unknown}/{total} 个乡镇有驻地点，"
                  f"其余 {unknown} 个位置未知），非官方边界",
                  f"township boundaries derived from seat points ({total - unknown} of {total} townships have "
                  f"one; {unknown} have no known position), not official")


def township_notices(unknown: int, total: int) -> list[Notice]:
    """The notices about townships: the boundary one, and :data:`POSITION_UNKNOWN` when any has no seat."""
    if total <= 0:
        return []
    notices = [approximate_notice(unknown, total)]
    if unknown > 0:
        notices.append(POSITION_UNKNOWN)
    return notices


def position_unknown_count(unknown: int, total: int) -> str:
    """``POSITION_UNKNOWN`` with how many: ``乡镇位置未知 / …（3/5 个乡镇 / townships）：…``."""
    return f"{POSITION_UNKNOWN.label}（{unknown}/{total} 个乡镇 / townships）：{POSITION_UNKNOWN.detail}"


UNKNOWN_MARK = "（位置未知）"  # after a township's name wherever it is shown


def marked_name(name: str, position_unknown: bool) -> str:
    """A township's name as shown, marked when its position is unknown."""
    return f"{name}{UNKNOWN_MARK}" if position_unknown else name


def no_targets(name_zh: str) -> str:
    """What ``gaps`` says for a region with no targets (CLI, API, maps); ``name_zh`` from its config."""
    return f"未配置目标 / no targets configured for {name_zh} — add targets.yaml (see README)"


def export_notice(coordinates: str) -> str:
    """The notice an exported station file carries (CLI and API): coordinate system, demo rows."""
    return f"unionmap export; coordinates {coordinates}; is_demo = true: {DEMO.text}"


# How a plan's proven bound was found, said to a planner (keys: PlanResult.bound_method).
BOUND_METHODS = {
    "lagrangian": ("拉格朗日上界", "Lagrangian bound"),
    "online": ("子模上界", "submodular online bound"),
    "highs": ("HiGHS 精确求解上界", "HiGHS dual bound"),
}


# A plan within this relative distance of its proven bound counts as proven optimal (one person in
# a billion: the floating-point sums behind both are exact to far less on a city's population).
OPTIMAL_RTOL = 1e-9


def certificate(share: float, bound_method: str) -> str:
    """The certificate every plan carries, e.g. ``方案覆盖人数至少达到理论最优的 99.6 %``.

    ``share`` is covered people / the proven upper bound. The percentage is rounded *down* (to
    0.1 %), so the sentence stays true as printed; a bound met to within ``OPTIMAL_RTOL`` proves
    the plan optimal (to one part in a billion) and says so.
    """
    zh, en = BOUND_METHODS[bound_method]
    if share >= 1.0 - OPTIMAL_RTOL:
        return f"方案已证明为理论最优（{zh}）/ proven optimal ({en})"
    shown = max(0.0, share) * 1000 // 1 / 10
    return (f"方案覆盖人数至少达到理论最优的 {shown:.1f} %（{zh}）/ "
            f"covers at least {shown:.1f} % of the most people any plan could cover ({en})")
