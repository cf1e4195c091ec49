"""Fit y = w*x^2 + b by gradient descent with tinygrad_edu (a first look).

Run:  python examples/quickstart.py
"""

import numpy as np

import tinygrad_edu as tg

rng = np.random.default_rng(0)
x = tg.tensor(np.linspace(-1, 1, 100).reshape(100, 1))
y = 3 * x**2 + 2 + tg.tensor(0.2 * rng.random((100, 1)))

w = tg.rand(1, 1, requires_grad=True)
b = tg.rand(1, 1, requires_grad=True)
lr = 0.001
for epoch in range(800):
    y_pred = x.pow(2).mm(w) + b
    loss = (0.5 * (y_pred - y) ** 2).sum()
    loss.backward()
    with tg.no_grad():
        w -= lr * w.grad
        b -= lr * b.grad
    w.grad.zero_()
    b.grad.zero_()
    if epoch % 100 == 0:
        print(f"epoch {epoch:3d}  w={w.item():.4f}  b={b.item():.4f}  loss={loss.item():.4f}")
print(f"learned w={w.item():.4f}, b={b.item():.4f} (true: 3, 2)")
