"""A job's result in the journal: what every experiment shares stored once, every field back."""

from __future__ import annotations

import json
import zlib
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.primitives import StatevectorSampler
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.result import Result
from qiskit.result.models import ExperimentResult, ExperimentResultData
from qiskit_aer import AerSimulator

from helpers import basis_circuit
from managedjob._journal._codec import _encode, decode_result, encode_result
from managedjob._journal._results import MAGIC
from managedjob.targets import SamplerTarget


def columns(blob: bytes) -> dict[str, Any]:
    assert blob.startswith(MAGIC)
    data: dict[str, Any] = json.loads(zlib.decompress(blob[len(MAGIC) :]))
    return data


def as_json(result: Result) -> Any:
    """What ``result.to_dict()`` is once written as JSON and read back."""
    return json.loads(json.dumps(result.to_dict(), default=lambda v: _encode(v, strict=False)))


def round_trips(result: Result) -> Result:
    back = decode_result(encode_result(result))
    assert as_json(back) == as_json(result)
    return back


def sampler_result(count: int, **metadata: Any) -> Result:
    """A Sampler job's result as a legacy ``Result`` (as IBM Quantum's come)."""
    circuits = [basis_circuit(index % 4, 2, name=f"exp_{index}") for index in range(count)]
    for index, circuit in enumerate(circuits):
        circuit.metadata = {key: value * index for key, value in metadata.items()}
    target = SamplerTarget(StatevectorSampler(seed=3))
    job = target.submit(circuits, job_name="j", job_tags=[], run_config={"shots": 20})
    return job.result()


def test_counts_of_a_sampler_are_columns_with_the_shared_header_once() -> None:
    result = sampler_result(40, angle=0.5, step=1)
    stored = columns(encode_result(result))
    header = stored["header"]
    assert list(header["columns"]) == ["name"]
    assert header["columns"]["name"] == [f"exp_{index}" for index in range(40)]
    assert header["shared"]["qreg_sizes"] == [["q", 2]]
    assert stored["fields"]["shared"]["shots"] == 20
    assert stored["counts"]["sizes"] == [1] * 40
    # Circuit metadata with the same keys: a table of its own.
    assert header["nested"]["metadata"]["columns"]["step"] == list(range(40))
    back = round_trips(result)
    assert back.get_counts("exp_5") == result.get_counts("exp_5") == {"01": 20}
    assert back.results[7].header["metadata"] == {"angle": 3.5, "step": 7}


def test_a_simulators_times_and_seeds_per_experiment_are_columns() -> None:
    circuits = [basis_circuit(index % 4, 2, name=f"m{index}") for index in range(6)]
    result = AerSimulator().run(circuits, shots=5, seed_simulator=1).result()
    stored = columns(encode_result(result))
    fields = stored["fields"]
    assert fields["columns"]["seed_simulator"] == [e.seed_simulator for e in result.results]
    assert fields["shared"]["shots"] == 5
    # Aer's metadata: what every experiment says once, its times as columns.
    metadata = fields["nested"]["metadata"]
    assert metadata["shared"]["method"] == "stabilizer"
    times = [experiment.metadata["time_taken"] for experiment in result.results]
    assert metadata["columns"]["time_taken"] == times
    back = round_trips(result)
    assert back.get_counts("m3") == {"11": 5}
    assert back.results[4].seed_simulator == result.results[4].seed_simulator


def test_fields_that_differ_late_keep_each_experiments_own_value() -> None:
    def experiment(name: str, taken: float) -> ExperimentResult:
        data = ExperimentResultData(counts={"0x0": 4})
        return ExperimentResult(4, True, data, header={"name": name}, time_taken=taken)

    # 1.0 == 1: the second is still written as its own 1, not as the first's 1.0.
    result = Result(
        backend_name="b",
        backend_version="1",
        job_id="j",
        success=True,
        results=[experiment("a", 1.0), experiment("b", 1), experiment("c", 2.5)],
    )
    stored = columns(encode_result(result))
    assert stored["fields"]["columns"]["time_taken"] == [1.0, 1, 2.5]
    back = round_trips(result)
    assert [type(e.time_taken) for e in back.results] == [float, int, float]


def test_data_beyond_counts_after_counts_keeps_every_experiments_data() -> None:
    result = sampler_result(5)
    result.results[3].data.memory = ["0x1"] * 2
    result.results[3].data._data_attributes.append("memory")
    stored = columns(encode_result(result))
    assert "counts" not in stored
    assert stored["data"][0] == {"counts": result.results[0].data.counts}
    back = round_trips(result)
    assert back.get_counts("exp_1") == result.get_counts("exp_1")
    assert back.get_memory("exp_3") == ["01"] * 2


def hand_made(*experiments: dict[str, Any], header: dict[str, Any] | None = None) -> Result:
    """A result of one experiment for each mapping of extra fields (a seed each)."""
    made = []
    for index, fields in enumerate(experiments):
        data = ExperimentResultData(counts={"0x0": 4})
        named = {"name": f"e{index}", **(header or {})}
        made.append(ExperimentResult(4, True, data, header=named, seed=index, **fields))
    return Result(backend_name="b", backend_version="1", job_id="j", success=True, results=made)


def test_values_equal_but_not_the_same_are_not_shared() -> None:
    from qiskit.quantum_info import Statevector

    tiny = 1e-9  # Statevector's == allows it
    first = {"taken": 1.0, "flag": 1, "phase": 0.0, "w": np.array(3), "psi": Statevector([1, 0])}
    second = {"taken": 1, "flag": True, "phase": -0.0, "w": np.array(3.0)}
    result = hand_made(first, {**second, "psi": Statevector([1, tiny])})
    stored = columns(encode_result(result))
    assert not {"taken", "flag", "phase", "w", "psi"} & set(stored["fields"]["shared"])
    back = round_trips(result).results[1]
    assert type(back.taken) is int and type(back.flag) is bool
    assert str(back.phase) == "-0.0"
    assert back.w.dtype == np.float64
    assert back.psi.data[1] == tiny


def test_plain_fields_that_start_to_differ_keep_every_value() -> None:
    # Seeds 0, 1, 2: the fields are the first's until the second experiment.
    result = hand_made({"tag": "a"}, {"tag": "a"}, {"tag": "b"})
    fields = columns(encode_result(result))["fields"]
    assert fields["columns"] == {"seed": [0, 1, 2], "tag": ["a", "a", "b"]}
    assert fields["shared"]["shots"] == 4
    back = round_trips(result)
    assert [e.tag for e in back.results] == ["a", "a", "b"]


def test_an_array_after_plain_values_is_a_column() -> None:
    result = hand_made({"w": 1}, {"w": np.arange(2.0)})
    assert columns(encode_result(result))["fields"]["columns"]["w"][0] == 1
    back = round_trips(result)
    assert back.results[1].w.tolist() == [0.0, 1.0]


def test_equal_containers_are_shared_only_with_the_same_items() -> None:
    result = hand_made(
        {"sizes": [["q", 1]], "settings": {"a": 1, "b": [1.0]}, "same": {"x": [1, "y"]}},
        {"sizes": [["q", 1.0]], "settings": {"b": [1.0], "a": 1}, "same": {"x": [1, "y"]}},
    )
    stored = columns(encode_result(result))
    assert stored["fields"]["shared"]["same"] == {"x": [1, "y"]}
    assert "sizes" in stored["fields"]["columns"]
    assert "settings" not in stored["fields"]["shared"]  # the same keys in another order
    back = round_trips(result).results[1]
    assert type(back.sizes[0][1]) is float
    assert list(back.settings) == ["b", "a"]


def test_basic_simulator_results_are_columns_and_come_back_whole() -> None:
    circuits = [basis_circuit(index % 4, 2, name=f"b{index}") for index in range(5)]
    result = BasicSimulator().run(circuits, shots=7, seed_simulator=2).result()
    assert encode_result(result).startswith(MAGIC)
    back = round_trips(result)
    assert back.get_counts("b2") == {"10": 7}


def test_data_beyond_counts_is_a_column_of_its_own() -> None:
    result = sampler_result(6)
    for experiment in result.results:
        experiment.data.memory = ["0x1"] * 3
        experiment.data._data_attributes.append("memory")
    stored = columns(encode_result(result))
    assert "counts" not in stored
    assert stored["data"][2]["memory"] == ["0x1"] * 3
    back = round_trips(result)
    assert back.get_memory("exp_3") == ["01"] * 3


def test_statevectors_and_numpy_metadata_come_back_as_they_were() -> None:
    bell = QuantumCircuit(2, name="bell")
    bell.h(0)
    bell.cx(0, 1)
    bell.save_statevector()  # type: ignore[attr-defined]
    result = AerSimulator(method="statevector").run([bell, bell.copy("again")]).result()
    for experiment in result.results:
        experiment._metadata["weights"] = np.arange(3.0)  # no plain == between arrays
    stored = columns(encode_result(result))
    assert "counts" not in stored  # statevectors stay each experiment's data
    assert "weights" in stored["fields"]["columns"]  # arrays are never taken as shared
    back = round_trips(result)
    assert back.get_statevector("again").equiv(result.get_statevector("bell"))
    assert isinstance(back.results[1].weights, np.ndarray)
    assert back.results[1].weights.tolist() == [0.0, 1.0, 2.0]


def test_experiments_with_other_fields_are_written_one_by_one() -> None:
    def experiment(name: str, **header: Any) -> ExperimentResult:
        data = ExperimentResultData(counts={"0x0": 4})
        return ExperimentResult(4, True, data, header={"name": name, **header})

    result = Result(
        backend_name="b",
        backend_version="1",
        job_id="j",
        success=True,
        results=[experiment("a", n_qubits=1), experiment("b", n_qubits=1, extra="x")],
    )
    blob = encode_result(result)
    assert not blob.startswith(MAGIC)
    back = round_trips(result)
    assert back.results[1].header["extra"] == "x"


def test_each_experiment_gets_containers_of_its_own() -> None:
    result = sampler_result(3)
    back = decode_result(encode_result(result))
    back.results[0].header["qreg_sizes"].append(["extra", 1])
    assert back.results[1].header["qreg_sizes"] == [["q", 2]]


def test_results_written_one_by_one_are_still_read() -> None:
    result = BasicSimulator().run([basis_circuit(2, name="x")], shots=8).result()
    old_form = zlib.compress(json.dumps(as_json(result)).encode())
    assert decode_result(old_form).get_counts("x") == result.get_counts("x")


def test_mappings_that_differ_in_their_keys_stay_whole() -> None:
    result = sampler_result(3, angle=0.5)
    result.results[1].header["metadata"] = {"only": "here"}
    stored = columns(encode_result(result))
    assert "metadata" in stored["header"]["columns"]
    back = round_trips(result)
    assert back.results[1].header["metadata"] == {"only": "here"}


def test_keys_that_are_not_strings_are_written_as_json_writes_them() -> None:
    result = sampler_result(3)
    for index, experiment in enumerate(result.results):
        experiment.header["metadata"] = {0: index, 1: "same"}
    result.results[0].header[7] = "seven"
    result.results[1].header[7] = "seven"
    result.results[2].header[7] = "seven"
    back = decode_result(encode_result(result))
    assert as_json(back) == as_json(result)  # JSON makes the keys strings, as always
    assert back.results[2].header["metadata"] == {"0": 2, "1": "same"}
    counted = sampler_result(2)
    counted.results[0].data.counts = {1: 20}
    assert as_json(decode_result(encode_result(counted))) == as_json(counted)
