"""MNIST subset loader (placeholder; being written)."""
def load_digits(*a, **k): raise NotImplementedError
def digit_density(*a, **k): raise NotImplementedError
