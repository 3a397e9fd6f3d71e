"""How fast Sampler results become legacy results.

Builds PUB results from random bytes (1,000 PUBs x 4,000 shots by default; two
classical registers of 3 and 2 bits per circuit) and times
``managedjob._convert.primitive_result_to_result`` against the baselines a user
would otherwise write: ``BitArray.get_counts()`` on each register, and
``SamplerPubResult.join_data().get_counts()`` (one count over all registers,
which is what the conversion produces). Every timing is the best of
``--repeat`` runs in this process; the script prints, it never asserts.

Run: ``python benchmarks/bench_convert.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.primitives import BitArray, DataBin, PrimitiveResult, SamplerPubResult

from managedjob._convert import primitive_result_to_result

REGISTER_SIZES = (("alpha", 3), ("beta", 2))


def build(num_pubs: int, shots: int, seed: int) -> tuple[PrimitiveResult, list[QuantumCircuit]]:
    rng = np.random.default_rng(seed)
    circuits = []
    pub_results = []
    for index in range(num_pubs):
        registers = [ClassicalRegister(size, name) for name, size in REGISTER_SIZES]
        circuits.append(QuantumCircuit(QuantumRegister(5, "q"), *registers, name=f"c{index}"))
        data = {
            name: BitArray(rng.integers(0, 256, size=(shots, 1), dtype=np.uint8), size)
            for name, size in REGISTER_SIZES
        }
        pub_results.append(SamplerPubResult(DataBin(**data), metadata={"shots": shots}))
    return PrimitiveResult(pub_results, metadata={"version": 2}), circuits


def best_of(repeat: int, action: Callable[[], object]) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 PUBs, one repeat")
    parser.add_argument("--pubs", type=int, default=None, help="PUB results (default 1000)")
    parser.add_argument("--shots", type=int, default=4000, help="shots per PUB (default 4000)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per timing (default 3)")
    args = parser.parse_args(argv)
    num_pubs = args.pubs if args.pubs is not None else (100 if args.quick else 1000)
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    shots = args.shots

    primitive_result, circuits = build(num_pubs, shots, seed=2024)

    def convert(memory: bool) -> Callable[[], object]:
        return lambda: primitive_result_to_result(
            primitive_result,
            circuits,
            shots=shots,
            memory=memory,
            backend_name="bench",
            job_id="bench",
        )

    def per_register() -> None:
        for pub_result in primitive_result:
            for name, _ in REGISTER_SIZES:
                pub_result.data[name].get_counts()

    def joined() -> None:
        for pub_result in primitive_result:
            pub_result.join_data().get_counts()

    # The conversion must agree with Qiskit's own counting before it is timed.
    converted = primitive_result_to_result(
        primitive_result, circuits, shots=shots, memory=False, backend_name="b", job_id="j"
    )
    sample = primitive_result[0].join_data().get_counts()
    check = converted.get_counts(0)
    agree = {key.replace(" ", ""): value for key, value in check.items()} == sample

    t_convert = best_of(repeat, convert(False))
    t_convert_memory = best_of(repeat, convert(True))
    t_per_register = best_of(repeat, per_register)
    t_joined = best_of(repeat, joined)

    print(f"{num_pubs} PUB results x {shots} shots, registers {REGISTER_SIZES}, best of {repeat}")
    print(f"counts agree with join_data().get_counts(): {agree}")
    rows = [
        ("primitive_result_to_result (counts)", t_convert),
        ("primitive_result_to_result (counts + memory)", t_convert_memory),
        ("BitArray.get_counts() per register", t_per_register),
        ("join_data().get_counts() per PUB", t_joined),
    ]
    for label, seconds in rows:
        print(f"  {label:<46} {seconds:8.3f} s  {1e6 * seconds / num_pubs:8.1f} us/PUB")
    print(f"speed-up vs get_counts() per register: {t_per_register / t_convert:6.1f}x")
    print(f"speed-up vs join_data().get_counts():  {t_joined / t_convert:6.1f}x")
    print(f"speed-up with memory vs per register:  {t_per_register / t_convert_memory:6.1f}x")


if __name__ == "__main__":
    main()
