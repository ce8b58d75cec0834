"""Fashion-MNIST Studio's logic: data, models, training jobs, run store, predictions, figures.

Plain Python: nothing here imports Streamlit, and TensorFlow is imported only where a
model is built, trained or loaded.
"""

import os

# TensorFlow's C++ start-up chatter (no CUDA here, oneDNN notes) hides real messages.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
