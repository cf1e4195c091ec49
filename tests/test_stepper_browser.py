"""The stepper page in a real browser: headless Chromium driven by Selenium.

Debian's chromium and chromium-driver are needed (.ci/run installs them); without them
these tests skip, unless TINYGRAD_EDU_REQUIRE_BROWSER=1 (as CI sets it): then they fail.
One browser serves the whole module.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.explain import explain_backward
from tinygrad_edu.stepper import keep_values

REQUIRED = os.environ.get("TINYGRAD_EDU_REQUIRE_BROWSER") == "1"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000"]


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium, in the test extra)"
    for path, package in ((CHROMIUM, "chromium"), (DRIVER, "chromium-driver")):
        if not os.path.exists(path):
            return f"{path} is missing: apt-get install chromium chromium-driver ({package})"
    return None


@pytest.fixture(scope="module")
def browser():
    problem = _missing()
    if problem:
        if REQUIRED:
            pytest.fail(f"TINYGRAD_EDU_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(problem)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="stepper-chromium-")
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def quadratic():
    with keep_values():
        x = tg.tensor([-1.0, 0.5, 2.0], name="x")
        y = tg.tensor([5.1, 2.8, 14.0], name="y")
        w = tg.tensor(1.0, requires_grad=True, name="w")
        b = tg.tensor(0.5, requires_grad=True, name="b")
        y_pred = w * x**2 + b
        y_pred.name = "y_pred"
        loss = (0.5 * (y_pred - y) ** 2).sum()
        loss.name = "loss"
    return loss, w, b


@pytest.fixture(scope="module")
def page(browser, tmp_path_factory):
    """The quadratic model's page, loaded; and the engine's record of the same pass."""
    loss, w, b = quadratic()
    twin, _w, _b = quadratic()
    record = explain_backward(twin)
    path = tmp_path_factory.mktemp("stepper") / "quadratic.html"
    tg.viz.stepper(loss).save(path)
    browser.get(path.as_uri())
    browser.get_log("performance")  # from here on: what the page itself asks for
    return {"driver": browser, "path": path, "record": record, "w": w, "b": b}


def by_id(driver, name):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.ID, name)


def counter(driver) -> int:
    return int(by_id(driver, "counter").text.split()[1])


def values(driver, row) -> np.ndarray:
    return np.array(json.loads(by_id(driver, f"row-{row}").get_attribute("data-values")))


def test_buttons_and_keys_step_forward_and_back(page):
    driver = page["driver"]
    from selenium.webdriver.common.keys import Keys
    by_id(driver, "reset").click()
    assert counter(driver) == 0 and "ops" in by_id(driver, "steptitle").text
    by_id(driver, "next").click()
    by_id(driver, "next").click()
    assert counter(driver) == 2 and "forward" in by_id(driver, "steptitle").text
    by_id(driver, "prev").click()
    assert counter(driver) == 1
    body = driver.find_element("tag name", "body")
    body.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    assert counter(driver) == 4
    body.send_keys(Keys.ARROW_LEFT)
    assert counter(driver) == 3
    body.send_keys(Keys.HOME)
    assert counter(driver) == 0


def test_backward_steps_show_the_engines_numbers(page, tmp_path):
    driver, record = page["driver"], page["record"]
    by_id(driver, "reset").click()
    for _ in range(6):  # from the start through the 6 forward steps
        by_id(driver, "next").click()
    for n, step in enumerate(record.steps, start=1):
        by_id(driver, "next").click()
        assert f"backward step {n} of 6" in by_id(driver, "steptitle").text
        np.testing.assert_allclose(values(driver, "upstream"), np.ravel(step.upstream),
                                   rtol=1e-12)
        for c in step.contributions:
            np.testing.assert_allclose(values(driver, f"sent-{c.index}"), np.ravel(c.grad),
                                       rtol=1e-12)
        assert step.contributions[0].rule in by_id(driver, "rows").text
        assert "active" in by_id(driver, "v" + str(n - 1)).get_attribute("class")
    by_id(driver, "next").click()  # done: the leaves' .grad
    text = by_id(driver, "rows").text
    assert "w.grad" in text and "b.grad" in text
    grads = {leaf.name: leaf.grad.item() for leaf in record.leaves}
    shown = driver.execute_script(
        "return [...document.querySelectorAll('[id^=row-grad-]')]"
        ".map(e => [e.previousSibling.textContent, JSON.parse(e.dataset.values)[0]])")
    assert {name.removesuffix(".grad"): v for name, v in shown} == pytest.approx(grads)
    assert page["w"].grad.item() == pytest.approx(grads["w"])
    assert "grad -42.11" in driver.find_element("id", "graph").text
    assert "summed axis 0" in driver.execute_script(
        "return DATA.steps.map(s => s.rows.map(r => r.note || '').join(' ')).join(' ')")
    driver.save_screenshot(str(tmp_path / "stepper_done.png"))
    assert (tmp_path / "stepper_done.png").stat().st_size > 10_000


def test_quiz_right_and_wrong_answers_are_scored(page, tmp_path):
    driver, record = page["driver"], page["record"]
    by_id(driver, "reset").click()
    by_id(driver, "quizmode").click()
    for _ in range(7):  # to backward step 1: sum sends ones to its input
        by_id(driver, "next").click()
    assert "?" in by_id(driver, "row-sent-0").text  # hidden until answered
    expected = record.steps[0].contributions[0].grad
    by_id(driver, "answer-0").send_keys(", ".join(str(v) for v in expected))
    by_id(driver, "check-0").click()
    assert by_id(driver, "verdict-0").text.startswith("exact")
    assert record.steps[0].contributions[0].rule in by_id(driver, "verdict-0").text
    by_id(driver, "next").click()  # step 2: mul by 0.5 sends 0.5
    by_id(driver, "answer-0").send_keys("0.49")
    by_id(driver, "check-0").click()
    assert by_id(driver, "verdict-0").text.startswith("close: max difference 0.0100")
    by_id(driver, "next").click()
    by_id(driver, "answer-0").send_keys("7")
    by_id(driver, "check-0").click()
    assert by_id(driver, "verdict-0").text.startswith("wrong")
    assert by_id(driver, "score").text == "score 2 / 3"
    driver.save_screenshot(str(tmp_path / "stepper_quiz.png"))
    by_id(driver, "quizmode").click()


def test_no_request_leaves_the_page_and_no_console_errors(page):
    driver = page["driver"]
    by_id(driver, "play").click()
    by_id(driver, "play").click()  # pause
    requests = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    csp = driver.execute_script(
        "return document.querySelector('meta[http-equiv=Content-Security-Policy]').content")
    assert "default-src 'none'" in csp


def test_the_notebook_markup_runs_the_same_page(browser, tmp_path):
    loss, _w, _b = quadratic()
    markup = tg.viz.stepper(loss)._repr_html_()
    path = tmp_path / "notebook.html"
    path.write_text(f"<!DOCTYPE html><html><body>{markup}</body></html>", encoding="utf-8")
    browser.get(path.as_uri())
    browser.switch_to.frame(browser.find_element("tag name", "iframe"))
    by_id(browser, "next").click()
    assert counter(browser) == 1
    browser.switch_to.default_content()
