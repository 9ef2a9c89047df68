"""Tools for course authors and instructors, never shipped to learners: generating the learner
copies (authoring), building the learner release (release), grading a class (grading,
gradebook, _confine)."""
