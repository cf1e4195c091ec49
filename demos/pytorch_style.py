"""The PyTorch article's program, run with ``import tinygrad_edu as torch``.

The second half of the PyTorch article fits y = w·x² + b with autograd: loss.backward()
fills w.grad and b.grad, the update runs under torch.no_grad(), and the gradients are
zeroed by hand. Below is its code, line for line. What changed, and why:

- ``import tinygrad_edu as torch`` instead of ``import torch``.
- ``%matplotlib inline`` is notebook (IPython) syntax, not Python: matplotlib draws into
  PNG files instead (the Agg backend, imported only when plotting), and each
  ``plt.show()`` became ``save(...)``, which writes the figure into --out.
- The program sits in main(argv) so the tests can run it; its constants 100 (seed),
  0.001 (lr) and 800 (steps) come from the command line, with those defaults; the
  plots are skipped under --no-plot; a progress line is printed every 100 steps, as
  in all the demos; and training that diverges (a loss above the first one: below
  the stable learning rate every step lowers it) stops with a message that suggests
  a learning rate computed from the data, as in the other demos.

Nothing in the computation had to change. The numbers are not PyTorch's:
torch.manual_seed(100) seeds PyTorch's generator there and a NumPy one here, so the
noise and the starting w, b differ. And x, y are float64 here (NumPy's default;
PyTorch's is float32) while w, b are float32 as ``dtype=torch.float`` asks: mixed
operations give float64, and the gradient of a float32 leaf is float32.

Run:  python demos/pytorch_style.py [--epochs 800] [--lr 0.001] [--seed 100]
                                    [--out out] [--no-plot]
"""

from __future__ import annotations

from _common import diverged, lr_advice, make_parser, pyplot, run_demo, save, stable_lr

import tinygrad_edu as torch


def main(argv: list[str] | None = None) -> dict:
    args = make_parser(__doc__, epochs=800, lr=0.001, seed=100).parse_args(argv)
    plt = None if args.no_plot else pyplot()  # was: %matplotlib inline ... import pyplot

    # 生成训练数据，并可视化数据分布情况 (make the training data and look at it)
    torch.manual_seed(args.seed)
    # 生成x坐标数据，x为tensor，需要把x的形状转换为 100 x 1
    x = torch.unsqueeze(torch.linspace(-1, 1, 100), dim=1)
    # 生成y坐标数据，y为tensor，形状为 100 x 1，另加上一些噪声
    y = 3 * x.pow(2) + 2 + 0.2 * torch.rand(x.size())
    # 画图，把tensor数据转换为numpy数据
    if plt is not None:
        fig = plt.figure()
        plt.scatter(x.numpy(), y.numpy(), label='data: 3x² + 2 + noise')
        plt.title('the data (100 points)')  # added: title, labels, legend
        plt.xlabel('x')
        plt.ylabel('y')
        plt.legend()
        save(fig, args.out, "pytorch_style_data.png")  # was: plt.show()

    # 随机初始化参数，参数w、b为需要学习的，故需requires_grad=True
    w = torch.randn(1, 1, dtype=torch.float, requires_grad=True)
    b = torch.randn(1, 1, dtype=torch.float, requires_grad=True)

    lr = args.lr  # 学习率 (was: lr = 0.001)
    # added: the largest stable lr, from the rows [x², 1] of the inputs (see _common)
    bound = stable_lr(torch.cat([x.pow(2), torch.ones_like(x)], dim=1).numpy())
    for i in range(args.epochs):  # was: range(800)
        # 前向传播
        y_pred = x.pow(2).mm(w) + b
        # 定义损失函数
        loss = 0.5 * (y_pred - y) ** 2
        loss = loss.sum()
        # added: stop when training diverges, as every demo. Below the bound each step
        # lowers the loss, so a loss above the first (or NaN) means it has blown up
        if i == 0:
            start = loss.item()
        elif not loss.item() <= start:
            raise diverged(i, f"the loss grew to {loss.item():.3g}, above the {start:.4g} "
                              "it started from", lr, lr_advice(bound))
        # 自动计算梯度，梯度存放在grad属性中
        loss.backward()

        # 手动更新参数，需要用torch.no_grad()，使上下文环境中切断自动求导的计算
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad

            # 梯度清零
            w.grad.zero_()
            b.grad.zero_()
        if i % 100 == 0:  # added: progress, as in every demo
            print(f"Epoch {i}: w={w.item():.4f}, b={b.item():.4f}, Loss={loss.item():.4f}")

    y_pred = x.pow(2).mm(w) + b
    # 涉及到梯度反向传播的tensor变量不能够直接使用numpy()转numpy
    # 需要使用detach返回一个新的tensor，从当前的计算图中分离出来
    if plt is not None:
        fig = plt.figure()
        plt.plot(x.numpy(), y_pred.detach().numpy(), 'r-', label='predict')
        plt.scatter(x.numpy(), y.numpy(), color='blue', marker='o',
                    label='data: 3x² + 2 + noise')  # was: 'true'
        plt.xlim(-1, 1)
        plt.ylim(2, 6)
        plt.title(f'fit after training: w = {w.item():.3f}, b = {b.item():.3f}')  # added
        plt.xlabel('x')
        plt.ylabel('y')
        plt.legend()
        png = save(fig, args.out, "pytorch_style.png")  # was: plt.show()
    print(w, b)

    result = {"x": x, "y": y, "w": w, "b": b, "loss": loss.item()}
    if plt is not None:
        result["png"] = png
    return result


if __name__ == "__main__":
    run_demo(main)
