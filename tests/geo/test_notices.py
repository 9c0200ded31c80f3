"""The certificate's wording: a share of the optimum rounded down, so it stays true as printed."""

from __future__ import annotations

import pytest

from geo.notices import certificate


@pytest.mark.parametrize(("share", "shown"), [(0.99964, "99.9 %"), (0.9969, "99.6 %"), (0.8612, "86.1 %"),
                                              (0.99, "99.0 %")])
def test_the_share_is_rounded_down(share: float, shown: str) -> None:
    text = certificate(share, "lagrangian")
    assert text.startswith(f"方案覆盖人数至少达到理论最优的 {shown}（拉格朗日上界）")
    assert f"at least {shown}" in text


def test_a_met_bound_says_proven_optimal_and_names_the_bound() -> None:
    assert certificate(1 - 1e-11, "highs").startswith("方案已证明为理论最优（HiGHS 精确求解上界）")
    assert certificate(1 - 1e-6, "online").startswith("方案覆盖人数至少达到理论最优的 99.9 %（子模上界）")
