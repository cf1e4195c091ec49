"""Step through backward in a browser or a notebook: ``viz.stepper(loss)``.

``stepper(loss)`` runs ``loss.backward()`` watched by the same Trace as
``explain_backward`` (so the table and the page never disagree) and returns a
``Stepper``: ``.save(path)`` writes one self-contained HTML file (inline SVG, CSS and
JavaScript; no network, no Graphviz), and ``_repr_html_()`` shows the same page inline
in Jupyter. The page draws the graph with viz's layered layout (inputs at the bottom,
the output at the top, edges routed around the boxes) and steps through a forward
phase, then the backward phase node by node: the rule's text from ``ops.py``, the
upstream gradient, what goes to each input, where broadcasting was summed back and
where several consumers' contributions add up; leaves show ``.grad`` filling in.
A quiz mode asks for the gradient sent to each input before it is shown.

The values of intermediate results are not kept by the engine (a Node never points to
its output). Compute the forward pass inside ``with keep_values():`` to see them all;
otherwise the page shows those the graph saved for backward, and the output's.
"""

from __future__ import annotations

import html
import json
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from . import names, viz
from .engine import Node, Observer, observing, state
from .explain import traced_backward
from .tensor import Tensor

__all__ = ["Stepper", "keep_values", "stepper"]

_SCALE = 80.0  # pixels per inch of viz's layout
_LINE = 15  # pixels per line of box text
_CHAR = 7.3  # pixels per character of 12px monospace text
_QUIZ_MAX = 16  # the quiz asks for gradients of at most this many elements
_NUMBERS_MAX = 64  # arrays up to this size are embedded in full (for the quiz, the tests)

_values: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # node -> its output
_constants: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # node -> {i: array}


class _KeepValues(Observer):
    def forward(self, op, inputs, out, node, params) -> None:
        if node is None or state.in_backward:
            return
        _values[node] = np.array(out)  # a copy: a later in-place change must not show
        consts = {i: np.array(t.array) for i, t in enumerate(inputs)
                  if node.parents[i] is None}
        if consts:
            _constants[node] = consts


class keep_values:
    """``with keep_values():`` every op recorded inside keeps a copy of its result (and
    of its constant inputs) for the stepper page. For small teaching graphs only."""

    def __init__(self) -> None:
        self.blocks: list[observing] = []

    def __enter__(self) -> keep_values:
        block = observing(_KeepValues())
        block.__enter__()
        self.blocks.append(block)
        return self

    def __exit__(self, *exc: object) -> None:
        self.blocks.pop().__exit__(*exc)


# --- numbers as text and as data ---------------------------------------------------------


def _text(a: Any, max_elements: int = 6) -> str:
    """Short text of an array (viz's: numbers when few, else shape and range)."""
    return viz._short(a, max_elements)


def _numbers(a: Any) -> list | None:
    """The values of a small array, flat, as JSON numbers ("nan", "inf" as strings)."""
    a = np.asarray(a, dtype=np.float64)
    if a.size > _NUMBERS_MAX:
        return None
    return [float(v) if np.isfinite(v) else str(v) for v in a.ravel()]


def _cut(line: str, chars: int) -> str:
    return line if len(line) <= chars else line[:chars - 1] + "…"


# --- what the page shows, step by step ----------------------------------------------------


class _Builder:
    """Turns a graph (viz._collect) and a trace (explain) into the page's data."""

    def __init__(self, g: viz._Graph, record, values: dict, constants: dict,
                 grads_before: dict) -> None:
        self.g, self.record = g, record
        self.values, self.constants, self.before = values, constants, grads_before
        self.index = {id(v): k for k, v in enumerate(g.vertices)}
        self.steps: list[dict] = []

    def title(self, k: int) -> str:
        v = self.g.vertices[k]
        if type(v) is Node:
            return viz._op_title(k, v)
        return viz._leaf_title(self.g, v)

    def short(self, k: int) -> str:
        """'#2 MulBackward' or a leaf's name, for the text of a step."""
        v = self.g.vertices[k]
        if type(v) is Node:
            name = names.of(v)
            return f"#{k + 1} {v.name()}" + (f" ({name})" if name else "")
        return viz._leaf_title(self.g, v)

    def value_of(self, k: int) -> np.ndarray | None:
        v = self.g.vertices[k]
        return self.values.get(k) if type(v) is Node else v.array

    def input_text(self, node: Node, i: int) -> str:
        """'a = w: 1' / 'b = constant x: [1, 0.25, 4]' for input i of node."""
        parent = node.parents[i]
        head = node.op.input_name(i)
        if parent is None:
            name = names.constant(node, i)
            value = self.constants.get((id(node), i))
            what = f"constant {name}" if name else "constant"
            shown = _text(value) if value is not None else f"shape {node.shapes[i]}"
            return f"{head} = {what}: {shown}"
        k = self.index[id(parent)]
        value = self.value_of(k)
        shown = _text(value) if value is not None else f"shape {node.shapes[i]}"
        return f"{head} = {self.short(k)}: {shown}"

    def vertex_data(self, k: int) -> dict:
        v = self.g.vertices[k]
        if type(v) is Node:
            name = names.of(v)
            made = f"{name} = " if name and k != 0 else ""
            sub = f"{made}{v.op.name} → {self.g.out_shape(k)}"
            if k == 0:
                sub = f"{self.g.root.name or 'output'} = {v.op.name} → {self.g.out_shape(k)}"
            kind = "op"
        else:
            sub = f"shape {v.shape}"
            kind = "parameter" if v.requires_grad else "tensor"
        return {"title": self.title(k), "sub": sub, "kind": kind}

    def add(self, phase: str, title: str, vertex: int | None = None, set_=(), reveal=(),
            edges=(), rows=(), quiz=()) -> None:
        self.steps.append({"phase": phase, "title": title, "vertex": vertex,
                           "set": list(set_), "reveal": list(reveal), "edges": list(edges),
                           "rows": list(rows), "quiz": list(quiz)})

    def build(self) -> list[dict]:
        g = self.g
        n = len(g.vertices)
        op_ks = [k for k in range(n) if type(g.vertices[k]) is Node]
        leaf_ks = [k for k in range(n) if type(g.vertices[k]) is not Node]
        # the start: leaves show their values and their .grad before this pass
        start = []
        for k in range(n):
            if k in leaf_ks:
                leaf = g.vertices[k]
                start.append([k, "value", f"value {_text(leaf.array)}"])
                if leaf.requires_grad:
                    before = self.before.get(k)
                    start.append([k, "grad", "grad None" if before is None
                                  else f"grad {_text(before)}"])
                start.append([k, "state", "ready"])
            else:
                start.append([k, "value", "value ?"])
                start.append([k, "state", "future"])
        self.add("start", f"The graph of {g.root.name or 'the output'}: {len(op_ks)} ops, "
                 f"{len(leaf_ks)} leaves. Press → (or next) to run the forward pass.",
                 None, start, rows=[{"k": "how to read it", "v": "inputs at the bottom, the "
                                     "output at the top; arrows run the way the forward pass "
                                     "went, backward walks them in reverse"}])
        # the forward phase: the ops in the order they ran (the reverse of backward's)
        for k in reversed(op_ks):
            node = g.vertices[k]
            value = self.value_of(k)
            shown = _text(value) if value is not None else "not kept"
            rows = [{"k": f"input {node.op.input_name(i)}", "v": self.input_text(node, i)}
                    for i in range(len(node.parents))]
            rows.append({"k": "result", "v": (_text(value, _NUMBERS_MAX) if value is not None
                                              else f"shape {g.out_shape(k)} (its value was "
                                              "not kept: compute the forward pass inside "
                                              "`with tinygrad_edu.viz.keep_values():`)"),
                         "n": None if value is None else _numbers(value)})
            in_edges = [e for e, (_s, dst, _i) in enumerate(g.edges) if dst == k]
            self.add("forward", f"forward: {self.title(k)} runs {node.op.name}", k,
                     [[k, "value", f"value {shown}"], [k, "state", "computed"]],
                     edges=in_edges, rows=rows)
        self.backward_steps(op_ks, leaf_ks)
        return self.steps

    def backward_steps(self, op_ks: list[int], leaf_ks: list[int]) -> None:
        g, record = self.g, self.record
        arrived: dict[int, list] = {}  # vertex -> [(from step's vertex, input, array)]
        users = {k: sum(1 for src, _d, _i in g.edges if src == k) for k in range(len(g.vertices))}
        total_steps = len(record.steps)
        for n, step in enumerate(record.steps, start=1):
            node = step.node
            k = self.index[id(node)]
            parts = arrived.get(k, [])
            if n == 1:
                how = "the seed: dL/dL = 1" if record.loss.array.size == 1 else \
                    "the seed: the gradient= given to backward"
            elif len(parts) == 1:
                how = f"from {self.short(parts[0][0])} (its input {parts[0][1]})"
            else:
                how = (f"the sum of {len(parts)} contributions, one per use of this result: "
                       + " + ".join(f"{_text(a)} from {self.short(src)} ({inp})"
                                    for src, inp, a in parts))
            rows = [{"k": "upstream g = dL/d(out)", "v": _text(step.upstream, _NUMBERS_MAX),
                     "n": _numbers(step.upstream), "id": "upstream"},
                    {"k": "where g came from", "v": how}]
            set_ = [[k, "grad", f"g {_text(step.upstream)}"], [k, "state", "active"]]
            reveal, quiz, edges = [], [], []
            sent = {c.index: c for c in step.contributions}
            for i, _parent in enumerate(node.parents):
                c = sent.get(i)
                name = node.op.input_name(i)
                if c is None:
                    rows.append({"k": f"input {name}", "v": self.input_text(node, i)
                                 + ": needs no gradient, no rule runs"})
                    continue
                to = self.index[id(c.to)]
                edge = next(e for e, (src, dst, j) in enumerate(g.edges)
                            if dst == k and j == i)
                edges.append(edge)
                where = ""
                if c.summed_axes:
                    axes = ", ".join(str(a) for a in c.summed_axes)
                    word = "axis" if len(c.summed_axes) == 1 else "axes"
                    where = (f"broadcast undone: summed {word} {axes} of the rule's "
                             f"{c.raw.shape} result → {node.shapes[i]}")
                rows.append({"k": f"input {name} → {self.short(to)}",
                             "v": f"rule (ops.py): {c.rule}", "rule": True})
                rows.append({"k": f"sends to {name}", "v": _text(c.grad, _NUMBERS_MAX),
                             "n": _numbers(c.grad), "id": f"sent-{i}", "hide": True,
                             **({"note": where} if where else {})})
                arrived.setdefault(to, []).append((k, name, c.grad))
                got = arrived[to]
                total = np.sum([a for _s, _n, a in got], axis=0)
                if type(c.to) is Node:
                    text = (f"g {_text(total)}" if len(got) == users[to]
                            else f"g so far {_text(total)} ({len(got)} of {users[to]})")
                else:
                    text = f"arriving {_text(total)}" + \
                        (f" ({len(got)} parts)" if len(got) > 1 else "")
                reveal.append([to, "grad", text])
                reveal.append([to, "state", "receiving"])
                if c.grad.size <= _QUIZ_MAX and np.all(np.isfinite(c.grad)):
                    quiz.append({"input": name, "to": self.short(to), "rule": c.rule,
                                 "shape": list(c.grad.shape), "expected": _numbers(c.grad),
                                 "upstream": _text(step.upstream, _QUIZ_MAX),
                                 "inputs": [self.input_text(node, j)
                                            for j in range(len(node.parents))]})
            self.add("backward", f"backward step {n} of {total_steps}: "
                     f"{self.title(k)} ({node.op.name})", k, set_, reveal,
                     edges, rows, quiz)
            self.steps[-1]["after"] = [[k, "state", "done"]]  # once the page moves on
        # the end: each leaf's .grad
        set_, rows = [], []
        for k in leaf_ks:
            leaf = self.g.vertices[k]
            if not leaf.requires_grad:
                continue
            got = arrived.get(k, [])
            grad = leaf._grad
            text = "None" if grad is None else _text(grad.array)
            set_ += [[k, "grad", f"grad {text}"], [k, "state", "filled"]]
            parts = "1 contribution" if len(got) == 1 else f"sum of {len(got)} contributions"
            rows.append({"k": f"{self.short(k)}.grad", "v": ("None" if grad is None else
                                                            _text(grad.array, _NUMBERS_MAX))
                         + f"  ({parts} from this pass"
                         + (", added to the .grad it had" if self.before.get(k) is not None
                            else "") + ")",
                         "n": None if grad is None else _numbers(grad.array),
                         "id": f"grad-{k}"})
        self.add("done", "done: every leaf's .grad holds the sum of what reached it", None,
                 set_, rows=rows)


# --- the page -------------------------------------------------------------------------------


def _svg(g: viz._Graph, boxes: list[dict], box_chars: int) -> tuple[str, int, int]:
    """The graph as inline SVG: boxes with ids the page's script fills in, edges routed
    by viz's layout around the boxes; (markup, width, height)."""
    box_px = box_chars * _CHAR + 16
    g.box_w = box_px / _SCALE
    pos, rows, waypoints = viz._layout(g)
    box_h = 4 * _LINE + 10
    pitch = box_h + 58  # pixels from one row to the next
    y_unit = pitch / viz._PITCH_Y
    heights = [box_h / y_unit] * len(g.vertices)
    xs = [x for x, _y in pos.values()] + [x for w in waypoints.values() for x, _y in w]
    half_w = max(abs(x) for x in xs) * _SCALE + box_px / 2 + 24
    width = int(2 * half_w)
    height = int((rows - 1) * pitch + box_h + 48)

    def px(point) -> tuple[float, float]:
        x, y = point
        return round(x * _SCALE + half_w, 1), round(y * y_unit + box_h / 2 + 24, 1)

    out = [f'<svg id="graph" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" role="img">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
           'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
           '<path d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    for e, (_src, dst, i) in enumerate(g.edges):
        route = [px(p) for p in viz._route(g, pos, waypoints, heights, e)]
        points = " ".join(f"{x},{y}" for x, y in route)
        out.append(f'<polyline class="edge" id="e{e}" points="{points}" '
                   'marker-end="url(#arrow)"/>')
        if len(g.vertices[dst].parents) <= 4:
            x, y = route[-1]
            label = html.escape(g.vertices[dst].op.input_name(i))
            out.append(f'<text class="elabel" x="{x + 4}" y="{y + 13}">{label}</text>')
    for k, box in enumerate(boxes):
        cx, cy = px(pos[k])
        x0, y0 = cx - box_px / 2, cy - box_h / 2
        rx = 6 if box["kind"] == "op" else 16
        out.append(f'<g class="box {box["kind"]}" id="v{k}" data-k="{k}">'
                   f'<title>{html.escape(box["title"])}</title>'
                   f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{box_px:.1f}" height="{box_h}" '
                   f'rx="{rx}"/>')
        lines = [("t", _cut(box["title"], box_chars)), ("s", _cut(box["sub"], box_chars)),
                 ("value", ""), ("grad", "")]
        for j, (cls, text) in enumerate(lines):
            out.append(f'<text class="{cls}" id="v{k}-{cls}" x="{cx:.1f}" '
                       f'y="{y0 + 17 + j * _LINE:.1f}">{html.escape(text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out), width, height


class Stepper:
    """The page of one backward pass. ``save(path)`` writes it as one HTML file;
    in Jupyter it shows inline (``_repr_html_``). ``steps`` is the page's data: one
    dict per step (phase, title, vertex, what changes, the panel's rows, the quiz)."""

    def __init__(self, title: str, svg: str, height: int, steps: list[dict],
                 box_chars: int, record) -> None:
        self.title, self.svg, self.steps = title, svg, steps
        self.height = height  # of the picture, in pixels
        self.box_chars = box_chars
        self.record = record  # the explain.BackwardRecord the page was made from

    def html(self) -> str:
        """The whole page: one self-contained HTML document."""
        data = json.dumps({"title": self.title, "steps": self.steps,
                           "chars": self.box_chars}, ensure_ascii=True,
                          allow_nan=False)
        data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return (_PAGE.replace("__TITLE__", html.escape(self.title))
                .replace("__SVG__", self.svg).replace("__CSS__", _CSS)
                .replace("__JS__", _JS).replace("__DATA__", data))

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (UTF-8 HTML); returns the path."""
        path = Path(path)
        try:
            path.write_text(self.html(), encoding="utf-8")
        except OSError as exc:
            raise OSError(f"Stepper.save: cannot write {path} ({exc.strerror})") from None
        return path

    def _repr_html_(self) -> str:
        """The page inside an iframe (its script and styles stay in it), for Jupyter."""
        height = min(max(560, self.height + 90), 900)
        return (f'<iframe srcdoc="{html.escape(self.html(), quote=True)}" '
                f'style="width:100%;height:{height}px;border:1px solid #ccc" '
                'title="stepper"></iframe>')

    def __repr__(self) -> str:
        return f"<Stepper of {self.title!r}: {len(self.steps)} steps>"


def stepper(output: Tensor, gradient: Any = None, retain_graph: bool = False,
            params: Any = None, max_nodes: int = viz.MAX_DRAW_NODES) -> Stepper:
    """Run ``output.backward(gradient, retain_graph)`` (filling ``.grad`` as it does)
    and return the page that steps through it; see the module's docstring.

    ``params`` names unnamed leaves (``model.named_parameters()``); graphs of more
    than ``max_nodes`` boxes raise ValueError (draw a smaller example).
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"viz.stepper: expected the Tensor to differentiate (a loss), got "
                        f"{type(output).__name__}")
    if output.grad_fn is not None and output.grad_fn.freed:
        raise RuntimeError(
            "viz.stepper: a backward already went through this graph and freed it. The "
            "stepper runs the backward pass itself: compute the loss again and call "
            "viz.stepper(loss) instead of loss.backward() (or pass retain_graph=True to "
            "the earlier backward)")
    g = viz._collect(output, params)
    n = len(g.vertices)
    if n > max_nodes:
        raise ValueError(
            f"viz.stepper: this graph has {n} nodes ({g.n_ops} ops, {n - g.n_ops} leaves); "
            f"a page stays readable only up to max_nodes={max_nodes}. Step through a "
            "smaller example (fewer layers, fewer steps: the size of a graph is its "
            "number of ops, not of numbers), or pass a larger max_nodes")
    values, constants = {}, {}
    index = {id(v): k for k, v in enumerate(g.vertices)}
    for k, v in enumerate(g.vertices):  # what the graph saved for backward
        if type(v) is not Node or v.saved is None:
            continue
        for name, array in zip(("a", "b", "out"), v.saved):
            if array is None:
                continue
            if name == "out":
                values[k] = np.array(array)
            elif name in ("a", "b") and len(v.parents) > "ab".index(name):
                i = "ab".index(name)
                parent = v.parents[i]
                if parent is None:
                    constants[(id(v), i)] = np.array(array)
                elif type(parent) is Node:
                    values[index[id(parent)]] = np.array(array)
    for k, v in enumerate(g.vertices):  # what keep_values() kept
        if type(v) is Node:
            if v in _values:
                values[k] = _values[v]
            for i, array in _constants.get(v, {}).items():
                constants[(id(v), i)] = array
    if g.n_ops:
        values[0] = np.array(output.array)
    before = {k: np.array(v._grad.array) for k, v in enumerate(g.vertices)
              if type(v) is not Node and v._grad is not None}
    record = traced_backward(output, gradient, retain_graph, "viz.stepper")
    builder = _Builder(g, record, values, constants, before)
    boxes = [builder.vertex_data(k) for k in range(n)]
    steps = builder.build()
    longest = max([len(b["title"]) for b in boxes] + [len(b["sub"]) for b in boxes]
                  + [len(s[2]) for step in steps for s in step["set"] + step["reveal"]
                     if s[1] != "state"])
    box_chars = int(min(max(longest, 22), 40))
    svg, _width, height = _svg(g, boxes, box_chars)
    title = f"backward of {output.name or 'the output'}"
    return Stepper(title, svg, height, steps, box_chars, record)


viz.stepper, viz.keep_values = stepper, keep_values  # tinygrad_edu.viz.stepper ...


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>__TITLE__</title>
<style>__CSS__</style></head>
<body>
<header><h1>__TITLE__</h1>
<nav>
<button id="reset" title="reset (Home)">reset</button>
<button id="prev" title="previous (←)">◀ previous</button>
<button id="play" title="play / pause (space)">▶ play</button>
<button id="next" title="next (→)">next ▶</button>
<span id="counter"></span>
<label><input type="checkbox" id="quizmode"> quiz mode</label>
<span id="score"></span>
</nav></header>
<main>
<section id="picture">__SVG__</section>
<aside id="panel"><h2 id="steptitle"></h2><div id="phase"></div><dl id="rows"></dl>
<div id="quiz"></div></aside>
</main>
<script id="data" type="application/json">__DATA__</script>
<script>__JS__</script>
</body></html>
"""

_CSS = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; }
header { padding: 8px 14px; border-bottom: 1px solid #ccc; background: #fafafa; }
h1 { font-size: 17px; margin: 0 0 6px 0; }
nav button { font-size: 14px; margin-right: 4px; }
nav span, nav label { margin-left: 12px; font-size: 14px; }
main { display: flex; gap: 12px; padding: 10px; align-items: flex-start; }
#picture { flex: 1 1 auto; overflow: auto; }
#panel { flex: 0 0 400px; font-size: 14px; border-left: 1px solid #ddd; padding-left: 12px; }
#panel h2 { font-size: 15px; margin: 4px 0; }
#phase { color: #666; margin-bottom: 6px; }
dt { font-weight: 600; margin-top: 6px; }
dd { margin: 0 0 0 10px; font-family: ui-monospace, monospace; white-space: pre-wrap;
     word-break: break-word; }
dd.rule { color: #1f4e99; }
dd .note { display: block; color: #a0522d; }
.box rect { fill: #dce9f7; stroke: #333; stroke-width: 1; }
.box.parameter rect { fill: #fde2b8; stroke-width: 2; }
.box.tensor rect { fill: #e6e6e6; }
.box text { font: 12px ui-monospace, monospace; text-anchor: middle; }
.box text.t { font-weight: bold; }
.box.future { opacity: 0.45; }
.box.active rect { stroke: #d62728; stroke-width: 3.5; }
.box.receiving rect { stroke: #2ca02c; stroke-width: 3; }
.box.done rect { fill: #eef3f8; }
.box.filled rect { stroke: #2ca02c; stroke-width: 3; }
.edge { fill: none; stroke: #777; stroke-width: 1.2; }
.edge.flow { stroke: #d62728; stroke-width: 2.6; }
marker path { fill: #777; }
.elabel { font: 11px sans-serif; fill: #1f4e99; }
.question { border: 1px solid #ccc; border-radius: 6px; padding: 6px; margin: 8px 0; }
.question input { width: 70%; font-family: ui-monospace, monospace; }
.verdict { font-weight: 600; margin-top: 4px; }
.exact { color: #2a7d2a; } .close { color: #b8860b; } .wrong { color: #c0392b; }
"""

_JS = r"""
"use strict";
const DATA = JSON.parse(document.getElementById("data").textContent);
const STEPS = DATA.steps;
let current = 0, timer = null;
const answered = {};  // "step/question" -> {verdict, text}
let score = 0, asked = 0;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function cut(text) {
  return text.length <= DATA.chars ? text : text.slice(0, DATA.chars - 1) + "\u2026";
}
function revealed(s) {
  const step = STEPS[s];
  if (!document.getElementById("quizmode").checked || step.quiz.length === 0) return true;
  return step.quiz.every((q, j) => answered[s + "/" + j]);
}
function stateAt(s) {
  const boxes = {};
  for (let i = 0; i <= s; i++) {
    const step = STEPS[i];
    let changes = step.set;
    if (i < s || revealed(i)) changes = changes.concat(step.reveal);
    if (i < s && step.after) changes = changes.concat(step.after);
    for (const [k, field, text] of changes) {
      boxes[k] = boxes[k] || {};
      boxes[k][field] = text;
    }
  }
  return boxes;
}
function render() {
  const step = STEPS[current];
  const boxes = stateAt(current);
  for (const k in boxes) {
    const g = document.getElementById("v" + k);
    const b = boxes[k];
    g.setAttribute("class", "box " + g.classList[1] + " " + (b.state || ""));
    for (const field of ["value", "grad"]) {
      const t = document.getElementById("v" + k + "-" + field);
      if (t) t.textContent = b[field] ? cut(b[field]) : "";
    }
  }
  document.querySelectorAll(".edge").forEach(e => e.classList.remove("flow"));
  for (const e of step.edges) document.getElementById("e" + e).classList.add("flow");
  document.getElementById("steptitle").textContent = step.title;
  document.getElementById("phase").textContent = step.phase + " phase";
  document.getElementById("counter").textContent =
    "step " + current + " / " + (STEPS.length - 1);
  const show = revealed(current);
  const rows = document.getElementById("rows");
  rows.replaceChildren();
  for (const row of step.rows) {
    rows.appendChild(el("dt", "", row.k));
    const hidden = !show && (row.hide || row.rule);
    const dd = el("dd", row.rule ? "rule" : "", hidden ? "? (answer the quiz below)" : row.v);
    if (row.id) dd.id = "row-" + row.id;
    if (row.n && !hidden) dd.dataset.values = JSON.stringify(row.n);
    if (row.note && !hidden) dd.appendChild(el("span", "note", row.note));
    rows.appendChild(dd);
  }
  renderQuiz(step);
  document.getElementById("prev").disabled = current === 0;
  document.getElementById("next").disabled = current === STEPS.length - 1;
}
function parseAnswer(text) {
  const num = "(?:\\d+\\.?\\d*|\\.\\d+)";
  const pattern = new RegExp("[-+]?(?:inf|nan|" + num + "(?:e[-+]?\\d+)?(?:/" + num + ")?)", "gi");
  const found = text.match(pattern);
  if (!found) return [];
  return found.map(t => {
    const low = t.toLowerCase();
    if (low.endsWith("inf")) return low.startsWith("-") ? -Infinity : Infinity;
    if (low.endsWith("nan")) return NaN;
    const parts = t.split("/");
    return parts.length === 2 ? Number(parts[0]) / Number(parts[1]) : Number(t);
  });
}
function judge(q, text) {
  const got = parseAnswer(text);
  const want = q.expected.map(Number);
  if (got.length !== want.length && got.length !== 1)
    return {verdict: "wrong", text: "wrong: expected " + want.length + " number(s) for shape (" +
            q.shape.join(", ") + "), got " + got.length};
  let diff = 0, scale = 0;
  want.forEach((w, i) => {
    const g = got.length === 1 ? got[0] : got[i];
    diff = Math.max(diff, Number.isNaN(g) ? Infinity : Math.abs(g - w));
    scale = Math.max(scale, Math.abs(w));
  });
  if (diff <= 1e-9 * (1 + scale)) return {verdict: "exact", text: "exact"};
  if (diff <= 1e-2 * (1 + scale))
    return {verdict: "close", text: "close: max difference " + diff.toPrecision(3)};
  return {verdict: "wrong", text: "wrong: max difference " + diff.toPrecision(3)};
}
function renderQuiz(step) {
  const box = document.getElementById("quiz");
  box.replaceChildren();
  if (!document.getElementById("quizmode").checked || step.quiz.length === 0) return;
  step.quiz.forEach((q, j) => {
    const key = current + "/" + j;
    const div = el("div", "question");
    div.appendChild(el("div", "", "What does this step send to input " + q.input + " (\u2192 " +
      q.to + "), shape (" + q.shape.join(", ") + ")? Upstream g = " + q.upstream + "; " +
      q.inputs.join("; ")));
    const input = el("input");
    input.id = "answer-" + j;
    input.placeholder = "e.g. 2.5 or [1, 0.5, 4]";
    const button = el("button", "", "check");
    button.id = "check-" + j;
    div.appendChild(input);
    div.appendChild(button);
    const verdict = el("div", "verdict");
    verdict.id = "verdict-" + j;
    if (answered[key]) {
      verdict.className = "verdict " + answered[key].verdict;
      verdict.textContent = answered[key].text + ". Rule: " + q.rule + "; the answer: [" +
        q.expected.join(", ") + "]";
      input.value = answered[key].answer;
    }
    div.appendChild(verdict);
    button.addEventListener("click", () => {
      const result = judge(q, input.value);
      if (!answered[key]) {
        asked += 1;
        if (result.verdict !== "wrong") score += 1;
      }
      answered[key] = {verdict: result.verdict, text: result.text, answer: input.value};
      document.getElementById("score").textContent = "score " + score + " / " + asked;
      render();
    });
    input.addEventListener("keydown", ev => { if (ev.key === "Enter") button.click(); });
    box.appendChild(div);
  });
}
function go(s) { current = Math.max(0, Math.min(STEPS.length - 1, s)); render(); }
function stop() {
  if (timer) { clearInterval(timer); timer = null; }
  document.getElementById("play").textContent = "\u25b6 play";
}
function play() {
  if (timer) { stop(); return; }
  if (current === STEPS.length - 1) go(0);
  document.getElementById("play").textContent = "\u23f8 pause";
  timer = setInterval(() => { if (current >= STEPS.length - 1) stop(); else go(current + 1); },
                      900);
}
document.getElementById("next").addEventListener("click", () => go(current + 1));
document.getElementById("prev").addEventListener("click", () => go(current - 1));
document.getElementById("reset").addEventListener("click", () => { stop(); go(0); });
document.getElementById("play").addEventListener("click", play);
document.getElementById("quizmode").addEventListener("change", render);
document.addEventListener("keydown", ev => {
  if (ev.target && ev.target.tagName === "INPUT" && ev.target.type !== "checkbox") return;
  if (ev.key === "ArrowRight") { go(current + 1); ev.preventDefault(); }
  else if (ev.key === "ArrowLeft") { go(current - 1); ev.preventDefault(); }
  else if (ev.key === "Home") { stop(); go(0); ev.preventDefault(); }
  else if (ev.key === " ") { play(); ev.preventDefault(); }
});
render();
"""
