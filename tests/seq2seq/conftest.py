"""Small models on a shared 2-core machine: one torch thread avoids OpenMP spin-waiting between tiny ops."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
