"""Graph pictures and text: DOT that parses, a text tree, a matplotlib figure, counts.

The expected node and edge counts are worked out by hand from the expressions
(an op Node per recorded op, a box per leaf that requires grad, an edge per input
that needs a gradient), never by the code under test.
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import names
from tinygrad_edu.engine import observing
from tinygrad_edu.explain import Trace
from tinygrad_edu.viz import MAX_DRAW_NODES, draw_graph, graph_stats, to_dot, to_text

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def quadratic_loss():
    """The articles' model on 3 points: loss = sum(0.5 * (w*x^2 + b - y)^2).

    Recorded ops: mul (w*x2), add (+b), sub (-y), pow (**2), mul (0.5*), sum: 6 nodes.
    Leaves: w, b. Edges: w->mul, mul->add, b->add, add->sub, sub->pow, pow->mul,
    mul->sum: 7.
    """
    x = tg.tensor([-1.0, 0.5, 2.0], name="x")
    y = tg.tensor([5.1, 2.8, 14.0], name="y")
    w = tg.tensor(1.0, requires_grad=True, name="w")
    b = tg.tensor(0.5, requires_grad=True, name="b")
    loss = (0.5 * (w * x**2 + b - y) ** 2).sum()
    loss.name = "loss"
    return loss, w, b


def tanh_chain(steps):
    """h <- tanh(h*w_i + b_i), then a sum: 3 ops and 2 leaves a step, plus the sum."""
    h = tg.tensor(np.linspace(-1, 1, 4), name="x")
    for i in range(steps):
        w = tg.tensor(0.5 + 0.1 * i, requires_grad=True, name=f"w{i}")
        b = tg.tensor(0.1 * i, requires_grad=True, name=f"b{i}")
        h = (h * w + b).tanh()
    out = h.sum()
    out.name = "out"
    return out


def wide_stack(n):
    """sum(stack([w_i * x])): n leaves, n muls, n reshapes (unsqueeze), 1 cat, 1 sum."""
    x = tg.tensor([1.0, 2.0], name="x")
    ws = [tg.tensor(float(i), requires_grad=True, name=f"w{i}") for i in range(n)]
    out = tg.stack([w * x for w in ws]).sum()
    out.name = "total"
    return out


# --- a tiny DOT parser (enough for what to_dot writes) --------------------------------

NODE_RE = re.compile(r'^\s*(\w+)\s*\[(.*)\];\s*$')
EDGE_RE = re.compile(r'^\s*(\w+)\s*->\s*(\w+)\s*(\[(.*)\])?;\s*$')
LABEL_RE = re.compile(r'label="((?:[^"\\]|\\.)*)"')


def parse_dot(text):
    """Return (nodes: {id: label}, edges: [(src, dst, label)]); assert it is a digraph."""
    lines = text.strip().splitlines()
    assert re.match(r'^digraph\s+"(?:[^"\\]|\\.)*"\s*\{$', lines[0]), lines[0]
    assert lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        line = line.split("//")[0] if "->" not in line else line
        if not line.strip() or re.match(r"^\s*(rankdir|node|edge|graph)\b", line):
            continue
        edge = EDGE_RE.match(line)
        if edge:
            label = LABEL_RE.search(edge.group(4) or "")
            edges.append((edge.group(1), edge.group(2), label and label.group(1)))
            continue
        node = NODE_RE.match(line)
        assert node, f"not a DOT statement: {line!r}"
        label = LABEL_RE.search(node.group(2))
        assert label, f"node without a label: {line!r}"
        nodes[node.group(1)] = label.group(1).replace("\\n", "\n").replace('\\"', '"')
    for src, dst, _label in edges:
        assert src in nodes and dst in nodes, f"edge {src} -> {dst} to an undeclared node"
    return nodes, edges


# --- DOT ------------------------------------------------------------------------------


def test_dot_of_the_quadratic_loss_has_8_nodes_and_7_edges():
    loss, _w, _b = quadratic_loss()
    nodes, edges = parse_dot(to_dot(loss))
    assert len(nodes) == 8
    assert len(edges) == 7
    labels = list(nodes.values())
    for name in ["SumBackward", "PowBackward", "SubBackward", "AddBackward"]:
        assert sum(name in label for label in labels) == 1
    assert sum("MulBackward" in label for label in labels) == 2
    assert any(label.startswith("w\n") for label in labels)
    assert any(label.startswith("b\n") for label in labels)


def test_dot_edges_run_from_input_to_op_labelled_with_the_input_name():
    loss, _w, _b = quadratic_loss()
    nodes, edges = parse_dot(to_dot(loss))
    by_first_line = {label.split("\n")[0]: ident for ident, label in nodes.items()}
    w, b = by_first_line["w"], by_first_line["b"]
    add = next(i for i, label in nodes.items() if "AddBackward" in label)
    assert (b, add, "b") in edges  # b is input b of w*x^2 + b
    assert [e for e in edges if e[0] == w][0][2] == "a"  # w is input a of w * x^2
    # the loss (a sum) is the only node no edge leaves
    sinks = set(nodes) - {src for src, _dst, _l in edges}
    assert [nodes[s].split("\n")[0] for s in sinks] == ["[1] SumBackward"]


def test_dot_same_input_twice_gives_two_edges():
    """x*x: one node, one leaf, and two edges (inputs a and b) between them."""
    x = tg.tensor([1.0, 2.0], requires_grad=True, name="x")
    nodes, edges = parse_dot(to_dot(x * x))
    assert len(nodes) == 2
    assert sorted(label for _s, _d, label in edges) == ["a", "b"]


def test_dot_of_a_diamond_and_of_a_leaf():
    """a -> (2a, 3a) -> product: mul, mul, mul and the leaf a; 4 edges. A leaf alone:
    one node, no edges."""
    a = tg.tensor([1.0, -0.5], requires_grad=True, name="a")
    nodes, edges = parse_dot(to_dot((a * 2) * (a * 3)))
    assert (len(nodes), len(edges)) == (4, 4)
    nodes, edges = parse_dot(to_dot(a))
    assert (len(nodes), len(edges)) == (1, 0)
    nodes, edges = parse_dot(to_dot(tg.tensor([1.0, 2.0])))  # needs no grad at all
    assert (len(nodes), len(edges)) == (1, 0)


def test_dot_escapes_quotes_in_names():
    w = tg.tensor(2.0, requires_grad=True, name='w "weight" \\ 1')
    out = w * 3
    out.name = 'say "hi"'
    nodes, _edges = parse_dot(to_dot(out))
    assert any('w "weight"' in label for label in nodes.values())


def test_dot_is_unchanged_in_structure_after_backward():
    """backward frees saved values but keeps op, parents and shapes: same graph."""
    loss, w, _b = quadratic_loss()
    before = parse_dot(to_dot(loss, show_grads=False))
    loss.backward()
    after = parse_dot(to_dot(loss, show_grads=False))
    assert before == after
    assert any("grad -42.11" in label for label in parse_dot(to_dot(loss))[0].values())
    assert w.grad is not None


def test_dot_counts_of_the_60_node_graphs():
    nodes, edges = parse_dot(to_dot(tanh_chain(12)))
    assert len(nodes) == 12 * 5 + 1  # 3 ops + 2 leaves per step, and the sum
    assert len(edges) == 12 * 5  # per step: h->mul, w->mul, mul->add, b->add, add->tanh
    nodes, edges = parse_dot(to_dot(wide_stack(20)))
    assert len(nodes) == 20 * 3 + 2
    assert len(edges) == 20 * 3 + 1


# --- text tree ------------------------------------------------------------------------


def test_text_tree_of_the_quadratic_loss():
    loss, _w, _b = quadratic_loss()
    text = to_text(loss)
    lines = text.splitlines()
    assert lines[0].startswith("[1] SumBackward")
    assert "loss = 53.71" in lines[0]
    order = [re.search(r"\[(\d)\] (\w+)", line).group(2) for line in lines
             if re.search(r"\[\d\] ", line)]
    assert order == ["SumBackward", "MulBackward", "PowBackward", "SubBackward",
                     "AddBackward", "MulBackward"]
    assert sum("(parameter)" in line for line in lines) == 2
    assert sum("constant" in line for line in lines) == 4  # 0.5, y, 2 (the power), x^2
    w_line = next(line for line in lines if "a: w (parameter)" in line)
    assert "value 1" in w_line and "grad None" in w_line
    # deeper lines are indented further
    assert lines[-1].index("└─") > lines[1].index("└─")


def test_text_tree_writes_a_shared_node_once():
    a = tg.tensor([1.0, -0.5], requires_grad=True, name="a")
    shared = a.exp()
    text = to_text(shared * shared.tanh())
    assert text.count("ExpBackward") == 2  # under mul (a), under tanh (a)
    assert text.count("(see above)") == 1  # the second time only by reference
    assert text.count("a (parameter)") == 1


def test_text_tree_for_60_nodes_and_a_deep_chain():
    text = to_text(tanh_chain(12))
    assert text.count("(parameter)") == 24
    assert text.count("TanhBackward") == 12
    x = tg.tensor(1.0, requires_grad=True)
    h = x
    for _ in range(20_000):  # no recursion: any depth works; the text is cut
        h = h * 1.0
    text = to_text(h, max_lines=50)
    assert len(text.splitlines()) == 51
    assert "cut at 50 lines" in text and "20000 ops" in text


def test_text_tree_after_backward_shows_grads():
    loss, _w, _b = quadratic_loss()
    loss.backward()
    text = to_text(loss)
    assert "grad -42.11" in text and "grad -15.15" in text


# --- counts ---------------------------------------------------------------------------


def test_graph_stats_of_the_quadratic_loss():
    loss, _w, _b = quadratic_loss()
    s = graph_stats(loss)
    assert (s.nodes, s.ops, s.leaves, s.depth) == (8, 6, 2, 6)
    assert s.ops_by_kind == {"add": 1, "mul": 2, "pow": 1, "sub": 1, "sum": 1}
    # backward calls one rule per input that needs a gradient, skips the 4 constants
    assert (s.rule_calls, s.rules_skipped, s.constants) == (7, 4, 4)
    assert s.freed == 0
    assert "7 rule calls" in str(s) and "6 ops recorded" in str(s)
    loss.backward()
    assert graph_stats(loss).freed == 6


@pytest.mark.parametrize("make", [lambda: quadratic_loss()[0], lambda: tanh_chain(5),
                                  lambda: wide_stack(6)], ids=["quadratic", "chain", "wide"])
def test_graph_stats_rule_calls_match_a_traced_backward(make):
    """The count is what the engine does: one TraceStep per op, one contribution per rule."""
    out = make()
    stats = graph_stats(out)
    with observing(Trace()) as trace:
        out.backward(tg.ones_like(out))
    steps = trace.steps
    assert len(steps) == stats.ops
    assert sum(len(step.contributions) for step in steps) == stats.rule_calls


def test_graph_stats_of_a_leaf():
    s = graph_stats(tg.tensor([1.0], requires_grad=True))
    assert (s.nodes, s.ops, s.leaves, s.depth, s.rule_calls) == (1, 0, 1, 0, 0)


# --- the figure -----------------------------------------------------------------------


def figure_texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_figure_of_the_quadratic_loss_is_saved_as_png(tmp_path):
    loss, _w, _b = quadratic_loss()
    loss.backward()
    path = tmp_path / "quadratic.png"
    fig = draw_graph(loss, path)
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    texts = "\n".join(figure_texts(fig))
    for expected in ["[1] SumBackward", "[6] MulBackward", "w", "grad -42.11", "grad -15.15",
                     "loss = 53.71", "saved values freed"]:
        assert expected in texts
    width, height = fig.get_size_inches()
    assert 5 < width < 12 and 5 < height < 15


def test_figure_options_hide_values_and_grads(tmp_path):
    loss, _w, _b = quadratic_loss()
    loss.backward()
    texts = "\n".join(figure_texts(draw_graph(loss, show_values=False, show_grads=False)))
    assert "grad -42.11" not in texts and "value 1" not in texts and "53.71" not in texts
    assert "shape ()" in texts  # the shapes stay


@pytest.mark.parametrize("make, name", [(lambda: tanh_chain(12), "chain"),
                                        (lambda: wide_stack(20), "wide")],
                         ids=["deep-chain-61-nodes", "wide-stack-62-nodes"])
def test_figure_of_about_60_nodes(tmp_path, make, name):
    out = make()
    out.backward()
    path = tmp_path / f"{name}.png"
    fig = draw_graph(out, path)
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 50_000
    width, height = fig.get_size_inches() * fig.dpi
    assert max(width, height) < 10_000  # big, but an ordinary picture
    assert sum(t.startswith("w") and "\n" not in t for t in figure_texts(fig)) >= 12


def test_figure_can_be_svg(tmp_path):
    loss, _w, _b = quadratic_loss()
    path = tmp_path / "quadratic.svg"
    draw_graph(loss, path)
    assert path.read_text()[:200].lstrip().startswith("<?xml")


def test_figure_refuses_a_graph_too_big_to_read():
    out = tanh_chain(40)  # 201 nodes
    with pytest.raises(ValueError) as info:
        draw_graph(out)
    msg = str(info.value)
    for expected in ["201 nodes", f"up to {MAX_DRAW_NODES}", "to_text", "to_dot"]:
        assert expected in msg
    with pytest.raises(ValueError, match="7 nodes"):
        draw_graph(tanh_chain(1) * 2, max_nodes=5)


def test_importing_viz_does_not_import_matplotlib():
    code = "import sys, tinygrad_edu.viz, tinygrad_edu.explain; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_named_intermediate_tensors_label_their_ops():
    """y_pred.name = "y_pred" labels the op that made it, in the tree and in DOT."""
    w = tg.tensor(2.0, requires_grad=True, name="w")
    y_pred = w * tg.tensor([1.0, 2.0])
    y_pred.name = "y_pred"
    loss = y_pred.sum()
    assert "y_pred = mul" in tg.to_text(loss)
    assert "y_pred = mul" in tg.to_dot(loss)
    assert names.of(y_pred.grad_fn) == "y_pred"


def test_recorded_inplace_keeps_the_label_on_the_new_op():
    """c += 1 on a named non-leaf: the op that now makes c carries c's name."""
    a = tg.tensor([1.0], requires_grad=True)
    c = a * 2
    c.name = "c"
    c += 1
    assert names.of(c.grad_fn) == "c" and "c = add" in tg.to_text(c.sum())


# --- pictures a learner can trust: edges around boxes, names kept, nothing cut ---------

def _crossings(t, height=0.7):
    """(edge, box) pairs where an edge's drawn route passes through a box that is not
    one of its two ends, in draw_graph's layout (every box `height` inches tall)."""
    from tinygrad_edu import viz
    g = viz._collect(t)
    pos, _rows, waypoints = viz._layout(g)
    heights = [height] * len(g.vertices)
    found = []
    for e, (src, dst, _i) in enumerate(g.edges):
        route = viz._route(g, pos, waypoints, heights, e)
        for (x0, y0), (x1, y1) in zip(route, route[1:]):
            for s in np.linspace(0.02, 0.98, 60):
                px, py = x0 + s * (x1 - x0), y0 + s * (y1 - y0)
                for k, (bx, by) in pos.items():
                    if k in (src, dst):
                        continue
                    if abs(px - bx) < g.box_w / 2 and abs(py - by) < height / 2:
                        found.append((e, k))
    return sorted(set(found))


def test_edges_go_around_boxes_in_the_issue_example_and_with_skip_connections():
    a, b, c = (tg.tensor([1.0, 2.0], requires_grad=True) for _ in range(3))
    h = (a * b).tanh()
    z = h * c + a.exp()  # a feeds the first op and the last: its edge crosses 2 layers
    assert _crossings(z) == []
    x = tg.tensor([0.5, -0.25], requires_grad=True)
    out = x
    for _ in range(4):  # residual blocks: out + f(out), each skip jumps two layers
        out = out + (out * 2).tanh()
    y = (out * x).sum() + x.sum()  # and x itself reaches the very end
    assert _crossings(y) == []


def test_named_constants_parameters_and_composites_keep_their_names():
    from tinygrad_edu import nn
    from tinygrad_edu.explain import explain_backward
    x = tg.tensor([1.0, 2.0, 3.0], name="x")
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True, name="w")
    y = (w * x).mean()
    text = to_text(y)
    assert "[1] MulBackward (last op of mean)" in text and "b: constant x (3,)" in text
    assert "constant b: x (3,)" in to_dot(y)
    record = explain_backward(y)
    assert any(r.to == "constant x (3,)" for r in record.rows)
    assert "mul, last op of mean" in str(record)
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2))
    out = model(tg.ones(1, 2)).sum()
    named = to_text(out, params=model.named_parameters())
    assert "0.weight (parameter)" in named and "0.bias (parameter)" in named
    assert "0.weight" not in to_text(out)  # without params=, a bare "parameter"
    with pytest.raises(TypeError, match="named_parameters"):
        to_text(out, params=3)


def test_the_header_lines_do_not_overlap_and_box_text_is_not_cut(tmp_path):
    a = tg.tensor([1.0, 2.0], requires_grad=True, name="a")
    loss = ((a * 3.0).tanh() * a).sum()
    loss.backward()  # the title gets its "after backward" line
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    fig = draw_graph(loss)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    texts = [t for t in fig.axes[0].texts if t.get_text()]
    boxes = [t.get_window_extent(renderer) for t in texts]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (texts[i].get_text(), texts[j].get_text())
    assert not any("…" in t.get_text() for t in texts)
    assert any("after backward" in t.get_text() for t in texts)


def test_naming_a_parameter_does_not_start_the_constant_names_watch():
    """Only a named constant needs the observer that notes names for the ops using it;
    a named parameter (a vertex of the graph) must not add it to every later op."""
    import subprocess
    import sys
    code = ("import tinygrad_edu as tg\nfrom tinygrad_edu.engine import state\n"
            "tg.tensor([1.0], requires_grad=True, name='w')\n"
            "tg.Tensor([1.0], requires_grad=True, name='v')\n"
            "assert state.observers == [], state.observers\n"
            "tg.tensor([1.0], name='x')\n"
            "assert len(state.observers) == 1, state.observers\n")
    subprocess.run([sys.executable, "-c", code], check=True)
