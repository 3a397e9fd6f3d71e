"""PUB workloads: checking, costing, planning, merging and storing Sampler and Estimator PUBs.

The pieces a managed run of PUBs is made of, as pure functions over Qiskit's
primitive containers, in the order a run uses them::

    pubs = coerce_sampler_pubs(user_pubs, shots)   # or coerce_estimator_pubs
    costs = pub_costs(pubs, default_shots, estimate_circuit_bytes)
    plan = plan_pub_jobs(costs, max_pubs, max_executions, max_bytes)
    job_results = [primitive.run(parts).result() for parts in job_pubs(pubs, plan)]
    result = merge_pub_results(plan, job_results, partial=False)

A failed job's result is ``None`` in ``job_results``; ``plan.pubs_in_jobs``
names the input PUBs it leaves without a result.

and :func:`encode_pubs`, :func:`encode_plan` and :func:`encode_result`
(with their ``decode_`` twins) to journal PUBs, plans and results without
pickle.

Modules: ``_coerce`` (user input to checked PUBs), ``_cost`` (executions and
payload bytes of a PUB), ``_plan`` (packing into jobs, cutting big PUBs),
``_merge`` (job results back into one result), ``_jobs`` (what one
job of a managed set holds and returns), ``_wire`` (the pickle-free
container), ``_codec`` (PUBs and results in it) and ``_tags`` (a job's
parts in a runtime tag).
"""

from managedjob._pubs._codec import (
    decode_items,
    decode_plan,
    decode_pubs,
    decode_result,
    encode_items,
    encode_plan,
    encode_pubs,
    encode_result,
)
from managedjob._pubs._coerce import (
    check_precision,
    check_shots,
    coerce_estimator_pubs,
    coerce_sampler_pubs,
)
from managedjob._pubs._cost import PubCost, estimate_circuit_bytes, pub_costs
from managedjob._pubs._jobs import PubItem, PubJobResult, plan_of_items
from managedjob._pubs._merge import format_indexes, merge_pub_results
from managedjob._pubs._plan import PubPart, PubPlan, job_pubs, part_pub, plan_pub_jobs
from managedjob._pubs._tags import items_from_service, parse_pubs_tag, pubs_tag

__all__ = [
    "PubCost",
    "PubItem",
    "PubJobResult",
    "PubPart",
    "PubPlan",
    "check_precision",
    "check_shots",
    "coerce_estimator_pubs",
    "coerce_sampler_pubs",
    "decode_items",
    "decode_plan",
    "decode_pubs",
    "decode_result",
    "encode_items",
    "encode_plan",
    "encode_pubs",
    "encode_result",
    "estimate_circuit_bytes",
    "format_indexes",
    "items_from_service",
    "job_pubs",
    "parse_pubs_tag",
    "merge_pub_results",
    "part_pub",
    "plan_of_items",
    "plan_pub_jobs",
    "pubs_tag",
    "pub_costs",
]
