"""``torch.backends``' questions, for an engine that runs on the CPU only.

Only ``backends.mps`` is here (``torch.backends.mps.is_available()`` is the usual
check on a Mac); it is an object with the two functions, not a module of its own.
"""


class MPS:
    """``torch.backends.mps``: Apple's GPU backend, never available here."""

    @staticmethod
    def is_available() -> bool:
        """False: the arrays are NumPy's, on the CPU."""
        return False

    @staticmethod
    def is_built() -> bool:
        """False: this engine has no Metal backend."""
        return False


mps = MPS()
