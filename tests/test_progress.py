from minutes.progress import OverallProgress


def test_progress_is_one_rising_percentage_across_stages():
    seen = []
    progress = OverallProgress(lambda stage, percent, message: seen.append((stage, percent)))
    progress("decode", 0, 1)
    progress("decode", 1, 1)
    progress("transcribe", 30, 60)
    progress("transcribe", 10, 60)  # a stage going back never lowers the overall figure
    progress("diarize", 0.5, 1)
    progress("assign", 1, 1)
    percents = [p for _, p in seen]
    assert percents == sorted(percents)
    assert percents[0] == 0 and percents[-1] == 100
    assert seen[2][0] == "transcribe" and 5 < seen[2][1] < 45
