"""The layers (素起こし → ケバ取り → 整文) and the correction rules: the pure functions on text and records; rules
stored and changed under permissions and audited; proposals learnt from clerks' edits; what the worker runs a job
with; what the editor's lines, the exports and ``minutes transcribe``/``show``/``corrections`` give.

Real services on a temp SQLite database; no models are loaded.
"""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel

from minutes import store
from minutes.cli import main
from minutes.errors import InputError, PermissionDenied
from minutes.pipeline import PipelineOptions
from minutes.pipeline.cleanup import (
    CleanupOptions,
    apply_rules,
    clean_utterances,
    edit_replacements,
    kebatori,
    layers,
    mark_words,
    punctuate,
)
from minutes.records import CorrectionRule, Utterance, Word
from minutes.services import Role
from minutes.services.corrections import with_cleanup
from minutes.services.documents import build_document
from minutes.store.tables import DEFAULT_ORG
from tests import test_dictionary
from tests.seeding import store_meeting
from tests.test_dictionary import audit_actions, user

pytestmark = pytest.mark.both_backends  # on SQLite and on PostgreSQL (tests/conftest.py)

runtime = test_dictionary.runtime  # the fixture: services on a temp data folder

# ---------------------------------------------------------------- pure functions


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("えー、本日の会議を開きます。", "本日の会議を開きます。"),
        ("えーと本日は、あのー、予算の、予算の件です。", "本日は、予算の件です。"),  # drawn out; a false start
        ("その件について、まあ、説明します。", "その件について、説明します。"),  # その件 is no filler
        ("まあまあの結果です。", "まあまあの結果です。"),
        ("私は、私は反対です。", "私は反対です。"),
        ("えー。", "えー。"),  # a line that is nothing but a filler is never emptied
        # as Whisper base writes them (benchmarks/fillers.py): no 「ー」, no 「、」 after a drawn-out one
        ("え、日程第1、一般質問を行います。", "日程第1、一般質問を行います。"),
        ("ええと運行の見直しを", "運行の見直しを"),
        ("あのうありがとうございました。", "ありがとうございました。"),
        ("ええ、そうです。", "ええ、そうです。"),  # an answer, not 「え」
    ],
)
def test_kebatori_removes_fillers_standing_alone_and_false_starts(raw, expected):
    assert kebatori(raw) == expected


def test_the_filler_list_is_the_callers():
    assert kebatori("まあ、そうです。", fillers=("えー",)) == "まあ、そうです。"
    assert kebatori("ほら、そうです。", fillers=("ほら",)) == "そうです。"


def test_punctuation_is_made_japanese_and_digits_stay():
    assert punctuate("はい 、 わかりました") == "はい、わかりました。"
    assert punctuate("予算は1.5倍,3,000円です.") == "予算は1.5倍、3,000円です。"
    assert punctuate("、、開会します。。") == "開会します。"


def test_rules_apply_everywhere_or_only_in_their_context():
    bus = CorrectionRule("長栄", "町営", "長栄バス")
    assert apply_rules("長栄バスの長栄さん", [bus]) == ("町営バスの長栄さん", (bus,))
    answer = CorrectionRule("超", "町長", "答弁")  # a context that does not contain 誤: the line must contain it
    assert apply_rules("超が答弁します。", [answer])[0] == "町長が答弁します。"
    assert apply_rules("超特急です。", [answer]) == ("超特急です。", ())
    # one pass, longest first: a rule's result is not corrected again by a shorter rule
    rules = [CorrectionRule("長", "町"), CorrectionRule("長長", "町長")]
    assert apply_rules("長長と長", rules)[0] == "町長と町"


def test_the_layers_of_an_utterance_and_the_stage_keep_the_raw_text_and_words():
    options = CleanupOptions(rules=(CorrectionRule("一観質問", "一般質問"),))
    result = layers("えー、一観質問を行います", options)
    assert (result.raw, result.kebatori, result.seibun) == (
        "えー、一観質問を行います",
        "一観質問を行います",
        "一般質問を行います。",
    )
    words = (Word(0.0, 0.5, "えー、", 0.9), Word(0.5, 1.0, "一観質問を行います", 0.3))
    [cleaned] = clean_utterances([Utterance("S", 0.0, 1.0, "えー、一観質問を行います", words)], options)
    assert cleaned.text == "一般質問を行います。" and cleaned.raw == "えー、一観質問を行います"
    assert cleaned.words == words and cleaned.corrections == options.rules
    assert clean_utterances([cleaned], CleanupOptions(enabled=False))[0].text == cleaned.raw
    assert layers("uh, hello", options, language="en").seibun == "uh, hello"  # fillers are Japanese only


def test_the_options_travel_with_the_job():
    options = PipelineOptions(cleanup=CleanupOptions(fillers=("えー",), rules=(CorrectionRule("超", "町長", "", 3),)))
    assert PipelineOptions.from_dict(json.loads(json.dumps(options.to_dict()))) == options


def test_edit_replacements_are_whole_words_not_rewrites_or_deleted_fillers():
    assert edit_replacements("長栄バスの便数について", "町営バスの便数について") == [("長栄", "町営")]
    assert edit_replacements("一観質問を行います", "一般質問を行います") == [("一観質問", "一般質問")]
    assert edit_replacements("超が答弁します", "町長が答弁します") == [("超", "町長")]
    assert edit_replacements("えー、本日は", "本日は") == []  # a deletion is no rule
    assert edit_replacements("本日は晴れ", "本日は晴れ。") == []  # punctuation
    assert edit_replacements("まったく別の文です", "すべて書き換えた") == []  # a rewrite


def test_low_confidence_words_are_found_in_the_cleaned_text():
    words = [("えー", True), ("本日", False), ("の", False), ("会議", True), ("を開きます", False)]
    assert mark_words("本日の会議を開きます。", words) == [("本日の", False), ("会議", True), ("を開きます。", False)]


# ---------------------------------------------------------------- rules and proposals in the services


def test_a_clerk_adds_and_deletes_rules_audited_and_an_editor_may_not(runtime):
    corrections = user(runtime, Role.CLERK).corrections
    rule = corrections.add(" 長栄 ", "町営", context="長栄バス")
    assert (rule.wrong, rule.right, rule.context) == ("長栄", "町営", "長栄バス")
    with pytest.raises(InputError, match="すでに登録"):
        corrections.add("長栄", "町営", context="長栄バス")
    with pytest.raises(InputError, match="同じ"):
        corrections.add("町長", "町長")
    with pytest.raises(InputError, match="両方"):
        corrections.add("", "町長")
    editor = user(runtime, Role.EDITOR).corrections
    assert [r.wrong for r in editor.rules()] == ["長栄"]  # everyone reads them
    with pytest.raises(PermissionDenied):
        editor.add("超", "町長")
    with pytest.raises(PermissionDenied):
        editor.delete(rule.id)
    corrections.delete(rule.id)
    assert corrections.rules() == []
    assert audit_actions(runtime).count("rule_add") == 1 and "rule_delete" in audit_actions(runtime)


def test_the_worker_runs_a_job_with_the_rules_and_fillers_in_force(runtime):
    user(runtime, Role.CLERK).corrections.add("超", "町長")
    settings = runtime.settings.__class__(fillers="えー、ほら")
    with Session(runtime.engine) as session:
        options = with_cleanup(session, settings, PipelineOptions(), DEFAULT_ORG)
        off = with_cleanup(session, settings, PipelineOptions(cleanup=CleanupOptions(enabled=False)), DEFAULT_ORG)
    assert options.cleanup.fillers == ("えー", "ほら")
    assert [(r.wrong, r.right) for r in options.cleanup.rules] == [("超", "町長")]
    assert off.cleanup.rules == ()


def _draft(runtime, texts: list[str], title: str = "定例会") -> int:
    records = []
    for index, raw in enumerate(texts):
        cleaned = clean_utterances([Utterance("SPEAKER_00", index * 2.0, index * 2.0 + 1.5, raw)], CleanupOptions())
        records.extend(cleaned)
    return store_meeting(runtime.engine, title=title, utterances=records, duration=10.0)


def test_the_same_replacement_in_two_places_is_proposed_and_accepted_in_one_call(runtime):
    first = _draft(runtime, ["長栄バスの便数について。", "えー、長栄バスは赤字です。"])
    second = _draft(runtime, ["長栄バスを増やします。"], title="委員会")
    clerk = user(runtime, Role.CLERK)
    line = clerk.transcript.page(first).lines[0]
    clerk.transcript.edit_text(line.id, text="町営バスの便数について。", expected_version=line.version)
    assert clerk.corrections.proposals() == []  # once is not yet a habit
    line = clerk.transcript.page(first).lines[0]  # the same line again does not count twice
    clerk.transcript.edit_text(line.id, text="町営バスの便数について！", expected_version=line.version)
    clerk.transcript.edit_text(line.id, text="町営バスの便数について。", expected_version=line.version + 1)
    assert clerk.corrections.proposals() == []
    other = clerk.transcript.page(second).lines[0]
    clerk.transcript.edit_text(other.id, text="町営バスを増やします。", expected_version=other.version)
    [proposal] = clerk.corrections.proposals()
    assert (proposal.wrong, proposal.right, proposal.places, proposal.meetings) == ("長栄", "町営", 2, 2)
    assert clerk.corrections.rules() == []  # nothing applied before it is accepted
    with pytest.raises(PermissionDenied):
        user(runtime, Role.EDITOR).corrections.accept(proposal.id)
    rule = clerk.corrections.accept(proposal.id, add_term=True)
    assert (rule.wrong, rule.right) == ("長栄", "町営")
    assert clerk.corrections.proposals() == [] and [t.text for t in clerk.dictionary.terms()] == ["町営"]
    assert "proposal_accept" in audit_actions(runtime)
    with pytest.raises(InputError, match="すでに処理"):
        clerk.corrections.accept(proposal.id)


def test_a_dismissed_proposal_is_not_proposed_again_and_find_and_replace_counts(runtime):
    meeting = _draft(runtime, ["一観質問を行います。", "次の一観質問です。"])
    clerk = user(runtime, Role.CLERK)
    preview = clerk.transcript.preview_replace(meeting, "一観質問", "一般質問")
    clerk.transcript.apply_replace(meeting, preview)
    [proposal] = clerk.corrections.proposals()
    assert (proposal.wrong, proposal.right, proposal.places) == ("一観質問", "一般質問", 2)
    clerk.corrections.dismiss(proposal.id)
    assert clerk.corrections.proposals() == [] and "proposal_dismiss" in audit_actions(runtime)
    line = clerk.transcript.page(meeting).lines[0]
    clerk.transcript.edit_text(line.id, text="一観質問を行います。", expected_version=line.version)
    line = clerk.transcript.page(meeting).lines[0]
    clerk.transcript.edit_text(line.id, text="一般質問を行います。", expected_version=line.version)
    assert clerk.corrections.proposals() == []


# ---------------------------------------------------------------- the stored layers, the editor and the exports


def test_lines_carry_the_layers_and_old_meetings_read_raw_as_the_text(runtime):
    meeting = _draft(runtime, ["えー、本日の会議を開きます", "まあ、次に、次に進みます"])
    clerk = user(runtime, Role.CLERK)
    first, second = clerk.transcript.page(meeting).lines
    assert (first.text, first.kebatori, first.raw) == (
        "本日の会議を開きます。",
        "本日の会議を開きます",
        "えー、本日の会議を開きます",
    )
    with Session(runtime.engine) as session:  # a meeting stored before migration 0009: no raw
        row = store.get_utterance(session, utterance_id=second.id)
        row.raw = row.kebatori = None
        session.add(row)
        session.commit()
    old = clerk.transcript.line(second.id)
    assert old.raw == old.kebatori == old.text == "次に進みます。"
    merged = clerk.transcript.merge_with_next(first.id, expected_version=first.version)
    assert merged.text == "本日の会議を開きます。次に進みます。"
    assert merged.raw == "えー、本日の会議を開きます次に進みます。"
    # the 整文 is printed, the open data carries both
    with Session(runtime.engine) as session:
        document = build_document(session, meeting_id=meeting)
    assert [s.text for s in document.speeches] == ["本日の会議を開きます。次に進みます。"]
    data = json.loads(clerk.exports.export(meeting, "json").data)["meetingRecord"]
    [speech] = data["speechRecord"]
    assert speech["text"] == "本日の会議を開きます。次に進みます。"
    assert speech["raw"] == "えー、本日の会議を開きます次に進みます。"


def test_migration_0009_makes_the_tables_and_columns_as_the_models_have_them(runtime):
    runtime.operator("system").corrections.rules()  # migrated
    with runtime.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    related = ("correction", "'raw'", "'kebatori'", "'corrections'")
    assert [d for d in differences if any(name in repr(d) for name in related)] == []


# ---------------------------------------------------------------- the command line


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_corrections_commands_and_the_layers_of_show(runtime, capsys):
    code, out, _ = _cli(capsys, "corrections", "add", "長栄", "町営", "--context", "長栄バス")
    assert code == 0 and "長栄 → 町営（文脈: 長栄バス）" in out
    assert _cli(capsys, "corrections", "add", "超", "町長")[0] == 0
    code, _, err = _cli(capsys, "corrections", "add", "超", "町長")
    assert code == 2 and "すでに登録" in err
    code, out, _ = _cli(capsys, "corrections", "list", "--json")
    assert json.loads(out) == [
        {"id": 2, "誤": "超", "正": "町長", "文脈": ""},
        {"id": 1, "誤": "長栄", "正": "町営", "文脈": "長栄バス"},
    ]
    assert _cli(capsys, "corrections", "delete", "超")[0] == 0
    code, _, err = _cli(capsys, "corrections", "delete", "超")
    assert code == 2 and "ありません" in err

    meeting = _draft(runtime, ["えー、長栄バスについて"])
    code, out, _ = _cli(capsys, "show", str(meeting), "--json")
    [utterance] = json.loads(out)["utterances"]
    assert (utterance["text"], utterance["raw"]) == ("長栄バスについて。", "えー、長栄バスについて")
    for layer, expected in (
        ("raw", "えー、長栄バスについて"),
        ("kebatori", ": 長栄バスについて"),
        ("seibun", "について。"),
    ):
        code, out, _ = _cli(capsys, "show", str(meeting), "--layer", layer)
        assert code == 0 and out.strip().endswith(expected), out
