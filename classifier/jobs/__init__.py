"""Work that runs in its own process, never in the server: `process` (starting, watching
and reaping workers, exit codes, one training at a time), `training_job` (a training run),
`label_check` (the K-fold cross-validation of the training labels), `embedding` (the t-SNE
map).
"""
