"""The docs cannot rot: every example in docs/*.md runs here.

Conventions for writing docs:

* every ```python block runs, in order, one namespace per Markdown file, in a
  temporary directory; a block that raises fails the test with the Markdown line;
* an ```output block right after a ```python block is what that block prints, exactly
  (trailing spaces ignored);
* ```text, ```bash ... blocks are not run.

Besides: derivatives.md follows ops.ALL_OPS and quotes every rule; api.md documents
every public name; every picture a doc shows exists and make_pictures.py makes it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import re
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

import tinygrad_edu
import tinygrad_edu.explain
import tinygrad_edu.viz
from tinygrad_edu import ops

DOCS = Path(__file__).resolve().parent.parent / "docs"
LESSONS = ["from-hand-gradients-to-graphs.md", "how-the-engine-works.md", "derivatives.md",
           "checking-gradients.md", "api.md"]
ALL_DOCS = sorted(p.name for p in DOCS.glob("*.md"))  # the lessons and any later docs
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


class DocExampleError(AssertionError):
    """An example in a Markdown file failed or printed something else than it shows."""


def blocks(text):
    """(language, code, first line number of the code) for each fenced block."""
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start(2)) + 1
        yield match.group(1), match.group(2), line


def run_markdown(text, filename):
    """Run the python blocks of one Markdown text; check the output blocks."""
    namespace = {"__name__": "__docs__"}
    previous = None  # (stdout, line) of the last python block
    count = 0
    for language, code, line in blocks(text):
        if language == "python":
            count += 1
            # pad with newlines so tracebacks give the line number in the .md file
            compiled = compile("\n" * (line - 1) + code, filename, "exec")
            stdout = io.StringIO()
            try:
                with contextlib.redirect_stdout(stdout):
                    exec(compiled, namespace)
            except Exception as exc:
                frames = [f for f in traceback.extract_tb(exc.__traceback__)
                          if f.filename == filename]
                where = f" at line {frames[-1].lineno}: {frames[-1].line}" if frames else ""
                raise DocExampleError(
                    f"{filename}: the example at line {line} raised "
                    f"{type(exc).__name__}: {exc}{where}") from exc
            previous = (stdout.getvalue(), line)
        elif language == "output":
            if previous is None:
                raise DocExampleError(f"{filename}:{line}: an output block must follow a "
                                      "python block")
            printed, code_line = previous
            shown = [s.rstrip() for s in code.rstrip("\n").splitlines()]
            got = [s.rstrip() for s in printed.rstrip("\n").splitlines()]
            if shown != got:
                raise DocExampleError(
                    f"{filename}:{line}: the example at line {code_line} prints\n"
                    + "\n".join(got) + "\nbut the doc shows\n" + "\n".join(shown))
            previous = None
        else:
            previous = None
    return count


@pytest.mark.parametrize("doc", ALL_DOCS)
def test_every_example_runs_and_prints_what_the_doc_shows(doc, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    path = DOCS / doc
    count = run_markdown(path.read_text(encoding="utf-8"), str(path))
    assert count >= 1 or doc not in LESSONS, f"{doc} has no example"


def test_a_broken_example_fails():
    with pytest.raises(DocExampleError, match="line 3 raised ZeroDivisionError"):
        run_markdown("Text\n```python\n1 / 0\n```\n", "broken.md")
    with pytest.raises(DocExampleError, match="prints\n2\nbut the doc shows\n3"):
        run_markdown("```python\nprint(1 + 1)\n```\n```output\n3\n```\n", "wrong.md")
    # state carries over between the blocks of one file
    assert run_markdown("```python\na = 2\n```\nthen\n```python\nassert a == 2\n```\n",
                        "ok.md") == 2


def slug(heading):
    """The anchor GitHub gives a heading: lower case, punctuation dropped, - for spaces."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_five_lessons_exist_and_links_resolve():
    assert set(LESSONS) <= set(ALL_DOCS)
    for doc in ALL_DOCS:
        text = (DOCS / doc).read_text(encoding="utf-8")
        for target, anchor in re.findall(r"\]\(([^)#:]+)(?:#([^)]*))?\)", text):
            assert (DOCS / target).exists(), f"{doc}: link to missing {target}"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", (DOCS / target).read_text(encoding="utf-8"),
                                      flags=re.MULTILINE)
                assert anchor in {slug(h) for h in headings}, f"{doc}: no #{anchor} in {target}"


# --- derivatives.md follows the table --------------------------------------------------


def sections(text, level="## "):
    """{heading: body} of the Markdown sections at one level, in order."""
    parts = re.split(rf"^{level}(.+)$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def test_derivatives_doc_has_every_op_in_table_order_with_its_rules():
    text = (DOCS / "derivatives.md").read_text(encoding="utf-8")
    found = sections(text)
    ops_in_doc = [m.group(1) for h in found if (m := re.fullmatch(r"`(\w+)`.*", h))]
    assert ops_in_doc == [op.name for op in ops.ALL_OPS]
    bodies = {re.fullmatch(r"`(\w+)`.*", h).group(1): body for h, body in found.items()
              if re.fullmatch(r"`(\w+)`.*", h)}
    for op in ops.ALL_OPS:
        for rule in op.rules:
            assert f"`{rule.text}`" in bodies[op.name], f"{op.name}: rule {rule.text!r}"


# --- api.md documents every public name -------------------------------------------------


def api_names():
    """Every `tinygrad_edu.name` (or `tinygrad_edu.mod.name(...`) that api.md mentions."""
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    return set(re.findall(r"`(tinygrad_edu(?:\.\w+)+)[`(\[]", text)), text


def resolve(dotted):
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for k, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join(parts[:k + 1]))
    return obj


def exported_names():
    """The public names ``import tinygrad_edu`` itself provides (asked in a fresh
    interpreter: in this one, other tests' imports add their submodules)."""
    code = "import tinygrad_edu; print(' '.join(dir(tinygrad_edu)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    return [n for n in result.stdout.split() if not n.startswith("_")]


def test_api_doc_names_every_public_name_and_nothing_stale():
    names, _text = api_names()
    documented = {name: resolve(name) for name in names}  # a stale name fails here
    public = exported_names() + ["viz", "explain"]
    # a name exported later under another path (tinygrad_edu.draw_graph for
    # tinygrad_edu.viz.draw_graph) counts as documented when it is the same function
    missing = [n for n in public if f"tinygrad_edu.{n}" not in documented
               and not any(getattr(tinygrad_edu, n) is obj for obj in documented.values()
                           if callable(obj))]
    assert not missing, f"api.md does not document: {missing}"
    for module in (tinygrad_edu.viz, tinygrad_edu.explain):
        for name in module.__all__:
            assert f"{module.__name__}.{name}" in documented, name


def test_api_doc_mentions_every_tensor_attribute():
    _names, text = api_names()
    body = sections(text, "### ")["`tinygrad_edu.Tensor`"]
    public = [n for n in dir(tinygrad_edu.Tensor) if not n.startswith("_")]
    missing = [n for n in public if f"`{n}" not in body and f".{n}`" not in body]
    assert not missing, f"the Tensor section of api.md does not mention: {missing}"


# --- pictures -----------------------------------------------------------------------------


def test_pictures_shown_in_the_docs_exist_and_the_script_makes_them(tmp_path):
    shown = set()
    for doc in LESSONS:
        text = (DOCS / doc).read_text(encoding="utf-8")
        shown.update(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text))
    assert "img/quadratic_graph.png" in shown
    for picture in shown:
        assert (DOCS / picture).read_bytes().startswith(b"\x89PNG"), picture
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    for picture in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme):  # README's, from the root
        assert (DOCS.parent / picture).read_bytes().startswith(b"\x89PNG"), picture
        shown.add(picture)
    spec = importlib.util.spec_from_file_location("make_pictures", DOCS / "make_pictures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with contextlib.redirect_stdout(io.StringIO()):
        made = module.main(["--out", str(tmp_path)])
    assert sorted(p.name for p in made) == sorted(Path(p).name for p in shown)
    for path in made:
        assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 10_000


def test_the_anomaly_example_pastes_into_the_interactive_prompt():
    """Lesson 2's detect_anomaly example, fed line by line to an interactive console
    (as pasting does): it runs, and the message names the prompt's line instead of
    quoting a source line that does not exist there."""
    import code

    text = (DOCS / "how-the-engine-works.md").read_text(encoding="utf-8")
    section = text[text.index("## Finding where a NaN comes from"):]
    section = section[:section.index("\n## ", 1)]
    (source,) = [c for lang, c, _ in blocks(section) if lang == "python"]
    console = code.InteractiveConsole({"np": __import__("numpy"), "tg": tinygrad_edu})
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        for line in source.splitlines() + [""]:
            console.push(line)
    assert err.getvalue() == ""
    assert out.getvalue().splitlines()[0].startswith("log produced 1 NaN")
    assert "<console> (line 2) in <module>" in console.locals["message"]  # r = x.sqrt()
