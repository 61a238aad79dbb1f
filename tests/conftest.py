"""Hooks for every suite."""

from __future__ import annotations

from tests import runner

#: The longest tests of the fast suites (`pytest --durations=40`), longest first; a test id
#: without brackets stands for all its parameters. They run first so that pytest-xdist's
#: workers never finish with one of them running alone while the other worker has nothing to do.
SLOWEST_FIRST = (
    "tests/tap/test_incremental.py::test_changes_during_the_sync_are_never_lost",
    "tests/tap/test_faults.py::test_a_mix_of_random_faults_and_a_429_burst",
    "tests/tap/test_incremental.py::test_ten_thousand_records_in_one_second",
    "tests/tap/test_operating.py::test_an_unreachable_api_url_is_one_line_naming_it",
    "tests/tap/test_deletions.py::test_deletions_are_found_by_counting_not_by_listing",
    "tests/tap/test_deletions.py::test_sigkill_mid_sweep_then_resume",
    "tests/tap/test_faults.py::test_long_streams_log_progress_and_a_summary",
    "tests/tap/test_faults.py::test_secrets_never_appear_in_any_output",
    "tests/tap/test_check.py::test_a_retry_beyond_the_budget_is_never_sent",
    "tests/tap/test_incremental.py::test_no_change_run_costs_one_request_per_incremental_stream",
    "tests/tap/test_overlap.py::test_small_streams_are_read_side_by_side",
    "tests/tap/test_variants.py::test_transactions_without_dlm_are_read_in_full_not_filtered",
    "tests/tap/test_faults.py::test_each_transient_fault_is_retried_and_nothing_is_lost",
    "tests/tap/test_faults.py::test_a_forbidden_object_is_skipped_with_one_warning",
    "tests/tap/test_check.py::test_retries_count_against_an_objects_three_requests",
    "tests/tap/test_variants_deletions.py::test_a_killed_run_resumes_to_every_record_on_every_variant",
    "tests/tap/test_overlap.py::test_a_kill_while_reading_ahead_loses_nothing",
    "tests/tap/test_faults.py::test_retry_budget_runs_out_with_a_message_that_names_the_request",
    "tests/tap/test_variants_deletions.py::test_deletions_are_found_exactly_on_every_variant",
)
_RANK = {test_id: rank for rank, test_id in enumerate(SLOWEST_FIRST)}


def pytest_collection_modifyitems(session: object, config: object, items: list) -> None:
    # A stable sort: the listed tests first in the list's order, every other test where it was
    # (every xdist worker collects the same order, as it must).
    def rank(item: object) -> int:
        test_id = item.nodeid.split("[", 1)[0]  # type: ignore[attr-defined]
        return _RANK.get(test_id, len(SLOWEST_FIRST))

    items.sort(key=rank)


def pytest_unconfigure(config: object) -> None:
    # Stop this process's fork server while the process can still wait for it (a pytest-xdist
    # worker may end without running atexit), so its runs' CPU time is counted and nothing lingers.
    runner.stop_fork_server()
