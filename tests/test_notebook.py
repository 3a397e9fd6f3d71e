"""The docs' notebook, executed as a user runs it, and how sets show in a notebook."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from qiskit import QuantumCircuit
from qiskit.primitives import StatevectorSampler
from qiskit.providers.basic_provider import BasicSimulator

from managedjob import JobManager
from managedjob.testing import ScriptedBackend

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "sweep.ipynb"


def bell(name: str = "bell") -> QuantumCircuit:
    circuit = QuantumCircuit(2, name=name)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


def test_a_job_set_shows_as_an_html_table_with_every_value_escaped() -> None:
    with JobManager(journal=False) as manager:
        job_set = manager.run(
            [bell()] * 5,
            BasicSimulator(),
            name="<b>sweep</b>",
            max_experiments_per_job=2,
            job_tags=["a&b"],
            shots=10,
        )
        job_set.results()
        html = job_set._repr_html_()
    assert html.startswith("<table><caption>ManagedJobSet</caption>")
    assert "&lt;b&gt;sweep&lt;/b&gt;" in html and "<b>" not in html
    assert f"<td style='text-align:left'>{job_set.job_set_id()}</td>" in html
    assert "basic_simulator" in html
    assert "3: 3 done" in html
    assert "experiments</th><td style='text-align:left'>5</td>" in html
    assert "a&amp;b" in html


def test_results_show_as_an_html_table_that_counts_failed_jobs() -> None:
    backend = ScriptedBackend(failing_jobs=[1], num_qubits=2)
    with JobManager(journal=False) as manager:
        job_set = manager.run([bell()] * 6, backend, max_experiments_per_job=2, shots=10)
        results = job_set.results(partial=True)
    html = results._repr_html_()
    assert html.startswith("<table><caption>ManagedResults</caption>")
    assert "success</th><td style='text-align:left'>False</td>" in html
    assert "3, 1 without a whole result" in html
    assert "experiments</th><td style='text-align:left'>6</td>" in html


def test_a_pub_set_shows_its_input_pubs() -> None:
    with JobManager(journal=False) as manager:
        job_set = manager.run_pubs([bell()] * 5, StatevectorSampler(), max_pubs_per_job=2, shots=8)
        job_set.primitive_result()
        html = job_set._repr_html_()
    assert "PUBs</th><td style='text-align:left'>5</td>" in html
    assert "statevector_sampler" in html


def _outputs(cell: Any) -> list[Any]:
    return list(cell.get("outputs", []))


def test_the_docs_notebook_runs_a_sweep_watches_plots_retrieves_and_retries(
    tmp_path: Path,
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(_outputs(cell) for cell in notebook.cells), "keep the notebook without outputs"
    with warnings.catch_warnings():
        # jupyter_client's own notices about its configuration paths.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="jupyter_.*")
        client = nbclient.NotebookClient(
            notebook,
            timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(tmp_path)}},
        )
        client.execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert not [o for cell in code for o in _outputs(cell) if o.output_type == "error"]
    data = [o.get("data", {}) for cell in code for o in _outputs(cell)]
    text = "".join(o.get("text", "") for cell in code for o in _outputs(cell))
    # The set and its results show as tables; the progress bar is the notebook widget.
    assert any("<caption>ManagedJobSet</caption>" in d.get("text/html", "") for d in data)
    assert any("<caption>ManagedResults</caption>" in d.get("text/html", "") for d in data)
    assert any("application/vnd.jupyter.widget-view+json" in d for d in data)
    assert sum("image/png" in d for d in data) == 2  # the sweep and the timeline
    assert (tmp_path / "sweep-timeline.png").stat().st_size > 0
    # A new interpreter found the set in the journal, results and all.
    assert "ry-sweep 20 jobs" in text
    assert "experiment 1000: {" in text
    # The failed job was retried, and only its circuits ran again.
    assert "success: False" in text and "after retry_failed(): success: True" in text
    assert "Successful jobs: 5" in text
