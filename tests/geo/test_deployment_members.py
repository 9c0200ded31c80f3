"""Which cities a region stands for: a city itself, a province its cities, a country its provinces' cities."""

from geo.store.deployment import COUNTRY, PROVINCE, RegionRow, members_of


def row(code: str, level: str = "city", parent: str | None = None) -> RegionRow:
    return RegionRow(code, code, code, "Asia/Shanghai", code, "", None, "test", level, parent)


def test_members_of_a_city_a_province_and_a_country() -> None:
    rows = [row("100000", COUNTRY), row("360000", PROVINCE, "100000"), row("430000", PROVINCE, "100000"),
            row("360400", parent="360000"), row("360100", parent="360000"), row("430100", parent="430000"),
            row("990000")]  # a city in no province
    by_code = {r.code: r for r in rows}
    assert members_of(rows, by_code["360400"]) == ["360400"]
    assert members_of(rows, by_code["360000"]) == ["360400", "360100"]
    assert members_of(rows, by_code["100000"]) == ["360400", "360100", "430100"]
    assert members_of(rows, by_code["990000"]) == ["990000"]
