"""Present: one big test picture at a time for a room: a slideshow, or a quiz."""

import secrets
from functools import partial

import streamlit as st

from classifier.data import CLASS_NAMES
from classifier.figures import style
from classifier.figures import verify as figures
from classifier.ml.inference import accuracy
from classifier.store.runs import RunStore
from classifier.views import explore as explore_view
from classifier.views import present as view
from classifier.views.present import Keys
from ui import access, cache, explore, keys, room, routing, watch, widgets

st.set_page_config(initial_sidebar_state="collapsed")  # the room sees the picture, not menus
routing.start_page()
store = RunStore()
state = st.session_state


def settings_section(runs) -> tuple:
    """What to show, tucked away in an expander: model, mode, and for the slideshow the
    pictures and the autoplay speed (a setting shows only where it applies)."""
    for key in (Keys.SHOW, Keys.CLASS, Keys.SPEED):  # kept while their widgets are hidden
        if key in state:
            state[key] = state[key]
    show, class_number, seconds = "all", 0, 3
    with st.expander("Settings"):
        run = widgets.run_picker("Model", runs, key=Keys.RUN)
        modes = {"slides": "Slideshow", "quiz": "Beat the machine (a quiz)"}
        if access.is_presenter():
            modes["room"] = "Let the room play"  # phones vote: ui/room.py
        mode = st.radio("Mode", list(modes), format_func=modes.get, horizontal=True, key=Keys.MODE)
        if mode == "slides":
            shows = view.SHOWS
            show = st.selectbox("Pictures", list(shows), format_func=shows.get, key=Keys.SHOW)
            if show == "class":
                class_number = CLASS_NAMES.index(st.selectbox("Kind", CLASS_NAMES, key=Keys.CLASS))
            seconds = st.select_slider(
                "Autoplay: seconds a picture", view.AUTOPLAY_SECONDS, 3, key=Keys.SPEED
            )
    return run, mode, show, class_number, seconds


def picture_with_bars(
    index: int, probabilities, true_label: int | None, key: str, height: int = view.BARS_HEIGHT_PX
) -> None:
    """The picture as large as the screen allows, and its ten bars in projector sizes;
    `height`: the bars' (the picture takes about as much)."""
    picture_column, bars_column = st.columns([2, 3], gap="large")
    picture_column.image(cache.test_picture_uri(index, view.PICTURE_SCALE), width=height)
    bars = figures.value_bars_figure(probabilities, true_label, view.BAR_FONT_PX, height)
    with bars_column:
        widgets.chart(bars, key)


def slideshow_section(order, seconds: int, suspects: bool = False) -> None:
    """Next and previous by buttons, arrow keys and a clicker's Page Up/Down; autoplay.
    `suspects`: pictures whose label may be wrong, said so (not red) with review buttons."""
    if not len(order):
        st.info("No test picture matches. Choose other pictures in the settings.")
        return
    position = state.setdefault(Keys.POSITION, 0) % len(order)
    if steps := keys.key_steps("present_keys"):  # arrows, Page Up/Down, Space: a clicker
        go(position, len(order), steps)
        position = state[Keys.POSITION]
    index = int(order[position])
    caption, right = view.slide_caption(probs[index], int(test.labels[index]))
    back, where, forward, play = st.columns([2, 3, 2, 2], vertical_alignment="center")
    for column, text, step in ((back, "Previous", -1), (forward, "Next", 1)):
        steps = (position, len(order), step)
        column.button(text, key=f"present_{text.lower()}", on_click=go, args=steps, width="stretch")
    where.markdown(f"**Picture {position + 1:,} of {len(order):,}** (test picture {index:,})")
    if suspects:  # the label is in doubt: neither right nor wrong, so neither blue nor red
        given = int(test.labels[index])
        sentence = explore_view.suspect_sentence(given, probs[index])
        st.header(f':color[{sentence}]{{foreground="{style.UNKNOWN_COLOR}"}}', anchor=False)
        # The verdict under the sentence it answers, above the picture: on the first screen.
        suggested = explore_view.suggested_label(given, probs[index])
        if explore.review_buttons(store, "test", index, given, suggested, "present"):
            go(position, len(order), 1)  # reviewed: the next suspect
            st.rerun()
        picture_with_bars(index, probs[index], None, "present_bars")
    else:
        st.header(f":{'blue' if right else 'red'}[{caption}]", anchor=False)
        picture_with_bars(index, probs[index], int(test.labels[index]), "present_bars")
    if play.toggle("Autoplay", key=Keys.AUTOPLAY):
        # The next picture `seconds` after this one showed (a key or a click restarts it).
        widgets.tick_after(
            f"present_autoplay_{position}", seconds, partial(go, position, len(order), 1)
        )


def go(position: int, count: int, delta: int) -> None:
    state[Keys.POSITION] = view.step(position, count, delta)


def quiz_section(model_accuracy: float) -> None:
    """Ten pictures; the room picks a class for each; then the model's answer and the truth."""
    quiz = state.get(Keys.QUIZ)
    if quiz is None or (quiz.over and not state.get(Keys.REVEAL)):
        quiz_start(quiz, model_accuracy)
        return
    shown = quiz.position - 1 if state.get(Keys.REVEAL) else quiz.position
    index = quiz.pictures[shown]
    people, model, asked = quiz.score(probs, test.labels)
    if state.get(Keys.REVEAL) and keys.key_steps("present_keys") > 0:  # the clicker: next
        next_picture()
        st.rerun()
    score_column, next_column = st.columns([4, 1], vertical_alignment="center")
    score_column.subheader(
        f"Picture {shown + 1} of {len(quiz.pictures)}. People {people}, model {model}.",
        anchor=False,
    )
    if state.get(Keys.REVEAL):
        # Next at the top, beside the score: always on the first screen, by click or key.
        next_column.button(
            "Next picture", key="present_quiz_next", type="primary", on_click=next_picture
        )
        said, truth = quiz.answers[shown], int(test.labels[index])
        caption, model_right = view.slide_caption(probs[index], truth)
        people_said = f":{'blue' if said == truth else 'red'}[You said {CLASS_NAMES[said]}.]"
        model_said = f":{'blue' if model_right else 'red'}[{caption}]"
        st.subheader(f"{people_said} {model_said}", anchor=False)
        picture_with_bars(index, probs[index], truth, "present_quiz_bars", view.QUIZ_BARS_PX)
        return
    st.header("What is it? Pick one, then see what the model says.", anchor=False)
    picture_column, buttons_column = st.columns([3, 5], gap="large")  # fits a 720-px screen
    picture_column.image(cache.test_picture_uri(index, view.PICTURE_SCALE), width="stretch")
    for row in range(5):
        for column, number in zip(buttons_column.columns(2), (2 * row, 2 * row + 1), strict=True):
            column.button(
                CLASS_NAMES[number],
                key=f"present_pick_{number}",
                width="stretch",
                on_click=pick,
                args=(number,),
            )


def next_picture() -> None:
    state[Keys.REVEAL] = False


def pick(number: int) -> None:
    state[Keys.QUIZ].answer(number)
    state[Keys.REVEAL] = True


def quiz_start(quiz, model_accuracy: float) -> None:
    """The quiz's title page, or the verdict of the round that just ended."""
    if quiz is not None:  # a round just ended: the verdict
        st.header(view.round_verdict(*quiz.score(probs, test.labels), model_accuracy), anchor=False)
    else:
        st.title("Beat the machine", anchor=False)
        st.markdown(view.QUIZ_INTRO)
    easy, hard = st.columns(2)
    for column, is_hard, text in ((easy, False, "New round of 10"), (hard, True, "Hard round")):
        column.button(
            text,
            key=f"present_round_{is_hard}",
            type="primary",
            width="stretch",
            on_click=start_round,
            args=(is_hard,),
        )


def start_round(hard: bool) -> None:
    state[Keys.ROUNDS] = state.get(Keys.ROUNDS, 0) + 1
    # Each session its own pictures: a room that saw one demo is not shown the same ten.
    seed = state.setdefault(Keys.SEED, secrets.randbelow(2**31)) + state[Keys.ROUNDS]
    state[Keys.QUIZ] = view.new_round(probs, test.labels, hard, seed=seed)
    state[Keys.REVEAL] = False


runs = store.usable_runs()
if not runs:
    st.title("Present")
    watch.quick_training(store, "There is no trained model yet to present.")
    st.stop()
run, mode, show, class_number, seconds = settings_section(runs)
probs = cache.test_probabilities(store, run)
test = cache.get_dataset().test
if mode == "room" and access.is_presenter():
    room.room_panel(store, run, probs, test.labels)
elif mode == "quiz":
    quiz_section(accuracy(probs, test.labels))
else:
    order = view.slide_order(probs, test.labels, show, class_number)
    slideshow_section(order, seconds, suspects=show == "suspicious")
