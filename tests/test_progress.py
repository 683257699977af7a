from minutes.progress import OverallProgress, ProgressCallback, no_progress


def test_progress_is_one_rising_percentage_across_stages():
    seen = []

    def sink(stage: str, done: float, total: float, message: str = "") -> None:
        assert total == 100.0
        seen.append((stage, done, message))

    progress: ProgressCallback = OverallProgress(sink)
    progress("decode", 0, 1)
    progress("decode", 1, 1, "読み込みました")
    progress("transcribe", 30, 60)
    progress("transcribe", 10, 60)  # a stage going back never lowers the overall figure
    progress("diarize", 0.5, 1)
    progress("assign", 1, 1)
    progress("identify", 1, 1)  # the last stage: matching voices to the profiles and setting the chair's calls apart
    percents = [p for _, p, _ in seen]
    assert percents == sorted(percents)
    assert percents[0] == 0 and percents[-1] == 100
    assert seen[1][2] == "読み込みました"
    assert seen[2][0] == "transcribe" and 5 < seen[2][1] < 45


def test_overall_progress_can_feed_another_and_no_progress_does_nothing():
    seen = []
    inner = OverallProgress(lambda stage, done, total, message="": seen.append(done), weights={"decode": 1.0})
    outer = OverallProgress(inner, weights={"decode": 1.0})  # a sink may itself be a ProgressCallback
    outer("decode", 1, 2)
    assert seen == [50.0]
    assert no_progress("decode", 1, 2, "") is None
