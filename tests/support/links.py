"""Links in tests: link parameters as hypothesis strategies (any text a user or another
site can put in a page's URL), and a finished run's settings for the "Train again with
these settings" link."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import strategies as st

from classifier.ml.models import preset_config

NAMES = ["split", "cls", "image", "run", "filter", "true", "pred", "sort"]
# Any Unicode text, digits of other scripts and long numbers included.
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789²³¹①٣੩", min_size=1, max_size=8),
    st.integers(min_value=-(10**60), max_value=10**60).map(str),
)


# A Small CNN with every setting moved off the preset's default, so that a setting the link
# forgot shows.
CONFIG = replace(
    preset_config("Small CNN"),
    epochs=7,
    batch_size=64,
    learning_rate=0.0005,
    optimizer="sgd",
    dropout=0.2,
    train_limit=5000,
    augment=True,
    seed=1234,
    label_smoothing=0.15,  # not the preset's 0.1
    precision="float32",  # not the preset's bfloat16
)
