# Installed with the course toolkit into <env>/etc/ipython/: every IPython kernel of this
# environment loads the `course` extension at start, so check, progress, invoke, events,
# restore and %%save exist even after a kernel restart (the lesson's import cell stays as
# documentation). A learner's own profile settings still apply on top.
c = get_config()  # noqa: F821 - provided by IPython when it reads this file
c.InteractiveShellApp.extensions.append("course")
