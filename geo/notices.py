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
MODELLED = Notice("人口为模型估算", "modelled population", "乡镇与网格人口由县级普查数按规则分配",
                  "apportioned from the county census by rule, not counted")
# What riders are told next to a station that several riders said is closed (open "closed"
# reports from settings.closed_reports_to_flag different clients): a doubt, not a fact.
REPORTED_CLOSED = Notice("有人报告可能已关闭（待核实）", "reported closed, to be checked",
                         "多名骑手报告此站点已关闭，工会工作人员尚未核实",
                         "several riders reported this station closed; the union has not checked yet")


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
