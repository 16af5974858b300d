"""The setup cell every chapter starts with (tests compare each notebook's first code cell to it).

The install URL is derived from ``repository.url`` in ``_config.yml``; a test keeps the two in sync.
"""

REPO_URL = "https://github.com/gradnetot/gradnetot-book"
BRANCH = "main"

SETUP_CELL = f'''# Colab-safe setup: install gradnetot if it is missing, pick the device, seed everything.
try:
    import gradnetot as gn
except ImportError:
    import os, subprocess, sys
    spec = os.environ.get("GRADNETOT_PIP_SPEC", "gradnetot @ git+{REPO_URL}@{BRANCH}")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", spec], check=True)
    import gradnetot as gn
import matplotlib.pyplot as plt
import numpy as np
import torch

device = gn.resolve_device("auto")
gn.set_seed(0)
print(f"gradnetot {{gn.__version__}} | torch {{torch.__version__}} | device: {{device}} | FAST={{gn.FAST}}")'''
