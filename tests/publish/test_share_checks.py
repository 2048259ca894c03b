"""Publish re-checks what it cannot see: a share whose last operation did not complete cleanly is
reported by every later run (exit 1) until it is resolved, and a clean no-op pays nothing for it."""

from __future__ import annotations

from tests.publish.conftest import OU, is_ledger_write

CHECK_TAG = "smcat:share-check"
ERRORS = [{"Accounts": ["111122223333"], "Message": "Account is suspended", "Error": "InvalidAccount"}]


def portfolio_tags(double, display_name="SageMaker MLOps project templates") -> dict:
    (portfolio,) = [p for p in double.region("us-east-1").portfolios.values() if p["DisplayName"] == display_name]
    return portfolio["Tags"]


def ok_writes(double) -> list[str]:
    return [c.operation for c in double.writes() if c.error is None and not is_ledger_write(c)]


def share_token(double, value) -> str:
    ops = [op for op in double.region("us-east-1").share_ops.values() if op.value == value]
    return ops[-1].token


def test_completed_with_errors_is_reported_by_every_rerun_without_writes(double, dist, run_cli):
    double.share_outcomes[OU] = ("COMPLETED_WITH_ERRORS", ERRORS)
    first = run_cli("publish", dist)
    assert first.code == 1
    token = share_token(double, OU)
    assert portfolio_tags(double)[CHECK_TAG] == token  # remembered for the next run

    expected = (f"us-east-1: portfolio sagemaker-projects: the last share operation with ORGANIZATIONAL_UNIT {OU} "
                f"({token}) ended COMPLETED_WITH_ERRORS: InvalidAccount: Account is suspended (accounts "
                f"111122223333); fix the cause, then run publish --retry-shares")
    for command in ("plan", "publish", "publish"):
        double.reset_calls()
        run = run_cli(command, dist)
        assert run.code == 1, (command, run.out, run.err)
        assert double.writes() == []  # reporting it writes nothing
        assert f"  problem: {expected}" in run.out
        assert (f"error: {expected}" in run.err) if command == "plan" else (f"warning: {expected}" in run.out)
        assert [c.params for c in double.ops("DescribePortfolioShareStatus")] == [{"PortfolioShareToken": token}]


def test_retry_shares_shares_again_and_forgets_once_it_completes(double, dist, run_cli):
    double.share_outcomes[OU] = ("COMPLETED_WITH_ERRORS", ERRORS)
    assert run_cli("publish", dist).code == 1
    old = share_token(double, OU)

    # still failing: the new operation's token replaces the old one, exit 1 again
    double.reset_calls()
    again = run_cli("publish", dist, "--retry-shares")
    assert again.code == 1
    assert [c.params["OrganizationNode"] for c in double.ops("UpdatePortfolioShare")] == [
        {"Type": "ORGANIZATIONAL_UNIT", "Value": OU}]
    new = share_token(double, OU)
    assert new != old and portfolio_tags(double)[CHECK_TAG] == new

    # the cause is fixed: sharing again completes, the tag goes away, exit 0
    del double.share_outcomes[OU]
    plan = run_cli("plan", dist, "--retry-shares")
    assert plan.code == 0 and f"~ update    share       portfolio/sagemaker-projects/share/ORGANIZATIONAL_UNIT/{OU}" \
        in plan.out
    fixed = run_cli("publish", dist, "--retry-shares")
    assert fixed.code == 0, fixed.out + fixed.err
    assert CHECK_TAG not in portfolio_tags(double)

    # and from now on a re-run is a clean no-op: no writes, no status reads
    double.reset_calls()
    clean = run_cli("publish", dist)
    assert clean.code == 0 and double.writes() == []
    assert double.ops("DescribePortfolioShareStatus") == []


def test_share_that_never_completed_is_checked_and_forgotten_once_complete(double, dist, run_cli):
    double.share_steps = (0, 20_000)  # IN_PROGRESS for a long time
    first = run_cli("publish", dist, "--share-timeout", "30", "--max-parallel", "1")  # stops at the first share
    assert first.code == 1 and "still" in first.out
    (op,) = double.region("us-east-1").share_ops.values()
    assert portfolio_tags(double)[CHECK_TAG] == op.token

    # still running: reported; this run shares again (it was never created) and fails the same way
    double.reset_calls()
    plan = run_cli("plan", dist)
    assert (f"note: portfolio sagemaker-projects: the last share operation with ORGANIZATIONAL_UNIT {OU} "
            f"({op.token}) is still IN_PROGRESS; this run shares again") in plan.out
    assert double.writes() == []
    rerun = run_cli("publish", dist, "--share-timeout", "30")
    assert rerun.code == 1

    # it completes in the background: the next run sees it, forgets it and exits 0
    double.share_steps = (1, 3)
    for stuck in double.region("us-east-1").share_ops.values():
        stuck.started = -10
    done = run_cli("publish", dist)
    assert done.code == 0, done.out + done.err
    assert CHECK_TAG not in portfolio_tags(double)


def test_share_that_ended_in_error_is_shared_again_and_reported_until_it_works(double, dist, run_cli):
    double.share_outcomes[OU] = ("ERROR", ERRORS)
    first = run_cli("publish", dist)
    assert first.code == 1 and "ended in ERROR" in first.out
    token = share_token(double, OU)
    assert portfolio_tags(double)[CHECK_TAG] == token

    plan = run_cli("plan", dist)
    assert f"({token}) ended ERROR: InvalidAccount: Account is suspended (accounts 111122223333); this run " \
           f"shares again" in plan.out
    assert run_cli("publish", dist).code == 1  # the share fails again

    del double.share_outcomes[OU]
    assert run_cli("publish", dist).code == 0
    assert CHECK_TAG not in portfolio_tags(double)


def test_a_share_check_tag_naming_an_unknown_operation_is_dropped(double, dist, run_cli):
    assert run_cli("publish", dist).code == 0
    tags = portfolio_tags(double)
    tags[CHECK_TAG] = "share-doesnotexist1"
    run = run_cli("publish", dist)
    assert run.code == 0, run.err
    assert "share operation share-doesnotexist1 recorded by an earlier run is unknown" in run.out
    assert CHECK_TAG not in portfolio_tags(double)
    assert [c.params.get("RemoveTags") for c in double.ops("UpdatePortfolio") if not is_ledger_write(c)][-1] == [
        CHECK_TAG]


def test_clean_publish_and_rerun_never_touch_the_check_tag(double, dist, run_cli):
    assert run_cli("publish", dist).code == 0
    assert CHECK_TAG not in portfolio_tags(double)
    assert "UpdatePortfolio" not in ok_writes(double)
    double.reset_calls()
    assert run_cli("publish", dist).code == 0
    assert double.writes() == [] and double.ops("DescribePortfolioShareStatus") == []


def test_the_check_tag_is_reserved(double, tmp_path, run_cli):
    from tests.publish.conftest import build_dist, default_spec

    spec = default_spec()
    spec["portfolios"]["sagemaker-projects"]["tags"][CHECK_TAG] = "x"
    run = run_cli("plan", build_dist(tmp_path, spec))
    assert run.code == 2 and f"tag {CHECK_TAG} is reserved for the publisher" in run.err


# ------------------------------------------------------------------------------------------ planner


def _planned(dist, ops, options=None, tag_tokens=None):
    from generator.publish.manifest import load_catalog
    from generator.publish.model import Options
    from generator.publish.planner import plan_region
    from tests.publish.test_publish_units import live_state

    catalog = load_catalog(dist)
    state = live_state(catalog)
    portfolio = state.portfolios["sagemaker-projects"]
    portfolio.share_ops = ops
    portfolio.tags[CHECK_TAG] = " ".join(tag_tokens or [op.token for op in ops])
    return plan_region(catalog, options or Options(bucket="smcat-artifacts"), state)


def test_planner_an_operation_still_running_on_an_existing_share_is_a_problem(dist):
    from generator.publish.state import LiveShareOp

    plan = _planned(dist, [LiveShareOp("share-aaaaaaaaaaaaa", OU, "IN_PROGRESS")])
    assert plan.problems == [
        f"us-east-1: portfolio sagemaker-projects: the last share operation with ORGANIZATIONAL_UNIT {OU} "
        f"(share-aaaaaaaaaaaaa) is still IN_PROGRESS; run publish again once it has completed"]
    assert [a for a in plan.actions if a.is_write] == []  # nothing to write: the tag stays as it is
    assert plan.share_checks["sagemaker-projects"] == {"share-aaaaaaaaaaaaa": OU}


def test_planner_completed_operations_are_forgotten_in_the_portfolio_update(dist):
    from generator.publish.state import LiveShareOp

    ops = [LiveShareOp("share-done000000001", OU, "COMPLETED"),
           LiveShareOp("share-bad0000000001", "o-abcdefghij", "COMPLETED_WITH_ERRORS", ERRORS)]
    plan = _planned(dist, ops)
    (update,) = [a for a in plan.actions if a.is_write]
    assert (update.kind, update.target) == ("update", "portfolio/sagemaker-projects")
    assert update.details["AddTags"] == [{"Key": CHECK_TAG, "Value": "share-bad0000000001"}]
    assert update.summary == "stop checking share operation share-done000000001"
    assert len(plan.problems) == 1 and "o-abcdefghij" in plan.problems[0]


def test_planner_retry_shares_turns_the_problem_into_an_update(dist):
    from generator.publish.model import Options
    from generator.publish.state import LiveShareOp

    plan = _planned(dist, [LiveShareOp("share-bad0000000001", OU, "COMPLETED_WITH_ERRORS", ERRORS)],
                    Options(bucket="smcat-artifacts", retry_shares=True))
    assert plan.problems == []
    (action,) = [a for a in plan.actions if a.is_write]
    assert (action.kind, action.target) == ("update", f"portfolio/sagemaker-projects/share/ORGANIZATIONAL_UNIT/{OU}")
    assert action.details["OrganizationNode"] == {"Type": "ORGANIZATIONAL_UNIT", "Value": OU}
