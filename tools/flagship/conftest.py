# texts/ holds the wordstat project's own files as data, its tests among them:
# they are not tests of this repository.
collect_ignore = ["texts"]
