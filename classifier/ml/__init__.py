"""Machine learning: building, training and asking models (TensorFlow only here and below
the jobs that run it).

`models` (presets and settings), `training` (fit with live recording, distribution
strategies, the multi-worker loop), `inference` (probabilities, confusion matrix,
saliency), `images` (preparing uploads and drawings), `features` (what a model sees: maps
and nearest pictures), `label_ranking` (suspicious labels, with cleanlab), `compare` (two
models on the same pictures).
"""
