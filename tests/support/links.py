"""Link parameters as hypothesis strategies: any text a user or another site can put in a
page's URL."""

from __future__ import annotations

from hypothesis import strategies as st

NAMES = ["split", "cls", "image", "run", "filter", "true", "pred", "sort"]
# Any Unicode text, digits of other scripts and long numbers included.
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789²³¹①٣੩", min_size=1, max_size=8),
    st.integers(min_value=-(10**60), max_value=10**60).map(str),
)
