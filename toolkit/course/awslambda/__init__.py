"""Lambda emulation, named as AWS names the parts.

- `invoke`: the kernel side: `invoke()` starts and reuses function processes, enforces the
  timeout and memory, and returns an `Invocation` with the response, logs and REPORT line.
- `runtime`: the inside of a function process (`python -m course.awslambda.runtime`).
- `context`: the `context` object a handler receives.

The function process imports only the standard library, `course.sandbox` and this package's
`runtime` and `context`: nothing of the learner's kernel, nothing of the reference app.
"""
