"""The small core every stage builds on: the workspace and its locks (:mod:`.workspace`), the warehouse
schema and connections (:mod:`.warehouse`), findings (:mod:`.findings`), and guarded handling of text and
files from outside (:mod:`.safe_text`, :mod:`.safe_files`). The metadata models live in ``pipeline.metadata``.
"""
