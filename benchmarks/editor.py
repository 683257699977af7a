"""Server time of editor interactions on a meeting of 2,000 utterances (target: under 1 s each).

    .venv/bin/python benchmarks/editor.py [--utterances 2000]

Times the runtime calls behind each interaction and whole page runs of the editor with Streamlit's AppTest (the
server side of a rerun: the script, the queries, building the page; not the browser's drawing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(label: str, function, repeat: int = 5) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    median = statistics.median(runs)
    flag = "ok" if median < 1.0 else "SLOW"
    print(f"{label:<44} median {median * 1000:8.1f} ms   max {max(runs) * 1000:8.1f} ms   {flag}")
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=2000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="minutes-bench-"))
    os.environ["MINUTES_DATA_DIR"] = str(folder / "data")
    os.environ.pop("MINUTES_DATABASE_URL", None)

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from minutes.services import Runtime
    from minutes.services.accounts import SignInService
    from tests.seeding import seed_meeting

    runtime = Runtime()
    started = time.perf_counter()
    meeting_id = seed_meeting(runtime.engine, utterances=args.utterances)
    print(f"stored {args.utterances} utterances in {time.perf_counter() - started:.1f} s")
    editing = runtime.operator("b")
    page = editing.transcript.page(meeting_id, 20, 50)
    line = page.lines[0]
    state = {"version": line.version, "n": 0}

    def edit() -> None:
        state["n"] += 1
        edited = editing.transcript.edit_text(
            line.id, text=f"{line.text}{state['n']}", expected_version=state["version"]
        )
        state["version"] = edited.version

    def split_and_merge() -> None:
        current = editing.transcript.line(line.id)
        first, _ = editing.transcript.split(line.id, at=3, expected_version=current.version)
        editing.transcript.merge_with_next(line.id, expected_version=first.version)

    results = [
        timed("runtime: page of 50 (page 21)", lambda: editing.transcript.page(meeting_id, 20, 50)),
        timed("runtime: last page", lambda: editing.transcript.page(meeting_id, 39, 50)),
        timed("runtime: jump to time", lambda: editing.transcript.page_at(meeting_id, 3000.0, 50)),
        timed("runtime: speakers with talk time", lambda: editing.speakers.speakers(meeting_id)),
        timed("runtime: edit text", edit),
        timed("runtime: split + merge", split_and_merge),
        timed("runtime: history of an utterance", lambda: editing.transcript.history(line.id)),
        timed(
            "runtime: find & replace preview",
            lambda: editing.transcript.preview_replace(meeting_id, "補正予算", "補正予算案"),
        ),
        timed("runtime: timeline rows", lambda: editing.speakers.timeline(meeting_id)),
    ]
    preview = editing.transcript.preview_replace(meeting_id, "補正予算", "補正予算案")
    results.append(
        timed(
            f"runtime: replace all ({preview.count} places)",
            lambda: editing.transcript.apply_replace(meeting_id, preview),
            repeat=1,
        )
    )

    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.session_state["editor_name"] = "bench"
    auth = SignInService(runtime.engine)
    at.session_state["auth_token"] = auth.start_session(
        runtime.operator("bench").accounts.create_user(
            "bench", "管理者", "correct horse battery", must_change_password=False
        )
    )
    at.query_params["meeting"] = str(meeting_id)
    at.run()
    at.switch_page("ui/pages/editor.py")
    results.append(timed("page: editor, first draw", lambda: at.run(), repeat=3))
    first_line = editing.transcript.page(meeting_id, 0, 50).lines[0]
    at.run()

    def open_close() -> None:  # 編集 and 閉じる: each reruns that utterance's fragment alone
        at.button(key=f"edit-{first_line.id}").click().run()

    results.append(timed("page: 編集 / 閉じる one utterance (rerun)", open_close, repeat=4))

    def page_edit() -> None:
        current = editing.transcript.line(first_line.id)
        at.text_area(key=f"text-{current.id}-{current.version}").input(current.text + "。").run()

    at.button(key=f"edit-{first_line.id}").click().run()
    results.append(timed("page: edit text (rerun)", page_edit, repeat=3))
    at.run()
    pages = {"n": 1}

    def next_page() -> None:
        pages["n"] += 1
        at.number_input(key=f"page-{meeting_id}").set_value(pages["n"]).run()

    results.append(timed("page: go to the next page", next_page, repeat=3))
    at.switch_page("ui/pages/speakers.py")
    results.append(timed("page: speakers with charts", lambda: at.run(), repeat=3))
    at.switch_page("ui/pages/meetings.py")
    results.append(timed("page: meetings list", lambda: at.run(), repeat=3))
    slow = [r for r in results if r >= 1.0]
    print(f"{len(results) - len(slow)}/{len(results)} interactions under 1 s")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
