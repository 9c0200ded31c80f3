"""The editor's door in Chromium: sign in through the form, the actor shown, sign out; axe-clean."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Editor, PageFactory, axe_violations

pytestmark = [pytest.mark.db, pytest.mark.browser]


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_sign_in_and_out_in_the_browser(page: PageFactory, editor: Editor, phone: bool) -> None:
    tab = page(phone=phone)
    tab.goto("/edit")
    assert tab.page.url.endswith("/edit/sign-in?next=%2Fedit")
    assert axe_violations(tab.page) == []
    tab.page.fill("#key", "um_wrong_key")
    tab.page.click("#sign-in-form button[type=submit]")
    assert "密钥无效" in tab.page.inner_text("#sign-in-error")
    assert [error for error in tab.console_errors if "401" not in error] == []  # the refusal itself is a 401
    tab.console_errors.clear()
    editor.sign_in(tab)
    assert tab.page.url == f"{tab.base_url}/edit"
    assert tab.page.inner_text(".edit-who") == editor.name
    cookie = next(c for c in tab.page.context.cookies() if c["name"] == "unionmap_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert tab.page.evaluate("document.cookie").find("unionmap_session") < 0  # no script can read it
    assert axe_violations(tab.page) == []
    if phone:  # nothing wider than the phone's screen
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= 360
    tab.page.click(".edit-signout button")
    tab.page.wait_for_url("**/edit/sign-in?signed_out=1")
    assert tab.page.inner_text("#signed-out").startswith("已退出")
    tab.goto("/edit")
    assert "/edit/sign-in" in tab.page.url
    assert tab.console_errors == [] and tab.dialogs == [] and tab.blocked == []
