"""See the graph: Graphviz DOT text, an indented text tree, a picture, and counts.

The graph of a tensor ``t`` is what ``t.backward()`` walks:

* ``t.grad_fn``, the Node of the op that made ``t`` (one recorded op);
* every Node reached from it through ``.parents``;
* the leaf tensors at the edges (parents that are Tensors: leaves that require grad).

An input that needs no gradient (data, a Python number) is ``None`` in ``parents``:
for autograd it is a constant. It is not a node of the graph; it appears as a note on
the op that used it ("constant b ()").

Arrows point the way the forward pass went, from an input to the op that used it;
backward walks them in reverse. Nothing here changes the graph, and it works after a
``backward()`` too: the saved values are freed then, but the structure (op, parents,
shapes) stays, and leaves show their ``.grad``.

Only NumPy is needed; ``draw_graph`` imports matplotlib when it is called.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import names
from .engine import Node, toposort
from .tensor import Tensor

__all__ = ["MAX_DRAW_NODES", "GraphStats", "draw_graph", "graph_stats", "to_dot", "to_text"]

MAX_DRAW_NODES = 80  # beyond this a picture is no longer readable: draw_graph refuses

# colours of the three kinds of box (DOT and matplotlib use the same)
_OP_COLOR = "#dce9f7"  # an op: a Node
_PARAM_COLOR = "#fde2b8"  # a parameter: a leaf tensor with requires_grad=True
_TENSOR_COLOR = "#e6e6e6"  # a tensor that needs no gradient (only when it is the root)


# --- short text for values --------------------------------------------------------------


def _count(n: int, word: str) -> str:
    """'1 node', '2 nodes'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _num(v: float) -> str:
    return f"{float(v):.4g}"


def _short(array, max_elements: int = 3) -> str:
    """An array as short text: the numbers when there are few, else a summary."""
    a = np.asarray(array)
    if a.size == 0:
        return f"empty {a.shape}"
    if a.ndim == 0:
        return _num(a.item())
    if a.size <= max_elements:
        text = np.array2string(a, separator=", ", max_line_width=10_000,
                               formatter={"float_kind": _num, "int": str, "bool": str})
        return text.replace("\n", "")
    low, high = np.min(a), np.max(a)
    if low == high:
        return f"{a.shape} all {_num(low)}"
    return f"{a.shape} in [{_num(low)}, {_num(high)}]"


# --- collecting the graph ---------------------------------------------------------------


@dataclass
class _Graph:
    """The graph of one tensor, as lists (vertex k is ``vertices[k]``).

    Vertices: the Nodes first, in the order backward visits them (the output's own node
    is 0), then the leaf tensors in the order they were reached. ``depth[k]`` is the
    length of the longest path from the output down to vertex k.
    """

    root: Tensor
    vertices: list  # Node or leaf Tensor
    edges: list[tuple[int, int, int]]  # (input vertex, op vertex, input index)
    constants: dict[int, list[tuple[int, tuple]]]  # op vertex -> [(input index, shape)]
    depth: list[int]
    leaf_names: dict[int, str]  # id(leaf) -> name, from the params= argument
    box_w: float = 2.0  # the picture's box width in inches (draw_graph widens it)

    def out_shape(self, k: int) -> tuple[int, ...]:
        """The shape of what op vertex k made: the root's, or an input shape of a user."""
        if k == 0:
            return self.root.shape
        for src, dst, i in self.edges:
            if src == k:
                return self.vertices[dst].shapes[i]
        raise ValueError(f"vertex {k} has no user")  # cannot happen: the graph is connected

    @property
    def n_ops(self) -> int:
        return sum(type(v) is Node for v in self.vertices)


def _param_names(params: Any) -> dict[int, str]:
    """{id(tensor): name} from a dict or pairs (``model.named_parameters()``)."""
    if params is None:
        return {}
    pairs = params.items() if isinstance(params, Mapping) else params
    try:
        return {id(t): str(name) for name, t in pairs}
    except (TypeError, ValueError):
        raise TypeError("params must be a dict or (name, tensor) pairs, e.g. "
                        "dict(model.named_parameters())") from None


def _collect(t: Tensor, params: Any = None) -> _Graph:
    if not isinstance(t, Tensor):
        raise TypeError(f"expected a Tensor, got {type(t).__name__}")
    leaf_names = _param_names(params)
    if t.grad_fn is None:  # a leaf: the whole graph is the tensor itself
        return _Graph(t, [t], [], {}, [0], leaf_names)
    # toposort puts every node after its inputs; reversed, the output comes first
    nodes = list(reversed(toposort([t.grad_fn])))
    index: dict = {node: k for k, node in enumerate(nodes)}
    vertices: list = list(nodes)
    edges, constants = [], {}
    for k, node in enumerate(nodes):
        for i, parent in enumerate(node.parents):
            if parent is None:
                constants.setdefault(k, []).append((i, node.shapes[i]))
                continue
            if parent not in index:  # a leaf tensor, seen for the first time
                index[parent] = len(vertices)
                vertices.append(parent)
            edges.append((index[parent], k, i))
    # Edges come grouped by their op in that order, so every user of a vertex is
    # handled before the vertex's own inputs: one pass gives the longest paths.
    depth = [0] * len(vertices)
    for src, dst, _i in edges:
        depth[src] = max(depth[src], depth[dst] + 1)
    return _Graph(t, vertices, edges, constants, depth, leaf_names)



def _kind(v) -> str:
    if type(v) is Node:
        return "op"
    return "parameter" if v.requires_grad else "tensor"


def _leaf_title(g: _Graph, leaf: Tensor) -> str:
    return leaf.name or g.leaf_names.get(id(leaf)) or \
        ("parameter" if leaf.requires_grad else "tensor")


def _op_title(k: int, node: Node) -> str:
    """'[1] MulBackward', and what the user called when the op ends a composite:
    '[1] MulBackward (last op of mean)'."""
    what = names.composite(node)
    return f"[{k + 1}] {node.name()}" + (f" (last op of {what})" if what else "")


def _constant(node: Node, i: int, shape: tuple) -> str:
    """'x (3,)' for a constant named x, else '(3,)'."""
    name = names.constant(node, i)
    return f"{name} {shape}" if name else f"{shape}"


def _box_lines(g: _Graph, k: int, show_values: bool, show_grads: bool) -> list[str]:
    """The text of vertex k's box: what it is, its shape, small values."""
    v = g.vertices[k]
    if type(v) is Node:
        name = names.of(v)
        made = f"{name} = " if name and k != 0 else ""  # the root: below
        lines = [_op_title(k, v), f"{made}{v.op.name} → {g.out_shape(k)}"]
        consts = g.constants.get(k, [])
        if consts:
            lines.append("constant " + ", ".join(f"{v.op.input_name(i)}: "
                                                 f"{_constant(v, i, shape)}"
                                                 for i, shape in consts))
        if k == 0:  # the output itself: we hold its tensor, so we know its value
            name = g.root.name or "output"
            lines.append(f"{name} = {_short(g.root.array)}" if show_values else name)
        return lines
    lines = [_leaf_title(g, v), f"shape {v.shape}"]
    if show_values:
        lines.append(f"value {_short(v.array)}")
    if show_grads and v.requires_grad:
        lines.append("grad " + ("None" if v.grad is None else _short(v.grad.array)))
    return lines


# --- DOT text ---------------------------------------------------------------------------


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(tensor: Tensor, show_values: bool = True, show_grads: bool = True,
           params: Any = None) -> str:
    """The graph of ``tensor`` as Graphviz DOT text (render it with ``dot -Tpng``).

    One DOT node per op Node and per leaf tensor; one edge per input that needs a
    gradient, from the input to the op, labelled with the input's name (a, b).
    ``params`` (``dict(model.named_parameters())``, as torchviz's make_dot) names the
    leaves that have no name of their own.
    """
    g = _collect(tensor, params)
    colors = {"op": _OP_COLOR, "parameter": _PARAM_COLOR, "tensor": _TENSOR_COLOR}
    shapes = {"op": "box", "parameter": "ellipse", "tensor": "ellipse"}
    out = [f"digraph {_dot_quote(tensor.name or 'graph')} {{",
           "  rankdir=TB;  // the forward pass runs down the page",
           '  node [fontname="Helvetica", fontsize=10, style="rounded,filled"];']
    for k in range(len(g.vertices)):
        kind = _kind(g.vertices[k])
        label = "\n".join(_box_lines(g, k, show_values, show_grads))
        out.append(f"  n{k} [label={_dot_quote(label)}, shape={shapes[kind]}, "
                   f'fillcolor="{colors[kind]}"];')
    for src, dst, i in g.edges:
        out.append(f"  n{src} -> n{dst} [label={_dot_quote(g.vertices[dst].op.input_name(i))}];")
    out.append("}")
    return "\n".join(out) + "\n"


# --- text tree --------------------------------------------------------------------------


def _tree_line(g: _Graph, k: int, show_values: bool, show_grads: bool) -> str:
    v = g.vertices[k]
    if type(v) is Node:
        name = names.of(v)
        made = f"{name} = " if name and k != 0 else ""  # the root: below
        text = f"{_op_title(k, v)}  {made}{v.op.name} → {g.out_shape(k)}"
        if k == 0:
            name = g.root.name or "output"
            text += f"  ({name} = {_short(g.root.array)})" if show_values else f"  ({name})"
        return text
    lines = _box_lines(g, k, show_values, show_grads)
    title = lines[0] if lines[0] == _kind(v) else f"{lines[0]} ({_kind(v)})"
    return title + "  " + "  ".join(lines[1:])


def to_text(tensor: Tensor, show_values: bool = True, show_grads: bool = True,
            max_lines: int = 400, params: Any = None) -> str:
    """The graph of ``tensor`` as an indented tree, output at the top.

    Op nodes are numbered ``[1]``, ``[2]`` ... in the order backward visits them (the
    step numbers of ``explain_backward``). Under each op come its inputs in order
    (``a:``, ``b:``); a node used twice is written out once, then "(see above)".
    ``params``: names for leaves, e.g. ``model.named_parameters()``.
    """
    g = _collect(tensor, params)
    lines = [_tree_line(g, 0, show_values, show_grads)]
    children = {k: [] for k in range(len(g.vertices))}  # op vertex -> [(i, vertex or None)]
    for src, dst, i in g.edges:
        children[dst].append((i, src))
    for k, consts in g.constants.items():
        children[k].extend((i, None) for i, _shape in consts)
    for k in children:
        children[k].sort()
    expanded = {0}
    # explicit stack (no recursion, so any depth works): (input index, vertex, op, prefix, last)
    stack = [(i, src, 0, "", n == len(children[0]) - 1)
             for n, (i, src) in enumerate(children[0])][::-1]
    while stack:
        if len(lines) >= max_lines:
            lines.append(f"... (cut at {max_lines} lines; the graph has {g.n_ops} ops: "
                         "graph_stats() gives the counts)")
            break
        i, k, user, prefix, last = stack.pop()
        node = g.vertices[user]
        head = prefix + ("└─ " if last else "├─ ") + node.op.input_name(i) + ": "
        if k is None:
            lines.append(head + f"constant {_constant(node, i, node.shapes[i])}")
            continue
        line = _tree_line(g, k, show_values, show_grads)
        if k in expanded:
            lines.append(head + line + "  (see above)")
            continue
        lines.append(head + line)
        expanded.add(k)
        below = prefix + ("   " if last else "│  ")
        kids = children[k]
        stack.extend((j, src, k, below, n == len(kids) - 1)
                     for n, (j, src) in reversed(list(enumerate(kids))))
    return "\n".join(lines) + "\n"


# --- counts -----------------------------------------------------------------------------


@dataclass
class GraphStats:
    """Counts for one graph (``print`` it for a summary)."""

    nodes: int  # ops + leaves: the boxes of draw_graph, the nodes of to_dot
    ops: int  # op Nodes: each is one op the forward pass ran and recorded
    leaves: int  # leaf tensors at the edges of the graph
    constants: int  # op inputs that need no gradient (data, numbers)
    depth: int  # ops on the longest path from the output to a leaf
    ops_by_kind: dict[str, int]  # op name -> how many times it was recorded
    rule_calls: int  # backward rules a backward pass calls: one per input needing a gradient
    rules_skipped: int  # rules it does not call: their input is a constant
    freed: int  # nodes whose saved values a backward already freed

    def __str__(self) -> str:
        kinds = ", ".join(f"{name} {n}" for name, n in self.ops_by_kind.items())
        leaves = f"{self.leaves} leaf" if self.leaves == 1 else f"{self.leaves} leaves"
        text = (f"{_count(self.nodes, 'node')}: {_count(self.ops, 'op')} and {leaves}; "
                f"depth {self.depth}\n"
                f"ops by kind: {kinds or 'none'}\n"
                f"forward pass: {_count(self.ops, 'op')} recorded; backward pass: "
                f"{_count(self.rule_calls, 'rule call')} (one per input that needs a "
                f"gradient), {self.rules_skipped} skipped (constant inputs)")
        if self.freed:
            text += f"\n{self.freed} of {self.ops} nodes freed by a backward (structure kept)"
        return text


def graph_stats(tensor: Tensor) -> GraphStats:
    """Node count, depth, ops by kind, and how many rules a backward pass calls."""
    g = _collect(tensor)
    nodes = [v for v in g.vertices if type(v) is Node]
    kinds = Counter(node.op.name for node in nodes)
    consts = sum(len(c) for c in g.constants.values())
    depth = max((g.depth[k] + 1 for k, v in enumerate(g.vertices) if type(v) is Node),
                default=0)
    return GraphStats(
        nodes=len(g.vertices), ops=len(nodes), leaves=len(g.vertices) - len(nodes),
        constants=consts, depth=depth, ops_by_kind=dict(sorted(kinds.items())),
        rule_calls=len(g.edges), rules_skipped=consts,
        freed=sum(node.freed for node in nodes))


# --- the picture ------------------------------------------------------------------------

# sizes in inches (the axes use inches as data units, so nothing is stretched)
_GAP_X = 0.25  # between two boxes of a row
_BOX_W = 2.0  # the narrowest box; boxes widen (up to _MAX_BOX_W) to fit their text
_MAX_BOX_W = 3.6
_PITCH_Y = 1.2  # from one row to the next
_LINE_H = 0.15  # one line of 8-point text
_MAX_COLS = 7  # a wider layer wraps onto more rows


def _layout(g: _Graph) -> tuple[dict, int, dict]:
    """Box centres, the number of rows, and the waypoints of the long edges.

    One layer per depth (the output at the bottom, leaves above). An edge that spans
    several layers (a skip connection: ``a`` used by ``exp`` at the bottom and by ``mul``
    at the top) gets a waypoint in each layer it crosses, which takes a place in that
    layer like a box, so no box sits in its way. Inside a layer, boxes and waypoints
    are sorted by where their arrows end (the mean over their users), which keeps most
    arrows from crossing. A layer wider than _MAX_COLS is spread over several rows.
    """
    # the places in each layer: ("v", k) for vertex k, ("w", e, d) for edge e at depth d
    places: dict[int, list] = {}
    for k, d in enumerate(g.depth):
        places.setdefault(d, []).append(("v", k))
    below: dict = {("v", k): [] for k in range(len(g.vertices))}  # place -> where it points
    for e, (src, dst, i) in enumerate(g.edges):
        previous = ("v", src)
        for d in range(g.depth[src] - 1, g.depth[dst], -1):
            waypoint = ("w", e, d)
            places.setdefault(d, []).append(waypoint)
            below[previous].append(waypoint)
            below[waypoint] = []
            previous = waypoint
        below[previous].append(("slot", dst, i))
    at: dict = {}  # place -> (x, y)
    row = 0
    for d in range(max(g.depth) + 1):
        members = places.get(d, [])

        def target(place) -> float:
            xs = [_slot_x(g, at, p[1], p[2]) if p[0] == "slot" else at[p][0]
                  for p in below[place]]
            return float(np.mean(xs)) if xs else 0.0

        members.sort(key=lambda p: (target(p), p[0] == "v", p[1:]))
        n_rows = -(-len(members) // _MAX_COLS)  # ceil
        for j, place in enumerate(members):
            # member j: row j % n_rows; x grows with j, a full pitch apart within a row
            x = (j - (len(members) - 1) / 2) * (g.box_w + _GAP_X) / n_rows
            at[place] = (x, (row + j % n_rows) * _PITCH_Y)
        row += n_rows
    pos = {k: at[("v", k)] for k in range(len(g.vertices))}
    waypoints = {e: [at[("w", e, d)] for d in range(g.depth[src] - 1, g.depth[dst], -1)]
                 for e, (src, dst, _i) in enumerate(g.edges)}
    return pos, row, waypoints


def _slot_x(g: _Graph, pos: dict, dst: int, i: int) -> float:
    """Where input i's arrow ends on top of op dst's box: inputs side by side, in order."""
    n_inputs = len(g.vertices[dst].parents)
    centre = pos[("v", dst)] if ("v", dst) in pos else pos[dst]
    return centre[0] + (i - (n_inputs - 1) / 2) * g.box_w / max(n_inputs, 2)


def _route(g: _Graph, pos: dict, waypoints: dict, heights: list, e: int) -> list:
    """The polyline of edge e: from the bottom of its input's box, straight down
    through each waypoint's layer (as tall as the tallest box), to its slot."""
    src, dst, i = g.edges[e]
    half = max(heights) / 2
    points = [(pos[src][0], pos[src][1] - heights[src] / 2)]
    for x, y in waypoints[e]:
        points += [(x, y + half), (x, y - half)]
    points.append((_slot_x(g, pos, dst, i), pos[dst][1] + heights[dst] / 2))
    return points


def _text_width(line: str, size: float, bold: bool = False) -> float:
    """How wide ``line`` is drawn at ``size`` points, in inches."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath
    prop = FontProperties(weight="bold" if bold else "normal")
    return TextPath((0, 0), line, size=size, prop=prop).get_extents().width / 72


def _fit(line: str, size: float, room: float, bold: bool = False) -> str:
    """line, cut with "…" only if it is wider than room (inches)."""
    if _text_width(line, size, bold) <= room:
        return line
    while len(line) > 1 and _text_width(line + "…", size, bold) > room:
        line = line[:-1]
    return line + "…"


def draw_graph(tensor: Tensor, path=None, show_values: bool = True, show_grads: bool = True,
               max_nodes: int = MAX_DRAW_NODES, dpi: int = 110, params: Any = None):
    """Draw the graph of ``tensor`` with matplotlib; return the Figure.

    Boxes are laid out in layers by depth: leaves at the top, the output at the
    bottom, arrows in the direction of the forward pass. Blue boxes are ops (Nodes),
    orange ones parameters (leaves with requires_grad=True), with their values and
    gradients when they are small. ``path`` (.png, .svg, ...) also saves the picture.
    Graphs of more than ``max_nodes`` boxes raise ValueError instead of drawing an
    unreadable picture.
    """
    g = _collect(tensor, params)
    n = len(g.vertices)
    if n > max_nodes:
        raise ValueError(
            f"draw_graph: this graph has {n} nodes ({g.n_ops} ops, {n - g.n_ops} leaves); "
            f"a picture stays readable only up to {max_nodes}. Draw a smaller example "
            "(fewer layers or steps: the size of a graph is its number of ops, not of "
            "numbers), print to_text(t) or graph_stats(t) instead, or render to_dot(t) "
            "with Graphviz.")
    from matplotlib.figure import Figure  # lazily: the engine does not need matplotlib
    from matplotlib.patches import FancyBboxPatch

    texts = [_box_lines(g, k, show_values, show_grads) for k in range(n)]
    widest = max(_text_width(line, 8.5 if j == 0 else 8.0, j == 0)
                 for lines in texts for j, line in enumerate(lines))
    g.box_w = min(max(_BOX_W, widest + 0.2), _MAX_BOX_W)
    texts = [[_fit(line, 8.5 if j == 0 else 8.0, g.box_w - 0.12, j == 0)
              for j, line in enumerate(lines)] for lines in texts]
    pos, rows, waypoints = _layout(g)
    heights = [len(t) * _LINE_H + 0.16 for t in texts]
    freed = any(type(v) is Node and v.freed for v in g.vertices)
    extra = 0.22 if freed else 0.0  # the header's second line
    top_margin, bottom_margin = 1.1 + extra, 0.25
    width = max(2 * max(abs(x) for x, _y in pos.values()) + g.box_w + 0.4, 7.0)
    height = (rows - 1) * _PITCH_Y + max(heights) + top_margin + bottom_margin
    fig = Figure(figsize=(width, height), dpi=dpi, facecolor="white")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-width / 2, width / 2)
    ax.set_ylim(-max(heights) / 2 - bottom_margin, height - max(heights) / 2 - bottom_margin)
    ax.axis("off")

    colors = {"op": _OP_COLOR, "parameter": _PARAM_COLOR, "tensor": _TENSOR_COLOR}
    for k in range(n):
        x, y = pos[k]
        kind = _kind(g.vertices[k])
        h = heights[k]
        box = FancyBboxPatch((x - g.box_w / 2, y - h / 2), g.box_w, h,
                             boxstyle="round,pad=0,rounding_size=0.08" if kind == "op"
                             else "round,pad=0,rounding_size=0.25",
                             facecolor=colors[kind], edgecolor="#333333",
                             linewidth=2.0 if k == 0 or kind == "parameter" else 0.8,
                             zorder=2)
        ax.add_patch(box)
        lines = texts[k]
        ax.text(x, y + (len(lines) - 1) * _LINE_H / 2, lines[0], ha="center", va="center",
                fontsize=8.5, fontweight="bold", zorder=3)
        if len(lines) > 1:
            ax.text(x, y - _LINE_H / 2, "\n".join(lines[1:]), ha="center", va="center",
                    fontsize=8, linespacing=1.25, zorder=3)

    # arrows from an input's box to the slot of that input on top of its op's box
    for e, (_src, dst, i) in enumerate(g.edges):
        node = g.vertices[dst]
        route = _route(g, pos, waypoints, heights, e)
        if len(route) > 2:  # around the boxes in between, then the arrow's last leg
            ax.plot([x for x, _y in route[:-1]], [y for _x, y in route[:-1]],
                    color="#555555", lw=1.0, zorder=1, solid_joinstyle="round")
        start, end = route[-2], route[-1]
        slot = end[0]
        ax.annotate("", xy=end, xytext=start, zorder=1,
                    arrowprops={"arrowstyle": "-|>", "color": "#555555", "lw": 1.0,
                                "shrinkA": 0, "shrinkB": 0, "mutation_scale": 10})
        if len(node.parents) > 4:
            continue  # too many inputs (cat) for a label at each
        from_right = start[0] > end[0] + 1e-9  # put the label on the other side
        ax.text(slot + (-0.06 if from_right else 0.06), end[1] + 0.09, node.op.input_name(i),
                fontsize=7.5, color="#1f4e99", ha="right" if from_right else "left",
                va="center", zorder=3)

    # the header: a title, a legend of the box kinds, how to read the arrows
    y_top = height - max(heights) / 2 - bottom_margin
    left = -width / 2 + 0.15
    leaves = "1 leaf" if n - g.n_ops == 1 else f"{n - g.n_ops} leaves"
    title = f"graph of {g.root.name or 'the output'}: {_count(g.n_ops, 'op')}, {leaves}"
    ax.text(left, y_top - 0.2, title, fontsize=9.5, fontweight="bold", ha="left",
            va="center")
    if freed:
        ax.text(left, y_top - 0.42, "after backward: saved values freed, structure kept",
                fontsize=8, ha="left", va="center")
    y_top -= extra
    kinds = [("op (a Node)", _OP_COLOR, 0.8),
             ("parameter (leaf, requires_grad)", _PARAM_COLOR, 2.0)]
    if any(_kind(v) == "tensor" for v in g.vertices):
        kinds.append(("tensor (no grad)", _TENSOR_COLOR, 0.8))
    x = left
    for label, color, lw in kinds:
        ax.add_patch(FancyBboxPatch((x, y_top - 0.52), 0.3, 0.14, facecolor=color,
                                    edgecolor="#333333", linewidth=lw,
                                    boxstyle="round,pad=0,rounding_size=0.03"))
        ax.text(x + 0.38, y_top - 0.45, label, fontsize=7.5, ha="left", va="center")
        x += 0.38 + _text_width(label, 7.5) + 0.3
    ax.text(left, y_top - 0.8,
            "arrows: the forward pass (input → op), labelled with the input's name in ops.py\n"
            "backward walks them in reverse, visiting the ops in the order [1], [2], ...",
            fontsize=7.5, color="#444444", ha="left", va="center")
    if path is not None:
        fig.savefig(path, dpi=dpi, facecolor="white")
    return fig
