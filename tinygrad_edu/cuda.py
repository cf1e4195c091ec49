"""``torch.cuda``'s questions, answered for an engine that runs on the CPU only."""


def is_available() -> bool:
    """False: there is no GPU backend (the arrays are NumPy's)."""
    return False


def device_count() -> int:
    """0: no GPU can be used."""
    return 0
