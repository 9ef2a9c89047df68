"""What runs in the learner's kernel: `check`, `progress`, `doctor` (api), `%%save` and
`restore` (save), the progress store, the views, the sample events, the IPython extension."""
